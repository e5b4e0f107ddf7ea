//! The k-box EBM: the transient-response formula against a fine-step integration,
//! the observed information against finite differences of the gradient, and parameter
//! recovery on simulated data (coverage of the 95 % intervals over seeded replicates).
#![allow(clippy::needless_range_loop)]

use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_models::ssm::Observations;
use mechml_models::ssm::ebm::{EbmData, EbmFamily, EbmPrior, KBoxEbm, Tcr, sensitivity};
use mechml_models::ssm::fit::{
    FitOptions, ParamMap, ParamSpec, ParametricSsm, delta_method, fit_mle, loglik_at,
    observed_information,
};
use mechml_models::ssm::loglik_op::KalmanGradient;
use mechml_models::ssm::simulate::simulate;
use rand::SeedableRng;

/// A synthetic forcing: a ramp with two volcanic-like dips.
fn forcing(t_len: usize) -> Vec<f64> {
    (0..t_len)
        .map(|t| {
            let mut f = 0.025 * t as f64;
            if t % 60 == 30 {
                f -= 2.5;
            }
            if t % 60 == 31 {
                f -= 1.0;
            }
            f
        })
        .collect()
}

#[test]
fn tcr_formula_matches_fine_step_integration() {
    for (boxes, sf) in [(2, false), (3, false), (3, true)] {
        let ebm = KBoxEbm::new(boxes, sf, false).unwrap();
        let names = ebm.param_names();
        let vals: Vec<f64> = names
            .iter()
            .map(|n| match n.as_str() {
                "C1" => 7.0,
                "C2" => {
                    if boxes == 2 {
                        90.0
                    } else {
                        25.0
                    }
                }
                "C3" => 120.0,
                "kappa1" => 1.1,
                "kappa2" => 1.4,
                "kappa3" => 0.6,
                "epsilon" => 1.3,
                "gamma" => 1.8,
                "F" => 1.0,
                _ => 0.3,
            })
            .collect();
        let p = ebm.params_from_slice(&vals).unwrap();
        let f2x = 3.7;
        let tcr = sensitivity::tcr(&ebm, &p, f2x).unwrap();
        // RK4 on dx/dt = A x + b u(t), u(t) = F₂ₓ t ln 1.01 / ln 2.
        let sde = ebm.continuous(&p).unwrap();
        let n = sde.n;
        let slope = f2x * 1.01f64.ln() / 2f64.ln();
        let rhs = |t: f64, x: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    (0..n).map(|j| sde.a[i + j * n] * x[j]).sum::<f64>() + sde.b[i] * slope * t
                })
                .collect()
        };
        let steps = 70_000;
        let h = 70.0 / steps as f64;
        let mut x = vec![0.0; n];
        for s in 0..steps {
            let t = s as f64 * h;
            let k1 = rhs(t, &x);
            let x2: Vec<f64> = (0..n).map(|i| x[i] + 0.5 * h * k1[i]).collect();
            let k2 = rhs(t + 0.5 * h, &x2);
            let x3: Vec<f64> = (0..n).map(|i| x[i] + 0.5 * h * k2[i]).collect();
            let k3 = rhs(t + 0.5 * h, &x3);
            let x4: Vec<f64> = (0..n).map(|i| x[i] + h * k3[i]).collect();
            let k4 = rhs(t + h, &x4);
            for i in 0..n {
                x[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
        }
        let rk = x[ebm.t1_index()];
        assert!(
            (tcr - rk).abs() < 1e-9 * rk.abs(),
            "k={boxes} sf={sf}: formula {tcr} vs RK4 {rk}"
        );
        // And an ECS consistency check: TCR < ECS.
        assert!(tcr < sensitivity::ecs(&p, f2x));
    }
}

fn family(seed: u64, t_len: usize, truth: &[f64], ebm: KBoxEbm) -> EbmFamily {
    let u = forcing(t_len);
    let placeholder = EbmData::new(
        Observations::new(t_len, 1, vec![0.0; t_len], 1, u.clone()).unwrap(),
        vec![0.0; t_len],
        1.0,
    )
    .unwrap();
    let fam = EbmFamily {
        ebm,
        data: placeholder,
        prior: EbmPrior::Stationary,
    };
    let model = fam.build(truth).unwrap();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let sim = simulate(&model, t_len, &u, &mut rng).unwrap();
    EbmFamily {
        data: EbmData::new(sim.observations, vec![0.0; t_len], 1.0).unwrap(),
        ..fam
    }
}

// C1, C2, κ1, κ2, ε, σ_ξ, F, σ_T, T0
const TRUTH: [f64; 9] = [8.0, 100.0, 1.2, 0.7, 1.0, 0.6, 1.0, 0.08, 0.0];

fn specs(start: &[f64]) -> Vec<ParamSpec> {
    vec![
        ParamSpec::positive("C1", start[0]),
        ParamSpec::positive("C2", start[1]),
        ParamSpec::positive("kappa1", start[2]),
        ParamSpec::positive("kappa2", start[3]),
        ParamSpec::fixed("epsilon", 1.0),
        ParamSpec::positive("sigma_xi", start[5]),
        ParamSpec::fixed("F", 1.0),
        ParamSpec::fixed("sigma_T", 0.08),
        ParamSpec::fixed("T0", 0.0),
    ]
}

#[test]
fn observed_information_matches_finite_differences() {
    let ebm = KBoxEbm::new(2, false, false).unwrap();
    let fam = family(1, 120, &TRUTH, ebm);
    let sp = specs(&TRUTH);
    let names = fam.param_names();
    let map = ParamMap::new(&names, &sp).unwrap();
    let z = map.z_of(&TRUTH);
    let info = observed_information(&fam, &map, &z, KalmanGradient::Adjoint).unwrap();
    let k = z.len();
    for j in 0..k {
        // d/dz_j of the gradient by finite differences of the log-likelihood's gradient,
        // itself by finite differences of values (independent of the adjoint).
        let grad_j = |zz: &[f64]| -> mechml_engine::Result<Vec<f64>> {
            finite_diff_gradient(|w| loglik_at(&fam, &map.theta(w)), zz, Some(1e-4))
        };
        let h = 1e-3;
        let mut zp = z.clone();
        zp[j] += h;
        let mut zm = z.clone();
        zm[j] -= h;
        let (gp, gm) = (grad_j(&zp).unwrap(), grad_j(&zm).unwrap());
        for i in 0..k {
            let fd = -(gp[i] - gm[i]) / (2.0 * h);
            let an = info[i + j * k];
            assert!(
                (an - fd).abs() < 2e-4 * an.abs().max(1.0),
                "I[{i},{j}] = {an} vs {fd}"
            );
        }
    }
}

#[test]
fn parameter_recovery_coverage() {
    let ebm = KBoxEbm::new(2, false, false).unwrap();
    let reps = 60;
    let free = [0usize, 1, 2, 3, 5];
    let mut covered = [0usize; 9];
    let mut fitted = 0;
    let mut tcr_covered = 0;
    let tcr_true = {
        let p = ebm.params_from_slice(&TRUTH).unwrap();
        sensitivity::tcr(&ebm, &p, 3.71).unwrap()
    };
    let opts = FitOptions {
        n_starts: 2,
        ..FitOptions::default()
    };
    for r in 0..reps {
        let fam = family(100 + r, 500, &TRUTH, ebm);
        // Start away from the truth.
        let start = [5.0, 60.0, 1.0, 1.0, 1.0, 0.4, 1.0, 0.08, 0.0];
        let fit = fit_mle(&fam, &specs(&start), &opts, &|_| {}).unwrap();
        if fit.cov_z.is_none() {
            continue;
        }
        fitted += 1;
        for &i in &free {
            let (lo, hi) = (fit.ci_low[i].unwrap(), fit.ci_high[i].unwrap());
            if lo <= TRUTH[i] && TRUTH[i] <= hi {
                covered[i] += 1;
            }
        }
        let tcr = delta_method(
            &fit,
            &specs(&start),
            &Tcr {
                ebm,
                f2x: Some(3.71),
            },
        )
        .unwrap();
        let (lo, hi) = tcr.ci.unwrap();
        if lo <= tcr_true && tcr_true <= hi {
            tcr_covered += 1;
        }
    }
    let names = ebm.param_names();
    let mut report = format!(
        "parameter recovery: {fitted}/{reps} fits with a covariance; coverage of 95% intervals:"
    );
    for &i in &free {
        report.push_str(&format!(
            " {} {:.2}",
            names[i],
            covered[i] as f64 / fitted as f64
        ));
    }
    report.push_str(&format!(" TCR {:.2}", tcr_covered as f64 / fitted as f64));
    println!("{report}");
    assert!(fitted >= reps as usize * 9 / 10, "{report}");
    for &i in &free {
        // Nominal 0.95; with 60 replicates the binomial standard deviation is ≈ 0.03.
        assert!(covered[i] as f64 / fitted as f64 >= 0.8, "{report}");
    }
    assert!(tcr_covered as f64 / fitted as f64 >= 0.8, "{report}");
}

/// The setting of Cummins et al. (2020): an abrupt-4×CO₂ experiment (step forcing F₄ₓ)
/// with stochastic forcing (γ, σ_η), three boxes with efficacy, and both the temperature
/// and the top-of-atmosphere flux observed; all eleven physical parameters estimated.
#[test]
fn three_box_step_forcing_with_flux_is_recovered() {
    let ebm = KBoxEbm::new(3, true, true).unwrap();
    let names = ebm.param_names();
    // C1 C2 C3 κ1 κ2 κ3 ε σ_ξ γ σ_η F σ_T σ_N T0
    let truth = [
        5.0, 20.0, 100.0, 1.0, 2.0, 1.0, 1.2, 0.5, 2.0, 0.5, 5.0, 0.05, 0.05, 0.0,
    ];
    assert_eq!(names.len(), truth.len());
    let t_len = 150;
    let u = vec![1.0; t_len];
    let placeholder = EbmData::new(
        Observations::new(t_len, 2, vec![0.0; 2 * t_len], 1, u.clone()).unwrap(),
        vec![0.0; t_len],
        1.0,
    )
    .unwrap();
    let fam0 = EbmFamily {
        ebm,
        data: placeholder,
        prior: EbmPrior::Stationary,
    };
    let model = fam0.build(&truth).unwrap();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(2020);
    let sim = simulate(&model, t_len, &u, &mut rng).unwrap();
    let fam = EbmFamily {
        data: EbmData::new(sim.observations, vec![0.0; t_len], 1.0).unwrap(),
        ..fam0
    };
    let specs: Vec<ParamSpec> = names
        .iter()
        .zip(&truth)
        .map(|(n, &v)| match n.as_str() {
            "sigma_T" | "sigma_N" | "T0" => ParamSpec::fixed(n, v),
            // Start 30 % away from the truth.
            _ => ParamSpec::positive(n, v * 1.3),
        })
        .collect();
    let fit = fit_mle(
        &fam,
        &specs,
        &FitOptions {
            n_starts: 4,
            ..FitOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    assert!(fit.converged);
    let mut report = String::new();
    for (i, n) in names.iter().enumerate().filter(|(i, _)| fit.free[*i]) {
        let se = fit.se[i].expect("standard error");
        let z = (fit.estimate[i] - truth[i]) / se;
        report.push_str(&format!(
            "{n}: {:.3} ± {:.3} (truth {}, z {:+.2}); ",
            fit.estimate[i], se, truth[i], z
        ));
    }
    println!("{report}");
    for (i, _) in names.iter().enumerate().filter(|(i, _)| fit.free[*i]) {
        let (lo, hi) = (fit.ci_low[i].unwrap(), fit.ci_high[i].unwrap());
        // Wider than 95 %: eleven parameters at once, one replicate.
        let widen = |a: f64, b: f64| {
            (
                (a.ln() - 0.7 * (b.ln() - a.ln())).exp(),
                (b.ln() + 0.7 * (b.ln() - a.ln())).exp(),
            )
        };
        let (lo, hi) = widen(lo, hi);
        assert!(lo <= truth[i] && truth[i] <= hi, "{}: {report}", names[i]);
    }
}
