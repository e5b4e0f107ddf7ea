//! State-space Matérn GPs: the Kalman-filter likelihood, its gradient and the RTS-smoother
//! predictions equal those of the dense exact GP with the same Matérn kernel (an
//! independent computation: kernel matrix + Cholesky); the SDE's implied covariance
//! `H Φ(Δ) P∞ Hᵀ` equals the Matérn kernel; the tape block against finite differences.

use mechml_engine::ad::Tape;
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_gradient};
use mechml_engine::gp::statespace::StateSpaceKernel;
use mechml_engine::gp::{
    ExactGp, Inputs, Matern12, Matern32, Matern52, MaternOrder, TemporalGp, kernel_matrix,
    temporal_lml_var,
};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

const ORDERS: [MaternOrder; 3] = [
    MaternOrder::Half,
    MaternOrder::ThreeHalves,
    MaternOrder::FiveHalves,
];

fn series(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let u = Uniform::new(0.0, 10.0).unwrap();
    let e = Normal::new(0.0, 0.2).unwrap();
    let mut t: Vec<f64> = (0..n).map(|_| u.sample(&mut rng)).collect();
    t[3] = t[2]; // a repeated time
    let y = t
        .iter()
        .map(|v| (1.3 * v).sin() + e.sample(&mut rng))
        .collect();
    (t, y)
}

/// Runs `$body` with `$k` the (isotropic) Matérn kernel of `$order`.
macro_rules! with_kernel {
    ($order:expr, |$k:ident| $body:expr) => {
        match $order {
            MaternOrder::Half => {
                let $k = Matern12::isotropic();
                $body
            }
            MaternOrder::ThreeHalves => {
                let $k = Matern32::isotropic();
                $body
            }
            MaternOrder::FiveHalves => {
                let $k = Matern52::isotropic();
                $body
            }
        }
    };
}

/// The log marginal likelihood with its gradient, the likelihood alone, and the predicted
/// means and variances.
type TemporalResult = (f64, Vec<f64>, f64, (Vec<f64>, Vec<f64>));

/// The log marginal likelihood, its gradient and the predictions at `ts` of the
/// state-space GP.
fn temporal(
    order: MaternOrder,
    ell: f64,
    s2: f64,
    noise: f64,
    t: &[f64],
    y: &[f64],
    ts: &[f64],
) -> TemporalResult {
    with_kernel!(order, |k| {
        let gp = TemporalGp::new(k, t, y, &[s2, ell, noise]).unwrap();
        let (v, g) = gp.lml_and_grad(&gp.params()).unwrap();
        let lml = gp.log_marginal_likelihood().unwrap();
        (v, g, lml, gp.predict(ts).unwrap())
    })
}

/// Posterior mean and variance at test inputs.
type Predictor = Box<dyn Fn(&[f64]) -> (Vec<f64>, Vec<f64>)>;

/// The dense exact GP with the same kernel.
fn dense(
    order: MaternOrder,
    ell: f64,
    s2: f64,
    noise: f64,
    t: &[f64],
    y: &[f64],
) -> (f64, Vec<f64>, Predictor) {
    let x = Inputs::from_1d(t).unwrap();
    macro_rules! go {
        ($k:expr) => {{
            let gp = ExactGp::new($k, x.clone(), y, &[s2, ell, noise]).unwrap();
            let r = gp.lml_and_grad(&gp.params()).unwrap();
            // (log σ², log ℓ, log σ_n²), the temporal GP's order too.
            let grad = r.grad_unconstrained.clone();
            let post = gp.posterior().unwrap();
            let pred = move |ts: &[f64]| {
                let p = post.predict(&Inputs::from_1d(ts).unwrap(), false).unwrap();
                (
                    (0..ts.len()).map(|i| p.mean[(i, 0)]).collect(),
                    p.var.clone(),
                )
            };
            (
                r.value,
                grad,
                Box::new(pred) as Box<dyn Fn(&[f64]) -> (Vec<f64>, Vec<f64>)>,
            )
        }};
    }
    match order {
        MaternOrder::Half => go!(Matern12::isotropic()),
        MaternOrder::ThreeHalves => go!(Matern32::isotropic()),
        MaternOrder::FiveHalves => go!(Matern52::isotropic()),
    }
}

#[test]
fn kalman_likelihood_gradient_and_predictions_equal_the_dense_gp() {
    let (t, y) = series(80, 1);
    for order in ORDERS {
        for (ell, s2, noise) in [(0.7, 1.3, 0.05), (2.5, 0.4, 0.3)] {
            // Predictions before, between, at and after the data.
            let ts = [-1.0, 0.37, t[5], 4.999, 9.5, 12.0];
            let (v, g, lml, (m, var)) = temporal(order, ell, s2, noise, &t, &y, &ts);
            let (dv, dg, dpred) = dense(order, ell, s2, noise, &t, &y);
            assert!((v - dv).abs() < 1e-9 * dv.abs(), "{order:?}: {v} vs {dv}");
            for k in 0..3 {
                assert!(
                    (g[k] - dg[k]).abs() < 1e-8 * dg[k].abs().max(1.0),
                    "{order:?} grad {k}: {} vs {}",
                    g[k],
                    dg[k]
                );
            }
            assert!((lml - v).abs() < 1e-12 * v.abs());
            let (dm, dvar) = dpred(&ts);
            for i in 0..ts.len() {
                assert!(
                    (m[i] - dm[i]).abs() < 1e-8,
                    "{order:?} mean at {}: {} vs {}",
                    ts[i],
                    m[i],
                    dm[i]
                );
                assert!(
                    (var[i] - dvar[i]).abs() < 1e-8,
                    "{order:?} var at {}: {} vs {}",
                    ts[i],
                    var[i],
                    dvar[i]
                );
            }
        }
    }
}

#[test]
fn sde_covariance_is_the_matern_kernel() {
    // k(Δ) = H Φ(Δ) P∞ Hᵀ, and Q(Δ) = P∞ − Φ P∞ Φᵀ is positive semi-definite.
    for order in ORDERS {
        let (ell, s2) = (0.8f64, 1.7f64);
        let q = order.state_dim();
        let theta = [s2, ell];
        let pinf = with_kernel!(order, |k| k.stationary_covariance(&theta));
        let x = Inputs::from_1d(&[0.0]).unwrap();
        for dt in [0.0, 0.05, 0.3, 1.0, 4.0] {
            let mut phi = vec![0.0; q * q];
            with_kernel!(order, |k| k.transition_into(&theta, dt, &mut phi).unwrap());
            let mut k = 0.0;
            for j in 0..q {
                k += phi[j * q] * pinf[j];
            }
            let xs = Inputs::from_1d(&[dt]).unwrap();
            let want = match order {
                MaternOrder::Half => {
                    kernel_matrix(&Matern12::isotropic(), &[s2, ell], &x, Some(&xs)).unwrap()
                        [(0, 0)]
                }
                MaternOrder::ThreeHalves => {
                    kernel_matrix(&Matern32::isotropic(), &[s2, ell], &x, Some(&xs)).unwrap()
                        [(0, 0)]
                }
                MaternOrder::FiveHalves => {
                    kernel_matrix(&Matern52::isotropic(), &[s2, ell], &x, Some(&xs)).unwrap()
                        [(0, 0)]
                }
            };
            assert!(
                (k - want).abs() < 1e-13,
                "{order:?} Δ = {dt}: {k} vs {want}"
            );
            let qm = faer::Mat::<f64>::from_fn(q, q, |i, j| {
                let mut s = pinf[i + j * q];
                for a in 0..q {
                    for b in 0..q {
                        s -= phi[i + a * q] * pinf[a + b * q] * phi[j + b * q];
                    }
                }
                s
            });
            let eig = qm.self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
            assert!(
                eig.iter().all(|e| *e > -1e-12),
                "{order:?} Q({dt}) eigenvalues {eig:?}"
            );
        }
    }
}

#[test]
fn unsorted_input_and_tape_block() {
    let (t, y) = series(40, 2);
    let gp = TemporalGp::new(Matern32::isotropic(), &t, &y, &[1.0, 1.0, 0.1]).unwrap();
    let mut rev_t = t.clone();
    let mut rev_y = y.clone();
    rev_t.reverse();
    rev_y.reverse();
    let gp2 = TemporalGp::new(Matern32::isotropic(), &rev_t, &rev_y, &[1.0, 1.0, 0.1]).unwrap();
    assert_eq!(
        gp.log_marginal_likelihood().unwrap(),
        gp2.log_marginal_likelihood().unwrap()
    );
    // The block needs sorted times.
    let tape = Tape::new();
    let p = tape.var_vec(&gp.params());
    assert!(temporal_lml_var(&tape, gp.kernel(), &p, &t, &y).is_err());
    let (ts, ys) = (gp.times().to_vec(), {
        let mut idx: Vec<usize> = (0..t.len()).collect();
        idx.sort_by(|&a, &b| t[a].total_cmp(&t[b]));
        idx.iter().map(|&i| y[i]).collect::<Vec<_>>()
    });
    for order in ORDERS {
        let tape = Tape::new();
        let p0 = [0.3, -0.2, -1.5];
        let pv = tape.var_vec(&p0);
        let l = with_kernel!(order, |k| temporal_lml_var(&tape, &k, &pv, &ts, &ys)).unwrap();
        let s = tape
            .mul(
                &mechml_engine::ad::VarVec::constant(vec![2.0]),
                &tape.stack(&[l]).unwrap(),
            )
            .unwrap();
        let total = tape.sum(&s).unwrap();
        let g = tape.gradient(&total).unwrap().wrt_vec(&pv);
        let value = |p: &[f64]| {
            with_kernel!(order, |k| TemporalGp::new(
                k,
                &ts,
                &ys,
                &[p[0].exp(), p[1].exp(), p[2].exp()]
            )
            .unwrap()
            .log_marginal_likelihood()
            .map(|v| 2.0 * v))
        };
        let rep = check_gradient(value, &p0, &g, GradCheckOptions::tol(1e-7, 1e-8)).unwrap();
        assert!(rep.passed, "{order:?}: {rep}");
    }
}

#[test]
fn fit_recovers_hyperparameters_within_posterior_uncertainty() {
    // Simulate from the dense Matérn-3/2 GP, fit in state-space form; the truth must lie
    // within 4 Laplace posterior standard deviations (as for the exact GP).
    let n = 400;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
    let u = Uniform::new(0.0, 40.0).unwrap();
    let t: Vec<f64> = (0..n).map(|_| u.sample(&mut rng)).collect();
    let (ell, s2, noise) = (1.5f64, 0.8f64, 0.05f64);
    let x = Inputs::from_1d(&t).unwrap();
    let mut c = kernel_matrix(&Matern32::isotropic(), &[s2, ell], &x, None).unwrap();
    for i in 0..n {
        c[(i, i)] += noise;
    }
    let l = c.llt(faer::Side::Lower).unwrap();
    let z = faer::Mat::<f64>::from_fn(n, 1, |_, _| rand_distr::StandardNormal.sample(&mut rng));
    let yv = l.L() * z;
    let y: Vec<f64> = (0..n).map(|i| yv[(i, 0)]).collect();
    let mut gp = TemporalGp::new(Matern32::isotropic(), &t, &y, &[2.0, 0.5, 0.5]).unwrap();
    let rep = gp.fit(&Default::default()).unwrap();
    assert!(rep.optim.converged(), "{:?}", rep.optim.termination);
    let th = gp.params();
    let h = 1e-4;
    let mut hess = faer::Mat::<f64>::zeros(3, 3);
    for j in 0..3 {
        let mut p = th.clone();
        p[j] += h;
        let gp_ = gp.lml_and_grad(&p).unwrap().1;
        p[j] -= 2.0 * h;
        let gm = gp.lml_and_grad(&p).unwrap().1;
        for i in 0..3 {
            hess[(i, j)] = -(gp_[i] - gm[i]) / (2.0 * h);
        }
    }
    let hs = faer::Mat::<f64>::from_fn(3, 3, |i, j| 0.5 * (hess[(i, j)] + hess[(j, i)]));
    let cov = mechml_engine::linalg::Llt::factor(hs.as_ref(), faer::Par::Seq)
        .unwrap()
        .inverse(faer::Par::Seq);
    let truth = [s2.ln(), ell.ln(), noise.ln()];
    for i in 0..3 {
        let sd = cov[(i, i)].sqrt();
        assert!(
            (th[i] - truth[i]).abs() <= 4.0 * sd,
            "parameter {i}: {} vs {} (sd {sd})",
            th[i],
            truth[i]
        );
    }
}
