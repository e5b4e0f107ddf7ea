//! The long replicate study of Kennedy–O'Hagan calibration: the coverage of the 50 % and
//! 90 % posterior intervals of the calibration inputs of a cheap simulator (the one of
//! `models/tests/emulator_calibrate.rs`), over seeded replicates with the truth drawn
//! from the middle of the box and fresh observation noise each time. Calibrated
//! intervals cover at their nominal rate (up to the binomial error of the replicates).
//!
//! `cargo run --release -p mechml-models --example emulator_calibration_coverage [-- N]`
//! (default N = 100 replicates).

use mechml_engine::infer::{Init, NutsOptions};
use mechml_models::emulator::calibrate::{Discrepancy, KohOptions, calibrate};
use mechml_models::emulator::design::{MaximinOptions, maximin_lhs};
use mechml_models::emulator::gp::{Components, EmulatorOptions, MeanFunction, PcaEmulator};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

const T: usize = 12;

fn field(p: &[f64]) -> Vec<f64> {
    (0..T)
        .map(|a| {
            let t = a as f64 / (T - 1) as f64;
            p[0] + p[1] * t + 0.5 * p[0] * p[1] * t * t
        })
        .collect()
}

fn main() -> mechml_engine::Result<()> {
    let n_rep: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let d = maximin_lhs(
        30,
        2,
        &MaximinOptions {
            iterations: 2000,
            seed: 7,
            ..Default::default()
        },
    )?;
    let ys: Vec<Vec<f64>> = (0..30).map(|i| field(d.point(i))).collect();
    let opts = EmulatorOptions::default().with_mean(MeanFunction::Linear);
    let pca = PcaEmulator::fit(&d.to_inputs()?, &ys, Components::Variance(0.999_999), &opts)?;
    let sd_obs = 0.05;
    let (mut c50, mut c90, mut n, mut div) = (0usize, 0usize, 0usize, 0usize);
    let mut max_rhat: f64 = 0.0;
    for rep in 0..n_rep {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(10_000 + rep);
        let u = Uniform::new(0.2, 0.8).expect("a valid range");
        let truth = [u.sample(&mut rng), u.sample(&mut rng)];
        let obs: Vec<f64> = field(&truth)
            .iter()
            .map(|v| {
                let e: f64 = StandardNormal.sample(&mut rng);
                v + sd_obs * e
            })
            .collect();
        let kopts = KohOptions {
            observations: obs,
            obs_var: vec![sd_obs * sd_obs; T],
            locations: (0..T).map(|a| a as f64 / (T - 1) as f64).collect(),
            discrepancy: Discrepancy::None,
            names: vec!["a".into(), "b".into()],
        };
        let nuts = NutsOptions {
            n_chains: 4,
            n_warmup: 500,
            n_draws: 1000,
            seed: rep,
            init: Init::Random { radius: 1.0 },
            ..NutsOptions::default()
        };
        let post = calibrate(&pca, kopts, &nuts)?.posterior;
        div += post.diagnostics.divergences;
        for (j, name) in ["a", "b"].iter().enumerate() {
            let chains = post.draws_of(name)?;
            let mut v: Vec<f64> = chains.into_iter().flatten().collect();
            v.sort_by(f64::total_cmp);
            let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            n += 1;
            c50 += usize::from(q(0.25) <= truth[j] && truth[j] <= q(0.75));
            c90 += usize::from(q(0.05) <= truth[j] && truth[j] <= q(0.95));
            if let Some(r) = post.summary.row(name).and_then(|r| r.rhat) {
                max_rhat = max_rhat.max(r);
            }
        }
    }
    let se = |p: f64| (p * (1.0 - p) / n as f64).sqrt();
    println!("{n_rep} replicates, {n} intervals");
    println!(
        "50 % intervals cover {:.3} (nominal 0.50 ± {:.3})",
        c50 as f64 / n as f64,
        2.0 * se(0.5)
    );
    println!(
        "90 % intervals cover {:.3} (nominal 0.90 ± {:.3})",
        c90 as f64 / n as f64,
        2.0 * se(0.9)
    );
    println!("divergences {div}, largest R-hat {max_rhat:.4}");
    Ok(())
}
