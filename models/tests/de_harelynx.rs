//! Worked case 3 (ODE parameter inference on the hare–lynx pelts): gradients against
//! finite differences, the posterior against the published Stan case study, coverage of
//! Laplace intervals over seeded synthetic replicates, and bad input.

use mechml_engine::ad::gradcheck::{GradCheckOptions, check_gradient};
use mechml_engine::infer::{Init, LogDensity, NutsOptions};
use mechml_engine::ode::Sensitivity;
use mechml_models::de::harelynx::{
    LvDensity, LvPriors, MleOptions, Pelts, default_solver, fit_mle, predictive_bands,
    sample_posterior, simulate,
};

/// Close to the published posterior means (Carpenter 2018).
const THETA: [f64; 8] = [0.55, 0.028, 0.80, 0.024, 33.0, 6.0, 0.25, 0.25];

fn fd_check(d: &mut LvDensity, z: &[f64]) {
    let (_, g) = d.value_and_grad(z).unwrap();
    let f = |x: &[f64]| Ok(d.clone().value_and_grad(x)?.0);
    // The solve is at rtol = atol = 1e-10 here, so that finite differences of the
    // adaptive solution (whose step sequence changes with the parameters) are smooth
    // to about 1e-8 relative.
    let rep = check_gradient(
        f,
        z,
        &g,
        GradCheckOptions {
            rtol: 1e-5,
            atol: 1e-5,
            rel_step: Some(1e-4),
        },
    )
    .unwrap();
    assert!(rep.passed, "{rep:?}");
}

fn tight() -> mechml_models::de::SolverSettings {
    mechml_models::de::SolverSettings {
        rtol: 1e-10,
        atol: 1e-10,
        ..default_solver()
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let data = Pelts::hudson_bay().unwrap();
    let mut post = LvDensity::posterior(&data, &LvPriors::default(), tight()).unwrap();
    let mut lik = LvDensity::likelihood(&data, tight()).unwrap();
    let z = post.unconstrain(&THETA).unwrap();
    fd_check(&mut post, &z);
    fd_check(&mut lik, &z);
    // Away from the mode too.
    let z2 = post
        .unconstrain(&[0.7, 0.02, 0.6, 0.03, 20.0, 8.0, 0.4, 0.15])
        .unwrap();
    fd_check(&mut post, &z2);
}

#[test]
fn forward_sensitivities_and_discrete_adjoint_agree() {
    let data = Pelts::hudson_bay().unwrap();
    let mut fwd = LvDensity::posterior(&data, &LvPriors::default(), tight()).unwrap();
    let adj_solver = mechml_models::de::SolverSettings {
        sensitivity: Sensitivity::default(),
        ..tight()
    };
    let mut adj = LvDensity::posterior(&data, &LvPriors::default(), adj_solver).unwrap();
    let z = fwd.unconstrain(&THETA).unwrap();
    let (v1, g1) = fwd.value_and_grad(&z).unwrap();
    let (v2, g2) = adj.value_and_grad(&z).unwrap();
    assert!((v1 - v2).abs() < 1e-12 * v1.abs().max(1.0));
    for (a, b) in g1.iter().zip(&g2) {
        assert!((a - b).abs() < 1e-7 * a.abs().max(1.0), "{g1:?} vs {g2:?}");
    }
}

/// 10 %, 90 % quantiles of all draws of `name`.
fn q10_q90(post: &mechml_engine::infer::Posterior, name: &str) -> (f64, f64) {
    let mut v: Vec<f64> = post.draws_of(name).unwrap().into_iter().flatten().collect();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| mechml_engine::infer::stats::quantile_sorted(&v, p);
    (q(0.1), q(0.9))
}

/// The posterior against Carpenter (2018), "Predator-prey population dynamics: the
/// Lotka-Volterra model in Stan" (mc-stan.org case study; source
/// stan-dev/example-models `knitr/lotka-volterra/lotka-volterra-predator-prey.Rmd`, §
/// "Comparing the fitted model to data"): posterior means α̂ = 0.55, β̂ = 0.028,
/// γ̂ = 0.80, δ̂ = 0.024, σ̂₁ = σ̂₂ = 0.25, and 80 % intervals α [0.47, 0.63],
/// β [0.023, 0.033], γ [0.69, 0.91], δ [0.020, 0.029], σ [0.20, 0.31] (the text prints
/// β's as "0.23, 0.33" and swaps the γ/δ labels; the values above follow its
/// estimates). Stan ran 4 chains × 1,000 draws with effective sizes "roughly one
/// thousand". Tolerance per quantity: half a unit of the last printed digit plus
/// 3 √(MCSE_ours² + (sd/√1000)²) for means, and that plus 0.1 sd for the interval ends
/// (the MCSE of a 10 % quantile is larger than the mean's).
#[test]
fn posterior_matches_the_published_stan_case_study() {
    let data = Pelts::hudson_bay().unwrap();
    let nuts = NutsOptions {
        n_chains: 4,
        n_warmup: 500,
        n_draws: 500,
        init: Init::Random { radius: 2.0 },
        seed: 11,
        ..NutsOptions::default()
    };
    let post = sample_posterior(&data, &LvPriors::default(), default_solver(), &nuts).unwrap();
    let d = &post.diagnostics;
    assert_eq!(d.divergences, 0, "{:?}", d.warnings);
    assert!(d.max_rhat.unwrap() < 1.02, "{:?}", d.warnings);
    // (name, mean, q10, q90, half-unit of the printed mean, of the printed interval)
    let published = [
        ("alpha", 0.55, 0.47, 0.63, 0.005, 0.005),
        ("beta", 0.028, 0.023, 0.033, 0.0005, 0.0005),
        ("gamma", 0.80, 0.69, 0.91, 0.005, 0.005),
        ("delta", 0.024, 0.020, 0.029, 0.0005, 0.0005),
        ("sigma_hare", 0.25, 0.20, 0.31, 0.005, 0.005),
        ("sigma_lynx", 0.25, 0.20, 0.31, 0.005, 0.005),
    ];
    for (name, mean, q10, q90, hm, hq) in published {
        let row = post.summary.row(name).unwrap();
        let mcse = row.mcse_mean.unwrap();
        let tol = hm + 3.0 * (mcse * mcse + row.sd * row.sd / 1000.0).sqrt();
        assert!(
            (row.mean - mean).abs() <= tol,
            "{name}: mean {} vs published {mean} (tol {tol})",
            row.mean
        );
        let (a, b) = q10_q90(&post, name);
        let tolq = hq + tol - hm + 0.1 * row.sd;
        assert!(
            (a - q10).abs() <= tolq && (b - q90).abs() <= tolq,
            "{name}: 80 % interval [{a}, {b}] vs published [{q10}, {q90}] (tol {tolq})"
        );
    }
    // Posterior predictive check: about half the counts in the 50 % bands and nine in
    // ten in the 90 % bands (42 counts: binomial sd 7.7 and 4.6 points).
    let bands = predictive_bands(&post, &data, 1, &default_solver(), 3).unwrap();
    let (c50, c90) = bands.coverage(&data).unwrap();
    assert!((c50 - 0.5).abs() < 3.0 * 0.077, "50 % band covers {c50}");
    assert!(c90 > 0.9 - 3.0 * 0.046, "90 % band covers {c90}");
}

/// Simulate from known parameters, fit by multi-start maximum likelihood and count how
/// often each 90 % Laplace interval covers the truth. The record is sampled four times a
/// year over 1900–1920 (162 counts for 8 parameters), where the large-sample theory
/// behind the intervals holds; on the real design (21 years, 42 counts) the intervals
/// under-cover (σ̂ is biased low by about √(34/42) and 2(ℓ̂ − ℓ(θ)) averages ≈ 12, not
/// 8): measured in `examples/de_harelynx_coverage.rs` and stated in docs/de.md.
#[test]
fn laplace_intervals_cover_over_seeded_replicates() {
    let years: Vec<f64> = (0..=80).map(|k| 1900.0 + 0.25 * f64::from(k)).collect();
    let solver = default_solver();
    let opts = MleOptions::laplace_only(0.9, 4);
    let reps = 40;
    let mut covered = [0usize; 8];
    for r in 0..reps {
        let data = simulate(&THETA, &years, 1000 + r, &solver).unwrap();
        let fit = fit_mle(&data, &opts).unwrap();
        for (j, c) in covered.iter_mut().enumerate() {
            *c += usize::from(fit.wald[j].covers(THETA[j]));
        }
    }
    // Expected 36 of 40 per parameter (binomial sd 1.9): each within 3 sd below (the
    // intervals may be wider than needed, not narrower), and the pooled rate within
    // 3 sd of 0.9 counting the 8 parameters as independent (sd 5.4 of 320).
    let total: usize = covered.iter().sum();
    assert!(
        covered.iter().all(|&c| c >= 31),
        "coverage per parameter {covered:?} of {reps}"
    );
    assert!(
        (total as f64 - 288.0).abs() <= 3.0 * 5.37,
        "pooled coverage {total} of 320 ({covered:?})"
    );
}

#[test]
fn bad_input_is_an_error() {
    let y = |v: f64| vec![v; 5];
    let years: Vec<f64> = (0..5).map(f64::from).collect();
    // Non-positive, non-finite counts.
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let mut h = y(3.0);
        h[2] = bad;
        let e = Pelts::new(years.clone(), h, y(2.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("hare[2]"), "{e}");
    }
    // Wrong lengths, too few years, years not increasing.
    assert!(Pelts::new(years.clone(), y(3.0), vec![1.0; 4]).is_err());
    assert!(Pelts::new(vec![0.0, 1.0], vec![1.0; 2], vec![1.0; 2]).is_err());
    assert!(Pelts::new(vec![0.0, 2.0, 1.0, 3.0, 4.0], y(3.0), y(2.0)).is_err());
    assert!(Pelts::from_csv("year,hare,lynx\n1900,30,4\n1901,x,6\n1902,70,9.8\n").is_err());
    // Bad options and parameters.
    let data = Pelts::hudson_bay().unwrap();
    let opts = MleOptions {
        level: 1.5,
        ..MleOptions::default()
    };
    assert!(fit_mle(&data, &opts).is_err());
    let d = LvDensity::likelihood(&data, default_solver()).unwrap();
    assert!(
        d.unconstrain(&[0.5, -0.1, 1.0, 0.1, 30.0, 4.0, 0.2, 0.2])
            .is_err()
    );
    assert!(d.unconstrain(&[0.5, 0.1]).is_err());
    assert!(simulate(&[0.5; 3], &[0.0, 1.0, 2.0], 0, &default_solver()).is_err());
    // Parameters where the solve blows up have zero density, not an error or a hang.
    let mut d = d;
    let z = d
        .unconstrain(&[50.0, 1e-6, 50.0, 1e-6, 1e3, 1e3, 0.2, 0.2])
        .unwrap();
    let (v, _) = d.value_and_grad(&z).unwrap();
    assert!(v == f64::NEG_INFINITY || v.is_finite());
}

#[test]
fn shipped_record_is_the_published_one() {
    let d = Pelts::hudson_bay().unwrap();
    assert_eq!(d.len(), 21);
    assert_eq!((d.hare()[0], d.lynx()[0]), (30.0, 4.0));
    assert_eq!((d.hare()[20], d.lynx()[20]), (24.7, 8.1));
    assert_eq!(d.times()[20], 20.0);
}
