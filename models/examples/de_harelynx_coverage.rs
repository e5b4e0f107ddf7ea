//! Coverage of the NUTS posterior of the hare–lynx model over seeded synthetic records
//! (the longer companion of the Laplace coverage test in `models/tests/de_harelynx.rs`):
//! a fixed-truth frequentist check, not simulation-based calibration — the truth is held
//! at values close to the posterior of the real record, each replicate simulates 21
//! yearly counts from it with
//! log-normal noise, and each 90 % central posterior interval (4 chains × (400 warm-up +
//! 400 draws)) is checked against the truth. With weakly informative priors the
//! credible intervals are not exactly frequentist, so the rate is reported, with its
//! binomial standard error, not asserted. The 90 % Laplace intervals of the maximum
//! likelihood fit of each replicate are counted beside them.
//!
//! ```sh
//! cargo run -p mechml-models --profile test --example de_harelynx_coverage -- [REPLICATES]
//! ```

use mechml_engine::infer::stats::quantile_sorted;
use mechml_engine::infer::{Init, NutsOptions};
use mechml_models::de::harelynx::{
    LvPriors, MleOptions, PARAM_NAMES, default_solver, fit_mle, sample_posterior, simulate,
};

const THETA: [f64; 8] = [0.55, 0.028, 0.80, 0.024, 33.0, 6.0, 0.25, 0.25];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(40);
    let years: Vec<f64> = (1900..=1920).map(f64::from).collect();
    let solver = default_solver();
    let mut covered = [0usize; 8];
    let mut laplace_like = [0usize; 8];
    let mut laplace = [0usize; 8];
    let mle_opts = MleOptions::laplace_only(0.9, 4);
    let (mut divergent_runs, mut max_rhat) = (0usize, 1.0f64);
    let t = std::time::Instant::now();
    for r in 0..reps {
        let data = simulate(&THETA, &years, 1000 + r, &solver)?;
        let nuts = NutsOptions {
            n_chains: 4,
            n_warmup: 400,
            n_draws: 400,
            init: Init::Random { radius: 2.0 },
            seed: r,
            ..NutsOptions::default()
        };
        let fit = fit_mle(&data, &mle_opts)?;
        for (j, c) in laplace.iter_mut().enumerate() {
            *c += usize::from(fit.wald[j].covers(THETA[j]));
        }
        let post = sample_posterior(&data, &LvPriors::default(), solver, &nuts)?;
        divergent_runs += usize::from(post.diagnostics.divergences > 0);
        max_rhat = max_rhat.max(post.diagnostics.max_rhat.unwrap_or(f64::NAN));
        for j in 0..8 {
            let mut v: Vec<f64> = post
                .draws_of(PARAM_NAMES[j])?
                .into_iter()
                .flatten()
                .collect();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = (quantile_sorted(&v, 0.05), quantile_sorted(&v, 0.95));
            covered[j] += usize::from(lo <= THETA[j] && THETA[j] <= hi);
            // The interval of the log-draws' mean ± 1.645 sd (a Laplace-like check).
            let l: Vec<f64> = v.iter().map(|x| x.ln()).collect();
            let m = l.iter().sum::<f64>() / l.len() as f64;
            let s = (l.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (l.len() - 1) as f64).sqrt();
            laplace_like[j] += usize::from((THETA[j].ln() - m).abs() <= 1.645 * s);
        }
        println!("replicate {r}: running coverage {covered:?}");
    }
    let se = (0.9f64 * 0.1 / reps as f64).sqrt();
    println!(
        "\n{reps} replicates in {:.0} s; runs with divergences {divergent_runs}, max R-hat {max_rhat:.3}",
        t.elapsed().as_secs_f64()
    );
    println!("binomial sd of a rate at 0.9: {se:.3}");
    println!(
        "{:<11} {:>18} {:>26} {:>18}",
        "param", "NUTS 90% central", "NUTS log mean ± 1.645 sd", "Laplace 90% (MLE)"
    );
    for j in 0..8 {
        println!(
            "{:<11} {:>18.3} {:>26.3} {:>18.3}",
            PARAM_NAMES[j],
            covered[j] as f64 / reps as f64,
            laplace_like[j] as f64 / reps as f64,
            laplace[j] as f64 / reps as f64
        );
    }
    let pooled = |c: &[usize; 8]| c.iter().sum::<usize>() as f64 / (8 * reps) as f64;
    println!(
        "pooled: NUTS 90% central {:.3}, Laplace 90% {:.3}",
        pooled(&covered),
        pooled(&laplace)
    );
    Ok(())
}
