//! GP emulators: interpolation without a nugget, LOO standardised errors on draws from the
//! emulator's own prior, gradients against finite differences, MAP with hyperpriors,
//! heteroscedastic nuggets from replicates.

// Index loops mirror the formulas they check.
#![allow(clippy::needless_range_loop)]

use faer::Par;
use mechml_engine::gp::{Inputs, kernel_matrix};
use mechml_engine::infer::Prior;
use mechml_engine::linalg::Llt;
use mechml_models::emulator::design::{MaximinOptions, SobolOptions, lhs, maximin_lhs, sobol};
use mechml_models::emulator::gp::{
    EmuKernel, EmulatorOptions, GpEmulator, HyperPrior, KernelFamily, MeanFunction, Nugget,
    Objective,
};
use mechml_models::emulator::validate::{held_out, loo};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

fn f(p: &[f64]) -> f64 {
    (5.0 * p[0]).sin() + 2.0 * p[1] * p[1] - p[0] * p[2]
}

#[test]
fn zero_nugget_emulator_interpolates_its_runs() {
    let d = maximin_lhs(
        40,
        3,
        &MaximinOptions {
            iterations: 2000,
            ..Default::default()
        },
    )
    .unwrap();
    let x = d.to_inputs().unwrap();
    let y: Vec<f64> = (0..40).map(|i| f(d.point(i))).collect();
    let ybar = y.iter().sum::<f64>() / 40.0;
    let sd = (y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>() / 40.0).sqrt();
    // At moderate lengthscales (well-conditioned K): exact interpolation up to rounding,
    // and zero variance at the runs, for every kernel and mean.
    let theta = [1.0, 0.3, 0.3, 0.3];
    for family in [
        KernelFamily::SquaredExponential,
        KernelFamily::Matern52,
        KernelFamily::Matern32,
    ] {
        for mean in [
            MeanFunction::Zero,
            MeanFunction::Constant,
            MeanFunction::Linear,
        ] {
            let opts = EmulatorOptions::default()
                .with_nugget(Nugget::Fixed(0.0))
                .with_kernel(family)
                .with_mean(mean);
            let emu = GpEmulator::with_params(x.clone(), &y, &opts, &theta).unwrap();
            let p = emu.predict(&x).unwrap();
            for i in 0..40 {
                assert!(
                    (p.mean[i] - y[i]).abs() < 1e-9 * sd,
                    "{family:?}: run {i}: {} vs {}",
                    p.mean[i],
                    y[i]
                );
                assert!(
                    p.var[i] < 1e-10,
                    "{family:?}: variance at run {i}: {}",
                    p.var[i]
                );
            }
            // Half-way between runs it is uncertain.
            let q = emu
                .predict(&Inputs::from_rows(&[[0.999, 0.001, 0.999]]).unwrap())
                .unwrap();
            assert!(q.var[0] > 1e-4, "{family:?}: {}", q.var[0]);
        }
    }
    // Fitted hyperparameters (long SE lengthscales make cond(K) ~ 10¹²): interpolation up
    // to that conditioning, while a nugget of 10⁻² of the variance visibly smooths.
    let opts = EmulatorOptions::default().with_nugget(Nugget::Fixed(0.0));
    let emu = GpEmulator::fit(x.clone(), &y, &opts).unwrap();
    assert_eq!(emu.fit_report().unwrap().jitter.jitter_added, 0.0);
    let p = emu.predict(&x).unwrap();
    let worst = (0..40)
        .map(|i| (p.mean[i] - y[i]).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3 * sd, "worst interpolation error {worst}");
    let noisy = GpEmulator::fit(
        x.clone(),
        &y,
        &opts.clone().with_nugget(Nugget::Fixed(1e-2 * sd * sd)),
    )
    .unwrap();
    let pn = noisy.predict(&x).unwrap();
    assert!(
        (0..40)
            .map(|i| (pn.mean[i] - y[i]).abs())
            .fold(0.0, f64::max)
            > 1e-2 * sd
    );
}

/// Outputs drawn from the GP prior with known hyperparameters (constant mean 3): the LOO
/// standardised errors at those hyperparameters are N(0, 1) (each exactly, for any β,
/// since the LOO residual is a contrast). Seeded; the tolerances are 4 standard errors
/// of the mean, variance and 95 % coverage of 25 × 60 draws (correlated within a draw,
/// so the check pools draws).
#[test]
fn loo_standardised_errors_are_standard_normal_under_the_prior() {
    let (n, reps) = (60, 25);
    let d = lhs(n, 2, 4).unwrap();
    let x = d.to_inputs().unwrap();
    let theta = [1.5, 0.3, 0.5, 1e-3]; // variance, lengthscales, nugget
    let k = EmuKernel::ard(KernelFamily::SquaredExponential, 2).unwrap();
    let mut km = kernel_matrix(&k, &theta[..3], &x, None).unwrap();
    for i in 0..n {
        km[(i, i)] += theta[3];
    }
    let l = Llt::factor(km.as_ref(), Par::Seq).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut z = Vec::new();
    for _ in 0..reps {
        let e: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 3.0 + (0..=i).map(|j| l.l()[(i, j)] * e[j]).sum::<f64>())
            .collect();
        let emu =
            GpEmulator::with_params(x.clone(), &y, &EmulatorOptions::default(), &theta).unwrap();
        z.extend(loo(&emu).unwrap().standardised);
    }
    let m = z.len() as f64;
    let mean = z.iter().sum::<f64>() / m;
    let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m;
    let cover = z.iter().filter(|v| v.abs() < 1.96).count() as f64 / m;
    // Effective sample size: the draws are independent across replicates; within one the
    // errors are correlated, so use the replicate count for the mean's standard error.
    assert!(mean.abs() < 4.0 / (reps as f64).sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() < 4.0 * (2.0 / reps as f64).sqrt() * 0.5,
        "variance {var}"
    );
    assert!(
        (cover - 0.95).abs() < 4.0 * (0.95 * 0.05 / reps as f64).sqrt(),
        "coverage {cover}"
    );
}

#[test]
fn objective_gradient_matches_finite_differences() {
    let d = lhs(25, 3, 5).unwrap();
    let y: Vec<f64> = (0..25).map(|i| f(d.point(i))).collect();
    for objective in [Objective::Ml, Objective::Reml] {
        for mean in [
            MeanFunction::Zero,
            MeanFunction::Constant,
            MeanFunction::Linear,
        ] {
            let opts = EmulatorOptions {
                objective,
                mean,
                ..Default::default()
            };
            let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &opts).unwrap();
            // Away from the optimum, where the gradient does not vanish.
            let theta: Vec<f64> = emu
                .params()
                .iter()
                .enumerate()
                .map(|(i, t)| t * (1.0 + 0.3 * ((i % 3) as f64 - 1.0)) + 1e-3)
                .collect();
            let (_, g) = emu.log_likelihood_grad(&theta).unwrap();
            for i in 0..theta.len() {
                let h = 1e-6 * theta[i];
                let mut tp = theta.clone();
                tp[i] += h;
                let mut tm = theta.clone();
                tm[i] -= h;
                let fd = (emu.log_likelihood_grad(&tp).unwrap().0
                    - emu.log_likelihood_grad(&tm).unwrap().0)
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-4 * (1.0 + fd.abs()),
                    "{objective:?} {}: {} vs finite differences {fd}",
                    emu.param_names()[i],
                    g[i]
                );
            }
            // The fit is at a stationary point of the log likelihood.
            let (_, g0) = emu.log_likelihood_grad(&emu.params()).unwrap();
            let scaled: f64 = g0
                .iter()
                .zip(emu.params())
                .map(|(g, t)| (g * t).abs())
                .fold(0.0, f64::max);
            assert!(
                scaled < 5e-2,
                "{objective:?}: ∂ℓ/∂log θ = {scaled} at the optimum"
            );
        }
    }
}

#[test]
fn prediction_gradients_match_finite_differences() {
    // Few runs, so that the variance is far from zero where the gradient is checked.
    let d = sobol(12, 3, &SobolOptions::scrambled(3)).unwrap();
    let y: Vec<f64> = (0..12).map(|i| f(d.point(i))).collect();
    for mean in [MeanFunction::Constant, MeanFunction::Linear] {
        for family in [KernelFamily::SquaredExponential, KernelFamily::Matern52] {
            let opts = EmulatorOptions::default()
                .with_mean(mean.clone())
                .with_kernel(family);
            let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &opts).unwrap();
            let x0 = [0.37, 0.61, 0.22];
            let g = emu.predict_with_gradient(&x0).unwrap();
            let p = emu.predict(&Inputs::from_rows(&[x0]).unwrap()).unwrap();
            // Same quantities by another summation order (GEMM vs dot): rounding only.
            assert!((g.mean - p.mean[0]).abs() < 1e-7 && (g.var - p.var[0]).abs() < 1e-10);
            for k in 0..3 {
                let h = 1e-3;
                let mut a = x0;
                a[k] += h;
                let mut b = x0;
                b[k] -= h;
                let pa = emu.predict(&Inputs::from_rows(&[a]).unwrap()).unwrap();
                let pb = emu.predict(&Inputs::from_rows(&[b]).unwrap()).unwrap();
                let fm = (pa.mean[0] - pb.mean[0]) / (2.0 * h);
                let fv = (pa.var[0] - pb.var[0]) / (2.0 * h);
                assert!(
                    (fm - g.dmean[k]).abs() < 2e-4 * (1.0 + fm.abs()),
                    "{family:?} dmean[{k}] {} vs {fm}",
                    g.dmean[k]
                );
                assert!(
                    (fv - g.dvar[k]).abs() < 2e-4 * (fv.abs() + 1e-6),
                    "{family:?} dvar[{k}] {} vs {fv}",
                    g.dvar[k]
                );
            }
        }
    }
}

/// MAP with a tight prior on the lengthscales pulls them to the prior; the fit respects
/// fixed parameters by name.
#[test]
fn hyperpriors_and_fixed_parameters() {
    let d = lhs(20, 2, 8).unwrap();
    let y: Vec<f64> = (0..20).map(|i| (6.0 * d.point(i)[0]).sin()).collect();
    let opts = EmulatorOptions {
        priors: vec![HyperPrior {
            name: "lengthscale".into(),
            prior: Prior::LogNormal {
                mu: 3f64.ln(),
                sigma: 0.01,
            },
        }],
        ..EmulatorOptions::default()
    };
    let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &opts).unwrap();
    for k in 0..2 {
        let l = emu.param(&format!("lengthscale[{k}]")).unwrap();
        assert!((l / 3.0 - 1.0).abs() < 0.1, "lengthscale[{k}] = {l}");
    }
    let mut opts = EmulatorOptions::default();
    opts.fit = opts.fit.fixing(&["nugget"]);
    let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &opts).unwrap();
    let var = {
        let m = y.iter().sum::<f64>() / 20.0;
        y.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 20.0
    };
    assert!((emu.param("nugget").unwrap() - 1e-4 * var).abs() < 1e-15);
    assert!(emu.param("variance").unwrap() != var);
}

/// Held-out diagnostics of a good emulator: D² near its expectation and coverage near 95 %.
#[test]
fn held_out_diagnostics_of_a_good_emulator() {
    let d = lhs(25, 3, 10).unwrap();
    let y: Vec<f64> = (0..25).map(|i| f(d.point(i))).collect();
    let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &EmulatorOptions::default()).unwrap();
    let t = sobol(20, 3, &SobolOptions::scrambled(2)).unwrap();
    let yt: Vec<f64> = (0..20).map(|i| f(t.point(i))).collect();
    let h = held_out(&emu, &t.to_inputs().unwrap(), &yt).unwrap();
    assert!(
        h.mahalanobis < h.mahalanobis_expected + 5.0 * h.mahalanobis_sd,
        "D² {}",
        h.mahalanobis
    );
    assert!(h.coverage95 >= 0.8);
    assert_eq!(h.pivots.len(), 20);
    let l = loo(&emu).unwrap();
    assert!(l.q2 > 0.99 && l.coverage95 > 0.85);
}

/// The fast prediction path (products with precomputed inverses) against the dense
/// universal-kriging formula (Sacks et al. 1989, eqs. (4)–(5)) by explicit inverses, and
/// against the triangular-solve path, on more points than one chunk.
#[test]
fn chunked_prediction_matches_the_dense_formula() {
    let d = lhs(30, 3, 4).unwrap();
    let x = d.to_inputs().unwrap();
    let y: Vec<f64> = (0..30).map(|i| f(d.point(i))).collect();
    let m = 2100;
    let c = sobol(m, 3, &SobolOptions::scrambled(5)).unwrap();
    let xs: Vec<f64> = c.as_slice().to_vec();
    let theta = [1.3, 0.4, 0.7, 0.5, 1e-3];
    for family in [KernelFamily::SquaredExponential, KernelFamily::Matern32] {
        for mean in [MeanFunction::Zero, MeanFunction::Linear] {
            let opts = EmulatorOptions::default()
                .with_kernel(family)
                .with_mean(mean.clone());
            let emu = GpEmulator::with_params(x.clone(), &y, &opts, &theta).unwrap();
            let (mut m1, mut v1) = (vec![0.0; m], vec![0.0; m]);
            let (mut m2, mut v2) = (vec![0.0; m], vec![0.0; m]);
            emu.predict_into(&xs, &mut m1, &mut v1).unwrap();
            emu.predict_into_by_solve(&xs, &mut m2, &mut v2).unwrap();
            // Dense: K_y⁻¹ and A⁻¹ explicitly.
            let k = EmuKernel::ard(family, 3).unwrap();
            let mut ky = kernel_matrix(&k, &theta[..4], &x, None).unwrap();
            for i in 0..30 {
                ky[(i, i)] += theta[4];
            }
            let kinv = Llt::factor(ky.as_ref(), Par::Seq)
                .unwrap()
                .inverse(Par::Seq);
            let hrow = |p: &[f64]| -> Vec<f64> {
                match mean {
                    MeanFunction::Zero => vec![],
                    _ => std::iter::once(1.0).chain(p.iter().cloned()).collect(),
                }
            };
            let q = hrow(d.point(0)).len();
            let h: Vec<Vec<f64>> = (0..30).map(|i| hrow(d.point(i))).collect();
            let kih: Vec<Vec<f64>> = (0..30)
                .map(|i| {
                    (0..q)
                        .map(|j| (0..30).map(|t| kinv[(i, t)] * h[t][j]).sum())
                        .collect()
                })
                .collect();
            let a = faer::Mat::from_fn(q, q, |r, s| (0..30).map(|t| h[t][r] * kih[t][s]).sum());
            let ainv = if q > 0 {
                Llt::factor(a.as_ref(), Par::Seq).unwrap().inverse(Par::Seq)
            } else {
                faer::Mat::zeros(0, 0)
            };
            let hty: Vec<f64> = (0..q)
                .map(|j| (0..30).map(|t| kih[t][j] * y[t]).sum())
                .collect();
            let beta: Vec<f64> = (0..q)
                .map(|r| (0..q).map(|s| ainv[(r, s)] * hty[s]).sum())
                .collect();
            let resid: Vec<f64> = (0..30)
                .map(|t| y[t] - (0..q).map(|j| h[t][j] * beta[j]).sum::<f64>())
                .collect();
            let xin = Inputs::new(m, 3, xs.clone()).unwrap();
            let ks = kernel_matrix(&k, &theta[..4], &x, Some(&xin)).unwrap();
            for i in (0..m).step_by(7) {
                let kcol: Vec<f64> = (0..30).map(|t| ks[(t, i)]).collect();
                let kik: Vec<f64> = (0..30)
                    .map(|r| (0..30).map(|s| kinv[(r, s)] * kcol[s]).sum())
                    .collect();
                let hs = hrow(&xs[i * 3..i * 3 + 3]);
                let u: Vec<f64> = (0..q)
                    .map(|j| hs[j] - (0..30).map(|t| kih[t][j] * kcol[t]).sum::<f64>())
                    .collect();
                let mean_d = (0..q).map(|j| hs[j] * beta[j]).sum::<f64>()
                    + (0..30).map(|t| kik[t] * resid[t]).sum::<f64>();
                let var_d = theta[0] - (0..30).map(|t| kcol[t] * kik[t]).sum::<f64>()
                    + (0..q)
                        .map(|r| (0..q).map(|s| u[r] * ainv[(r, s)] * u[s]).sum::<f64>())
                        .sum::<f64>();
                assert!(
                    (m1[i] - mean_d).abs() < 1e-8,
                    "{family:?} {i}: mean {} vs {mean_d}",
                    m1[i]
                );
                assert!(
                    (v1[i] - var_d.max(0.0)).abs() < 1e-8,
                    "{family:?} {i}: var {} vs {var_d}",
                    v1[i]
                );
                assert!((m1[i] - m2[i]).abs() < 1e-10 && (v1[i] - v2[i]).abs() < 1e-10);
            }
        }
    }
}
