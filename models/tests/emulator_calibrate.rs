//! Bayesian calibration (Kennedy & O'Hagan 2001): the log density's gradient against
//! central finite differences, and recovery of known parameters of a cheap simulator from
//! synthetic observations, with the coverage of the 90 % intervals over seeded replicates
//! (a longer replicate study: `cargo run --release -p mechml-models --example
//! emulator_calibration_coverage`).

use mechml_engine::infer::{Init, LogDensity, NutsOptions, Prior};
use mechml_models::emulator::calibrate::{Discrepancy, KohDensity, KohOptions, calibrate};
use mechml_models::emulator::design::{MaximinOptions, maximin_lhs};
use mechml_models::emulator::gp::{
    Components, EmulatorOptions, KernelFamily, MeanFunction, MultiOutputEmulator, Nugget,
    PcaEmulator,
};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

const T: usize = 12;

/// The cheap simulator: a field over `T` locations in [0, 1] from two inputs in [0, 1].
fn field(p: &[f64]) -> Vec<f64> {
    (0..T)
        .map(|a| {
            let t = a as f64 / (T - 1) as f64;
            p[0] + p[1] * t + 0.5 * p[0] * p[1] * t * t
        })
        .collect()
}

fn locations() -> Vec<f64> {
    (0..T).map(|a| a as f64 / (T - 1) as f64).collect()
}

fn design_runs(n: usize, seed: u64) -> (mechml_engine::gp::Inputs, Vec<Vec<f64>>) {
    let d = maximin_lhs(
        n,
        2,
        &MaximinOptions {
            iterations: 2000,
            seed,
            ..Default::default()
        },
    )
    .unwrap();
    let ys = (0..n).map(|i| field(d.point(i))).collect();
    (d.to_inputs().unwrap(), ys)
}

fn pca_emulator() -> PcaEmulator {
    let (x, ys) = design_runs(30, 7);
    let opts = EmulatorOptions::default().with_mean(MeanFunction::Linear);
    PcaEmulator::fit(&x, &ys, Components::Variance(0.999_999), &opts).unwrap()
}

/// A well-conditioned emulator for difference checks: a fitted emulator of a smooth
/// field nearly interpolates with long lengthscales, and its mean is then too rough at
/// the 10⁻⁵ scale of the differences (its exact gradient is right: ∂y₀/∂a = 1).
fn smooth_pca_emulator() -> PcaEmulator {
    let (x, ys) = design_runs(30, 7);
    let opts = EmulatorOptions::default()
        .with_kernel(KernelFamily::Matern52)
        .with_nugget(Nugget::Fixed(1e-4));
    PcaEmulator::fit(&x, &ys, Components::Count(3), &opts).unwrap()
}

fn fd_check<D: LogDensity>(dens: &mut D, z: &[f64]) {
    let (_, g) = dens.value_and_grad(z).unwrap();
    for k in 0..z.len() {
        let h = 1e-5;
        let (mut zp, mut zm) = (z.to_vec(), z.to_vec());
        zp[k] += h;
        zm[k] -= h;
        let fd =
            (dens.value_and_grad(&zp).unwrap().0 - dens.value_and_grad(&zm).unwrap().0) / (2.0 * h);
        assert!(
            (g[k] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
            "component {k}: exact {} vs differences {fd}",
            g[k]
        );
    }
}

#[test]
fn log_density_gradient_matches_finite_differences() {
    let pca = smooth_pca_emulator();
    let obs = field(&[0.4, 0.6]);
    let base = KohOptions {
        observations: obs.iter().map(|v| v + 0.03).collect(),
        obs_var: vec![0.01; T],
        locations: locations(),
        discrepancy: Discrepancy::None,
        names: vec!["a".into(), "b".into()],
    };
    let gp_disc = KohOptions {
        discrepancy: Discrepancy::Gp {
            sigma: Prior::HalfNormal { sigma: 0.2 },
            lengthscale: Prior::LogNormal {
                mu: -1.0,
                sigma: 0.5,
            },
        },
        ..base.clone()
    };
    // PCA emulator (Φ diag(v) Φᵀ), with and without the discrepancy.
    let mut d0 = KohDensity::new(&pca, base.clone()).unwrap();
    fd_check(&mut d0, &[0.3, -0.4]);
    let mut d1 = KohDensity::new(&pca, gp_disc.clone()).unwrap();
    fd_check(&mut d1, &[0.3, -0.4, -1.5, -0.8]);
    // Independent outputs (Φ = I) with a fitted nugget.
    let (x, ys) = design_runs(20, 3);
    let opts = EmulatorOptions::default()
        .with_kernel(KernelFamily::Matern52)
        .with_nugget(Nugget::Fixed(1e-4));
    let multi = MultiOutputEmulator::fit(&x, &ys, &opts).unwrap();
    let mut d2 = KohDensity::new(&multi, gp_disc).unwrap();
    fd_check(&mut d2, &[-0.2, 0.5, -1.0, -1.2]);
}

#[test]
fn calibration_recovers_known_parameters_with_nominal_coverage() {
    let pca = pca_emulator();
    let sd_obs = 0.05;
    let replicates = 5;
    let (mut covered, mut checks) = (0, 0);
    for rep in 0..replicates {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(100 + rep);
        let u = Uniform::new(0.2, 0.8).unwrap();
        let truth = [u.sample(&mut rng), u.sample(&mut rng)];
        let obs: Vec<f64> = field(&truth)
            .iter()
            .map(|v| {
                let e: f64 = StandardNormal.sample(&mut rng);
                v + sd_obs * e
            })
            .collect();
        let opts = KohOptions {
            observations: obs,
            obs_var: vec![sd_obs * sd_obs; T],
            locations: locations(),
            discrepancy: Discrepancy::None,
            names: vec!["a".into(), "b".into()],
        };
        let nuts = NutsOptions {
            n_chains: 2,
            n_warmup: 300,
            n_draws: 400,
            seed: rep,
            init: Init::Random { radius: 1.0 },
            parallel: false,
            ..NutsOptions::default()
        };
        let post = calibrate(&pca, opts, &nuts).unwrap().posterior;
        assert_eq!(post.diagnostics.divergences, 0, "replicate {rep}");
        for (j, name) in ["a", "b"].iter().enumerate() {
            let row = post.summary.row(name).unwrap();
            let rhat = row.rhat.unwrap();
            assert!(rhat < 1.05, "replicate {rep}, {name}: R-hat {rhat}");
            // Recovery: the posterior mean is within 4 posterior sd of the truth.
            assert!(
                (row.mean - truth[j]).abs() < 4.0 * row.sd,
                "replicate {rep}, {name}: mean {} ± {} vs truth {}",
                row.mean,
                row.sd,
                truth[j]
            );
            checks += 1;
            if row.q5 <= truth[j] && truth[j] <= row.q95 {
                covered += 1;
            }
        }
    }
    // 10 intervals at 90 %: P(Binomial(10, 0.9) ≤ 6) ≈ 1.3 %.
    assert!(covered >= 7, "coverage {covered}/{checks}");
}

#[test]
fn bad_options_are_typed_errors() {
    let pca = pca_emulator();
    let ok = KohOptions {
        observations: vec![0.0; T],
        obs_var: vec![0.01; T],
        locations: locations(),
        discrepancy: Discrepancy::None,
        names: vec!["a".into(), "b".into()],
    };
    let short = KohOptions {
        observations: vec![0.0; T - 1],
        ..ok.clone()
    };
    assert!(matches!(
        KohDensity::new(&pca, short),
        Err(mechml_engine::Error::ShapeMismatch { .. })
    ));
    let mut neg = ok.clone();
    neg.obs_var[3] = -1.0;
    assert!(matches!(
        KohDensity::new(&pca, neg),
        Err(mechml_engine::Error::InvalidOption { .. })
    ));
    let mut nan = ok;
    nan.observations[0] = f64::NAN;
    assert!(matches!(
        KohDensity::new(&pca, nan),
        Err(mechml_engine::Error::NonFinite { .. })
    ));
}
