//! Exact GP regression: reference values of WORKLOADS.md §7 (N = 500 and N = 2000, from
//! JAX / GPJax / scikit-learn), gradients against finite differences (parameters, inputs
//! and outputs), multi-output against single-output sums, predictions (one and several
//! outputs) against a textbook Gauss–Jordan solve, the jitter policy and its final error
//! for a matrix that stays indefinite, and recovery of hyperparameters (1-D, and ARD in
//! 2-D) from data simulated from a GP with tolerances from the Laplace approximation of
//! the posterior.

use faer::{Mat, Side};
use mechml_engine::Error;
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_gradient, finite_diff_gradient};
use mechml_engine::ad::{Tape, VarMat};
use mechml_engine::gp::{
    ExactGp, ExactGpOptions, Inputs, Kernel, KernelExt, Linear, LmlGradient, Matern52, Periodic,
    SquaredExponential, exact_lml_var, kernel_matrix,
};
use mechml_engine::linalg::JitterPolicy;
use mechml_engine::optim::FitOptions;
use mechml_engine::param::ParamLayout;
use mechml_engine::testing::gauss_jordan_inverse;
use mechml_engine::testing::gp_workloads::{data_dir, read_csv, theta0};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

fn data(name: &str) -> (Inputs, Vec<f64>) {
    read_csv(&data_dir().join(name), None).unwrap()
}

/// The workload's θ₀ (WORKLOADS.md: log ℓ₁, log ℓ₂, log ℓ₃, log σ², log σ_n²) in the
/// model's order and scale: (σ², ℓ₁, ℓ₂, ℓ₃, σ_n²).
fn workload_theta() -> Vec<f64> {
    let t = theta0();
    [t[3], t[0], t[1], t[2], t[4]]
        .iter()
        .map(|v| v.exp())
        .collect()
}

/// The WORKLOADS.md order of the reference gradients, by name.
const WORKLOAD_NAMES: [&str; 5] = [
    "lengthscale[0]",
    "lengthscale[1]",
    "lengthscale[2]",
    "variance",
    "noise_variance",
];

fn workload_gp(name: &str) -> ExactGp<SquaredExponential> {
    let (x, y) = data(name);
    let k = SquaredExponential::ard(3).unwrap();
    ExactGp::new(k, x, &y, &workload_theta()).unwrap()
}

/// The unconstrained (log-scale) gradient in the WORKLOADS.md order.
fn workload_grad(gp: &ExactGp<SquaredExponential>, g: &[f64]) -> Vec<f64> {
    WORKLOAD_NAMES
        .iter()
        .map(|n| g[gp.layout().index_of(n).unwrap()])
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// The LML and its gradient at θ₀ on a workload file against the reference values of
/// `WORKLOADS.md` §7 (relative 1e-10 and 1e-8); returns the GP and the result.
fn check_workload(
    file: &str,
    lml: f64,
    want: [f64; 5],
) -> (ExactGp<SquaredExponential>, LmlGradient) {
    let gp = workload_gp(file);
    let r = gp.lml_and_grad(&workload_theta()).unwrap();
    assert!(rel(r.value, lml) < 1e-10, "{}", r.value);
    for (g, w) in workload_grad(&gp, &r.grad_unconstrained).iter().zip(want) {
        assert!(rel(*g, w) < 1e-8, "{g} vs {w}");
    }
    (gp, r)
}

#[test]
fn workload_reference_n500() {
    // WORKLOADS.md §7: GP N=500 LML and dLML/dθ at θ₀ (peers agree to 1e-9).
    let (gp, r) = check_workload(
        "gp_n500.csv",
        350.83923886704724,
        [
            19.845231014337184,
            33.52562072584594,
            25.08609860914811,
            -11.391308138561499,
            3.9202299201394575,
        ],
    );
    assert_eq!(r.jitter.jitter_added, 0.0);
    assert!((gp.log_marginal_likelihood().unwrap() - r.value).abs() < 1e-12 * r.value.abs());
}

#[test]
fn workload_reference_n2000() {
    check_workload(
        "gp_n2000.csv",
        1604.0850656004363,
        [
            47.89557426343208,
            53.07102728863305,
            38.57817962060049,
            -18.069304006266066,
            41.33615259979178,
        ],
    );
}

fn small_problem(n: usize, seed: u64) -> (Inputs, Mat<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let u = Uniform::new(-1.0, 1.0).unwrap();
    let x: Vec<f64> = (0..2 * n).map(|_| u.sample(&mut rng)).collect();
    let y = Mat::from_fn(n, 2, |i, j| {
        (3.0 * x[2 * i] + j as f64).sin() + x[2 * i + 1] * x[2 * i + 1] + 0.1 * u.sample(&mut rng)
    });
    (Inputs::new(n, 2, x).unwrap(), y)
}

#[test]
fn gradients_match_finite_differences() {
    // On the unconstrained scale (z = log θ) and on the natural one, at the same points.
    let (x, y) = small_problem(12, 1);
    let y0: Vec<f64> = (0..12).map(|i| y[(i, 0)]).collect();
    type Objective<'a> = Box<dyn Fn(&[f64], bool) -> (f64, Vec<f64>) + 'a>;
    type Case<'a> = Box<dyn Fn() -> (Vec<f64>, Objective<'a>) + 'a>;
    let kernels: Vec<Case<'_>> = vec![
        Box::new(|| {
            // θ = (σ², ℓ₁, ℓ₂, σ_n²).
            let theta = [1.3, 0.4, 0.9, 0.05];
            let gp =
                ExactGp::new(SquaredExponential::ard(2).unwrap(), x.clone(), &y0, &theta).unwrap();
            (
                gp.params(),
                Box::new(move |p: &[f64], log: bool| {
                    let r = gp.lml_and_grad(p).unwrap();
                    (r.value, if log { r.grad_unconstrained } else { r.grad })
                }),
            )
        }),
        Box::new(|| {
            let k = Matern52::isotropic().plus(Linear::ard(2).unwrap());
            // θ = (k0.σ², k0.ℓ, k1.σ₁², k1.σ₂², σ_n²).
            let theta = [1.0, 0.7, 0.3, 0.2, 0.02];
            let gp = ExactGp::new_multi(k, x.clone(), y.as_ref(), &theta).unwrap();
            (
                gp.params(),
                Box::new(move |p: &[f64], log: bool| {
                    let r = gp.lml_and_grad(p).unwrap();
                    (r.value, if log { r.grad_unconstrained } else { r.grad })
                }),
            )
        }),
    ];
    for make in kernels {
        let (p0, f) = make();
        let z: Vec<f64> = p0
            .iter()
            .enumerate()
            .map(|(i, v)| v.ln() + 0.1 * (i as f64).sin())
            .collect();
        let p: Vec<f64> = z.iter().map(|v| v.exp()).collect();
        for log in [true, false] {
            let at = if log { &z } else { &p };
            let (_, g) = f(&p, log);
            let rep = check_gradient(
                |q| {
                    let th: Vec<f64> = if log {
                        q.iter().map(|v| v.exp()).collect()
                    } else {
                        q.to_vec()
                    };
                    Ok(f(&th, log).0)
                },
                at,
                &g,
                GradCheckOptions {
                    // On the natural scale the fourth-order finite difference of the small
                    // noise variance (curvature ∝ 1/σ_n⁴) is accurate to ~10⁻⁶ only.
                    rtol: if log { 1e-7 } else { 1e-6 },
                    atol: 1e-8,
                    rel_step: None,
                },
            )
            .unwrap();
            assert!(rep.passed, "log scale {log}: {rep}");
        }
    }
}

#[test]
fn tape_block_gradients_in_inputs_and_outputs() {
    let (x, y) = small_problem(9, 2);
    let k = SquaredExponential::ard(2).unwrap();
    // θ = (σ², ℓ₁, ℓ₂, σ_n²), natural scale on the tape.
    let p = vec![1.1, 0.5, 0.8, 0.03];
    let xv = x.to_col_major();
    let yv: Vec<f64> = (0..2)
        .flat_map(|j| (0..9).map(move |i| (i, j)))
        .map(|(i, j)| y[(i, j)])
        .collect();
    let opts = ExactGpOptions::default();
    let tape = Tape::new();
    let pv = tape.var_vec(&p);
    let xm = tape.var_mat(9, 2, &xv).unwrap();
    let ym = tape.var_mat(9, 2, &yv).unwrap();
    let (lml, _) = exact_lml_var(&tape, &k, &pv, &xm, &ym, &opts).unwrap();
    let adj = tape.gradient(&lml).unwrap();
    let mut analytic = adj.wrt_vec(&pv);
    analytic.extend(adj.wrt_mat(&xm));
    analytic.extend(adj.wrt_mat(&ym));
    let mut z = p.clone();
    z.extend(&xv);
    z.extend(&yv);
    let value = |z: &[f64]| {
        let t = Tape::new();
        let pv = mechml_engine::ad::VarVec::constant(z[..4].to_vec());
        let xm = VarMat::constant(9, 2, z[4..22].to_vec()).unwrap();
        let ym = VarMat::constant(9, 2, z[22..].to_vec()).unwrap();
        Ok(exact_lml_var(&t, &k, &pv, &xm, &ym, &opts)?.0.val())
    };
    let rep = check_gradient(value, &z, &analytic, GradCheckOptions::tol(1e-7, 1e-8)).unwrap();
    assert!(rep.passed, "{rep}");
    // The log-likelihood composes with other tape operations.
    assert!(
        (lml.val()
            - ExactGp::new_multi(k, x, y.as_ref(), &p)
                .unwrap()
                .log_marginal_likelihood()
                .unwrap())
        .abs()
            < 1e-12
    );
}

#[test]
fn multi_output_is_the_sum_of_single_outputs() {
    let (x, y) = small_problem(15, 3);
    let k = Matern52::ard(2).unwrap();
    let theta = [1.2, 0.6, 0.9, 0.04];
    let multi = ExactGp::new_multi(k.clone(), x.clone(), y.as_ref(), &theta).unwrap();
    let r = multi.lml_and_grad(&multi.params()).unwrap();
    let mut value = 0.0;
    let mut grad = vec![0.0; r.grad.len()];
    for j in 0..2 {
        let yj: Vec<f64> = (0..15).map(|i| y[(i, j)]).collect();
        let single = ExactGp::new(k.clone(), x.clone(), &yj, &theta).unwrap();
        let s = single.lml_and_grad(&single.params()).unwrap();
        value += s.value;
        grad.iter_mut().zip(&s.grad).for_each(|(a, b)| *a += b);
    }
    assert!((r.value - value).abs() < 1e-12 * value.abs());
    for (a, b) in r.grad.iter().zip(&grad) {
        assert!((a - b).abs() < 1e-11 * b.abs().max(1.0));
    }
}

#[test]
fn predictions_match_textbook_formulas() {
    let (x, y) = small_problem(10, 4);
    let y0: Vec<f64> = (0..10).map(|i| y[(i, 0)]).collect();
    let k = SquaredExponential::ard(2).unwrap();
    let tk = [1.4, 0.5, 0.7];
    let noise = 0.03;
    let gp = ExactGp::new(k.clone(), x.clone(), &y0, &[1.4, 0.5, 0.7, noise]).unwrap();
    let xs = Inputs::from_rows(&[[0.1, 0.2], [-0.5, 0.9], [6.0, -6.0]]).unwrap();
    let pred = gp.posterior().unwrap().predict(&xs, true).unwrap();
    let mut ky = kernel_matrix(&k, &tk, &x, None).unwrap();
    for i in 0..10 {
        ky[(i, i)] += noise;
    }
    let kinv = gauss_jordan_inverse(ky.as_ref()).unwrap();
    let ks = kernel_matrix(&k, &tk, &x, Some(&xs)).unwrap();
    let kss = kernel_matrix(&k, &tk, &xs, None).unwrap();
    let mean = ks.transpose() * &kinv * Mat::from_fn(10, 1, |i, _| y0[i]);
    let cov = &kss - ks.transpose() * &kinv * &ks;
    let pc = pred.cov.as_ref().unwrap();
    for i in 0..3 {
        assert!((pred.mean[(i, 0)] - mean[(i, 0)]).abs() < 1e-10);
        assert!((pred.var[i] - cov[(i, i)]).abs() < 1e-10);
        for j in 0..3 {
            assert!((pc[(i, j)] - cov[(i, j)]).abs() < 1e-10);
        }
        assert!((pred.var_y()[i] - pred.var[i] - noise).abs() < 1e-15);
    }
    // Far from the data the posterior reverts to the prior.
    assert!(pred.mean[(2, 0)].abs() < 1e-6 && (pred.var[2] - 1.4).abs() < 1e-6);
}

#[test]
fn jitter_escalates_and_reports_or_errors() {
    // Duplicated inputs with negligible noise: K + σ²I is numerically singular.
    let x = Inputs::from_1d(&[0.0, 0.5, 0.5, 1.0, 1.0, 1.0]).unwrap();
    let y = [0.0, 0.4, 0.41, 0.8, 0.79, 0.81];
    let k = SquaredExponential::isotropic();
    let gp = ExactGp::new(k.clone(), x.clone(), &y, &[1.0, 1.0, 1e-300]).unwrap();
    let r = gp.lml_and_grad(&gp.params()).unwrap();
    assert!(
        r.jitter.jitter_added > 0.0 && r.jitter.attempts >= 2,
        "{:?}",
        r.jitter
    );
    assert!(r.value.is_finite());
    // Without a jitter policy the failure is an error naming the pivot.
    let strict = ExactGp::new(k, x, &y, &[1.0, 1.0, 1e-300])
        .unwrap()
        .with_options(ExactGpOptions {
            jitter: JitterPolicy::none(),
            ..Default::default()
        });
    match strict.log_marginal_likelihood() {
        Err(Error::NotPositiveDefinite { pivot, .. }) => assert!(pivot >= 1),
        other => panic!("expected NotPositiveDefinite, got {other:?}"),
    }
}

#[test]
fn bad_input_is_an_error() {
    let x = Inputs::from_1d(&[0.0, 1.0]).unwrap();
    let k = SquaredExponential::isotropic();
    let th = [1.0, 1.0, 0.1];
    assert!(matches!(
        ExactGp::new(k.clone(), x.clone(), &[1.0], &th),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        ExactGp::new(k.clone(), x.clone(), &[1.0, f64::NAN], &th),
        Err(Error::NonFinite { .. })
    ));
    assert!(ExactGp::new(k.clone(), x.clone(), &[1.0, 2.0], &[1.0, 1.0, -0.1]).is_err());
    let gp = ExactGp::new(k, x, &[1.0, 2.0], &th).unwrap();
    assert!(gp.lml_and_grad(&[0.0]).is_err());
    // σ² = e⁸⁰⁰ (the log-scale input of before) is infinite on the natural scale.
    assert!(gp.lml_and_grad(&[f64::INFINITY, 1.0, 1.0]).is_err());
    // A non-finite kernel matrix is named, with and without the gradient (which keeps K
    // for its pullback and checks it while copying): a linear kernel with σ² = 10³⁰⁸
    // overflows at x = 2 (a stationary kernel is bounded by its finite variance).
    let x5 = Inputs::from_1d(&[0.0, 0.3, 0.9, 1.4, 2.0]).unwrap();
    let mut gp = ExactGp::new(
        Linear::isotropic(),
        x5,
        &[1.0, 2.0, 0.5, -0.3, 0.1],
        &[1.0, 0.1],
    )
    .unwrap();
    assert!(matches!(
        gp.lml_and_grad(&[1e308, 0.1]),
        Err(Error::NonFinite { .. })
    ));
    gp.set_params(&[1e308, 0.1]).unwrap();
    assert!(matches!(
        gp.log_marginal_likelihood(),
        Err(Error::NonFinite { .. })
    ));
    // The pooled buffers stay usable after the errors.
    gp.set_params(&[1.0, 0.1]).unwrap();
    let r = gp.lml_and_grad(&gp.params()).unwrap();
    assert!((r.value - gp.log_marginal_likelihood().unwrap()).abs() < 1e-12);
    // A value outside its parameter's support is an option error naming the parameter.
    match gp.set_param("noise_variance", 0.0) {
        Err(Error::InvalidOption { name, .. }) => assert_eq!(name, "noise_variance"),
        other => panic!("expected InvalidOption, got {other:?}"),
    }
}

/// Draws `n` points of a 1-D GP with an isotropic squared-exponential kernel plus noise.
fn simulate(n: usize, ell: f64, s2: f64, noise: f64, seed: u64) -> (Inputs, Vec<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let u = Uniform::new(0.0, 20.0).unwrap();
    let x = Inputs::from_1d(&(0..n).map(|_| u.sample(&mut rng)).collect::<Vec<_>>()).unwrap();
    let mut c = kernel_matrix(&SquaredExponential::isotropic(), &[s2, ell], &x, None).unwrap();
    for i in 0..n {
        c[(i, i)] += noise;
    }
    let l = c.llt(Side::Lower).unwrap();
    let z = Mat::<f64>::from_fn(n, 1, |_, _| StandardNormal.sample(&mut rng));
    let y = l.L() * z;
    (x, (0..n).map(|i| y[(i, 0)]).collect())
}

/// `−∇² log p` on the log scale at `z = log θ`, by central differences of the analytic
/// gradient (step 10⁻⁴).
fn log_scale_hessian<K: Kernel>(gp: &ExactGp<K>, z: &[f64]) -> Mat<f64> {
    let n = z.len();
    let h = 1e-4;
    let grad = |z: &[f64]| {
        let th: Vec<f64> = z.iter().map(|v| v.exp()).collect();
        gp.lml_and_grad(&th).unwrap().grad_unconstrained
    };
    let mut hess = Mat::<f64>::zeros(n, n);
    for j in 0..n {
        let mut p = z.to_vec();
        p[j] += h;
        let gp_ = grad(&p);
        p[j] -= 2.0 * h;
        let gm = grad(&p);
        for i in 0..n {
            hess[(i, j)] = -(gp_[i] - gm[i]) / (2.0 * h);
        }
    }
    Mat::from_fn(n, n, |i, j| 0.5 * (hess[(i, j)] + hess[(j, i)]))
}

#[test]
fn fit_recovers_hyperparameters_within_posterior_uncertainty() {
    // θ* = (log σ², log ℓ, log σ_n²). Under a flat prior on θ the posterior is
    // approximately N(θ̂, H⁻¹), H = −∇² log p(y | θ̂) (Laplace; MacKay 2003, ch. 27). θ*
    // must lie within 4 posterior standard deviations of θ̂ in each coordinate.
    let truth = [2.0f64.ln(), 1.3f64.ln(), 0.1f64.ln()];
    for seed in [11, 12] {
        let (x, y) = simulate(250, 1.3, 2.0, 0.1, seed);
        let mut gp =
            ExactGp::new(SquaredExponential::isotropic(), x, &y, &[0.5, 0.5, 0.5]).unwrap();
        let opts = FitOptions {
            hessian: true,
            ..FitOptions::default()
        };
        let report = gp.fit(&opts).unwrap();
        assert!(report.optim.converged(), "{:?}", report.optim.termination);
        // The trace starts at the initial point and decreases −log p monotonically.
        assert_eq!(report.optim.trace[0].iteration, 0);
        assert!(
            report
                .optim
                .trace
                .windows(2)
                .all(|w| w[1].value <= w[0].value)
        );
        assert!((report.lml + report.optim.value).abs() < 1e-9 * report.lml.abs());
        let th: Vec<f64> = gp.params().iter().map(|v| v.ln()).collect();
        let hs = log_scale_hessian(&gp, &th);
        let cov = gauss_jordan_inverse(hs.as_ref()).unwrap();
        // The fit's own observed information and standard errors agree.
        let fh = report.hessian.as_ref().unwrap();
        let se = report.std_errors.as_ref().unwrap();
        for i in 0..3 {
            for j in 0..3 {
                assert!((fh[(i, j)] - hs[(i, j)]).abs() < 1e-6 * hs[(i, i)].abs().max(1.0));
            }
            assert!((se[i] - cov[(i, i)].sqrt()).abs() < 1e-6 * se[i]);
        }
        for i in 0..3 {
            assert!(
                cov[(i, i)] > 0.0,
                "posterior variance {i} not positive: {:?}",
                cov[(i, i)]
            );
            let sd = cov[(i, i)].sqrt();
            assert!(
                (th[i] - truth[i]).abs() <= 4.0 * sd,
                "seed {seed}, parameter {i}: fitted {} vs true {} (posterior sd {sd})",
                th[i],
                truth[i]
            );
        }
    }
}

#[test]
fn finite_difference_of_the_value_agrees_at_the_workload_point() {
    // The N = 500 workload gradient, checked by finite differences as well as by reference.
    let gp = workload_gp("gp_n500.csv");
    let t: Vec<f64> = workload_theta().iter().map(|v| v.ln()).collect();
    let g = gp
        .lml_and_grad(&workload_theta())
        .unwrap()
        .grad_unconstrained;
    let value = |z: &[f64]| {
        let th: Vec<f64> = z.iter().map(|v| v.exp()).collect();
        gp.lml_and_grad(&th).map(|r| r.value)
    };
    let fd = finite_diff_gradient(value, &t, None).unwrap();
    for (a, b) in g.iter().zip(&fd) {
        assert!((a - b).abs() < 1e-6 * a.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn multi_output_predictions_match_textbook_formulas() {
    // Two outputs sharing the kernel: the m × p mean is K_*ᵀ K_y⁻¹ Y, the variance and
    // covariance are the outputs' common K_** − K_*ᵀ K_y⁻¹ K_* (R&W eqs. 2.23–2.24), with
    // K_y⁻¹ by Gauss–Jordan elimination (independent of the Cholesky path).
    let (x, y) = small_problem(14, 6);
    let k = Matern52::ard(2).unwrap().plus(Linear::isotropic());
    let tk = [1.2, 0.6, 0.9, 0.2];
    let noise = 0.02;
    let theta = [1.2, 0.6, 0.9, 0.2, noise];
    let gp = ExactGp::new_multi(k.clone(), x.clone(), y.as_ref(), &theta).unwrap();
    let xs = Inputs::from_rows(&[[0.1, 0.2], [-0.5, 0.9], [0.95, -0.8], [3.0, 3.0]]).unwrap();
    let pred = gp.posterior().unwrap().predict(&xs, true).unwrap();
    assert_eq!((pred.mean.rows, pred.mean.cols), (4, 2));
    let mut ky = kernel_matrix(&k, &tk, &x, None).unwrap();
    for i in 0..14 {
        ky[(i, i)] += noise;
    }
    let kinv = gauss_jordan_inverse(ky.as_ref()).unwrap();
    let ks = kernel_matrix(&k, &tk, &x, Some(&xs)).unwrap();
    let kss = kernel_matrix(&k, &tk, &xs, None).unwrap();
    let mean = ks.transpose() * &kinv * &y;
    let cov = &kss - ks.transpose() * &kinv * &ks;
    let pc = pred.cov.as_ref().unwrap();
    for i in 0..4 {
        for j in 0..2 {
            assert!(
                (pred.mean[(i, j)] - mean[(i, j)]).abs() < 1e-10 * mean[(i, j)].abs().max(1.0),
                "mean ({i}, {j}): {} vs {}",
                pred.mean[(i, j)],
                mean[(i, j)]
            );
        }
        assert!((pred.var[i] - cov[(i, i)]).abs() < 1e-10 * kss[(i, i)]);
        for j in 0..4 {
            assert!((pc[(i, j)] - cov[(i, j)]).abs() < 1e-10 * kss[(i, i)]);
        }
    }
    // Each output's mean equals that of a single-output GP on that column.
    for j in 0..2 {
        let yj: Vec<f64> = (0..14).map(|i| y[(i, j)]).collect();
        let single = ExactGp::new(k.clone(), x.clone(), &yj, &theta)
            .unwrap()
            .posterior()
            .unwrap()
            .predict(&xs, false)
            .unwrap();
        for i in 0..4 {
            assert!((single.mean[(i, 0)] - pred.mean[(i, j)]).abs() < 1e-12);
        }
    }
}

/// Not a covariance function: `k(x, x') = 1 − (x − x')²` (its matrix on 0, 1, 2 has the
/// eigenvalue −2), as a user might write by mistake.
#[derive(Clone, Debug)]
struct NotPsd;

impl Kernel for NotPsd {
    fn layout(&self) -> mechml_engine::Result<ParamLayout> {
        Ok(ParamLayout::default())
    }
    fn eval<R: mechml_engine::ad::Real>(&self, _: &[R], x: &[R], y: &[R]) -> R {
        R::one() - (x[0] - y[0]).square()
    }
}

#[test]
fn still_indefinite_after_the_whole_jitter_policy_is_an_error() {
    // K + σ²I = [[a, 0, −3], [0, a, 0], [−3, 0, a]] with a = 1 + σ² (x = 0, 1, 2). With
    // jitter δ the Cholesky's third pivot is (a + δ) − 9/(a + δ) < 0 for any δ the policy
    // tries; the error must come from its *last* attempt, δ = initial · factorᵏ⁻¹ · mean
    // diagonal with k = max_tries.
    let x = Inputs::from_1d(&[0.0, 1.0, 2.0]).unwrap();
    let y = [0.1, -0.2, 0.3];
    let noise = 0.01;
    let a = 1.0 + noise;
    for policy in [
        JitterPolicy::default(),
        JitterPolicy {
            initial: 1e-8,
            factor: 100.0,
            max_tries: 2,
        },
    ] {
        let last = policy.initial * policy.factor.powi(policy.max_tries as i32 - 1) * a;
        let want = (a + last) - 9.0 / (a + last);
        let gp = ExactGp::new(NotPsd, x.clone(), &y, &[noise])
            .unwrap()
            .with_options(ExactGpOptions {
                jitter: policy,
                ..Default::default()
            });
        let check = |r: Error| match &r {
            Error::NotPositiveDefinite { op, pivot, value } => {
                assert_eq!(*pivot, 2, "{r}");
                assert!(
                    (value - want).abs() < 1e-12 * want.abs(),
                    "pivot value {value} vs {want} (the last jitter {last:e})"
                );
                let msg = r.to_string();
                assert!(
                    op.contains("stays indefinite after the jitter policy")
                        && msg.contains("raise the noise or the jitter")
                        && msg.contains("pivot 2"),
                    "{msg}"
                );
            }
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        };
        check(gp.log_marginal_likelihood().unwrap_err());
        check(gp.lml_and_grad(&gp.params()).unwrap_err());
        check(gp.posterior().map(|_| ()).unwrap_err());
        check(
            gp.clone()
                .fit(&FitOptions::default())
                .map(|_| ())
                .unwrap_err(),
        );
        let tape = Tape::new();
        let pv = tape.var_vec(&gp.params());
        let xm = VarMat::constant(3, 1, vec![0.0, 1.0, 2.0]).unwrap();
        let ym = VarMat::constant(3, 1, y.to_vec()).unwrap();
        let opts = ExactGpOptions {
            jitter: policy,
            ..Default::default()
        };
        check(
            exact_lml_var(&tape, &NotPsd, &pv, &xm, &ym, &opts)
                .map(|_| ())
                .unwrap_err(),
        );
    }
}

/// `n` points in `[0, 4]²` and one draw of a GP with an ARD squared-exponential kernel
/// plus noise.
fn simulate_ard(n: usize, ell: [f64; 2], s2: f64, noise: f64, seed: u64) -> (Inputs, Vec<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let u = Uniform::new(0.0, 4.0).unwrap();
    let x = Inputs::new(n, 2, (0..2 * n).map(|_| u.sample(&mut rng)).collect()).unwrap();
    let k = SquaredExponential::ard(2).unwrap();
    let mut c = kernel_matrix(&k, &[s2, ell[0], ell[1]], &x, None).unwrap();
    for i in 0..n {
        c[(i, i)] += noise;
    }
    let l = c.llt(Side::Lower).unwrap();
    let z = Mat::<f64>::from_fn(n, 1, |_, _| StandardNormal.sample(&mut rng));
    let y = l.L() * z;
    (x, (0..n).map(|i| y[(i, 0)]).collect())
}

#[test]
fn fit_recovers_ard_hyperparameters_in_two_dimensions() {
    // θ* = (log σ², log ℓ₁, log ℓ₂, log σ_n²) with lengthscales a factor 4 apart. Laplace
    // approximation of the posterior under a flat prior: N(θ̂, H⁻¹) with H the Hessian of
    // −log p(y | θ) at θ̂ (MacKay 2003, ch. 27), so (θ* − θ̂)ᵀ H (θ* − θ̂) ~ χ²₄; require it
    // below the 0.999 quantile 18.47, and each coordinate within 4 posterior sd.
    let truth = [1.5f64.ln(), 0.4f64.ln(), 1.6f64.ln(), 0.05f64.ln()];
    let (x, y) = simulate_ard(200, [0.4, 1.6], 1.5, 0.05, 21);
    let k = SquaredExponential::ard(2).unwrap();
    let mut gp = ExactGp::new(k, x, &y, &[0.5, 1.0, 1.0, 0.5]).unwrap();
    let report = gp.fit(&FitOptions::default()).unwrap();
    assert!(report.optim.converged(), "{:?}", report.optim.termination);
    let th: Vec<f64> = gp.params().iter().map(|v| v.ln()).collect();
    let hs = log_scale_hessian(&gp, &th);
    let cov = gauss_jordan_inverse(hs.as_ref()).unwrap();
    let dev: Vec<f64> = (0..4).map(|i| th[i] - truth[i]).collect();
    let maha: f64 = (0..4)
        .flat_map(|i| (0..4).map(move |j| (i, j)))
        .map(|(i, j)| dev[i] * hs[(i, j)] * dev[j])
        .sum();
    assert!(
        maha < 18.47,
        "Mahalanobis distance² {maha} (fitted {th:?}, true {truth:?})"
    );
    for i in 0..4 {
        assert!(cov[(i, i)] > 0.0, "posterior variance {i}: {}", cov[(i, i)]);
        let sd = cov[(i, i)].sqrt();
        assert!(
            dev[i].abs() <= 4.0 * sd,
            "parameter {i}: fitted {} vs true {} (posterior sd {sd})",
            th[i],
            truth[i]
        );
    }
    // The data distinguish the two lengthscales (log ℓ₁, log ℓ₂ at indices 1, 2): ℓ₁ < ℓ₂
    // by many posterior sd.
    let sd_diff = (cov[(1, 1)] + cov[(2, 2)] - 2.0 * cov[(1, 2)]).sqrt();
    assert!(th[2] - th[1] > 4.0 * sd_diff, "{th:?}, sd {sd_diff}");
}

/// `σ_a² SE(ℓ) × σ_b² Periodic(ℓ_p, p)` with a variance per factor, evaluated entry by
/// entry: the design a product had before it carried one variance.
#[derive(Clone, Debug)]
struct TwoVariances;

impl Kernel for TwoVariances {
    fn layout(&self) -> mechml_engine::Result<ParamLayout> {
        let names = [
            "a.variance",
            "a.lengthscale",
            "b.variance",
            "b.lengthscale",
            "b.period",
        ];
        ParamLayout::new(
            names
                .iter()
                .map(|n| mechml_engine::param::Param::positive(*n, 1.0))
                .collect(),
        )
    }
    fn eval<R: mechml_engine::ad::Real>(&self, t: &[R], x: &[R], y: &[R]) -> R {
        let se = SquaredExponential::isotropic().eval(&t[..2], x, y);
        let per = Periodic::isotropic().eval(&t[2..], x, y);
        se * per
    }
}

#[test]
fn a_product_has_one_variance_and_a_non_singular_hessian() {
    // RBF × periodic on a noisy quasi-periodic series. With a variance per factor the two
    // log-variances have identical gradients and the Hessian of log p is singular along
    // their difference; with one variance for the product it is non-singular.
    let n = 40;
    let xs: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
    let y: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (2.0 * v).sin() * (-0.02 * v * v).exp() + 0.1 * ((i * 7 % 11) as f64 / 11.0 - 0.5)
        })
        .collect();
    let x = Inputs::from_1d(&xs).unwrap();
    let k = SquaredExponential::isotropic().times(Periodic::isotropic());
    assert_eq!(
        k.layout().unwrap().names(),
        ["variance", "k0.lengthscale", "k1.lengthscale", "k1.period"]
    );
    // σ² = σ_a² σ_b² = 1.5 · 0.8.
    let gp = ExactGp::new(k, x.clone(), &y, &[1.2, 3.0, 1.1, 3.2, 0.05]).unwrap();
    let z: Vec<f64> = gp.params().iter().map(|v| v.ln()).collect();
    let h = log_scale_hessian(&gp, &z);
    let eig = h.self_adjoint_eigenvalues(Side::Lower).unwrap();
    let (lo, hi) = eig.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v.abs()), hi.max(v.abs()))
    });
    assert!(lo > 1e-6 * hi, "eigenvalues {eig:?}");

    let old = ExactGp::new(TwoVariances, x, &y, &[1.5, 3.0, 0.8, 1.1, 3.2, 0.05]).unwrap();
    // Same kernel values, hence the same likelihood.
    let (a, b) = (
        old.log_marginal_likelihood().unwrap(),
        gp.log_marginal_likelihood().unwrap(),
    );
    assert!((a - b).abs() < 1e-10 * a.abs(), "{a} vs {b}");
    let zo: Vec<f64> = old.params().iter().map(|v| v.ln()).collect();
    let g = old.lml_and_grad(&old.params()).unwrap().grad_unconstrained;
    assert!((g[0] - g[2]).abs() < 1e-10 * g[0].abs().max(1.0), "{g:?}");
    let ho = log_scale_hessian(&old, &zo);
    // H (e_a − e_b) = 0: columns 0 and 2 agree (to the finite differences' accuracy).
    let scale = (0..6).map(|i| ho[(i, i)].abs()).fold(0.0, f64::max);
    for i in 0..6 {
        assert!(
            (ho[(i, 0)] - ho[(i, 2)]).abs() < 1e-5 * scale,
            "row {i}: {} vs {}",
            ho[(i, 0)],
            ho[(i, 2)]
        );
    }
    let eo = ho.self_adjoint_eigenvalues(Side::Lower).unwrap();
    let lo_old = eo.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
    assert!(lo_old < 1e-5 * scale, "eigenvalues {eo:?}");
}
