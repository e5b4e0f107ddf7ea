//! Exact diffuse initialisation (Durbin & Koopman 2012, §5.2–5.3, §7.2.2): the diffuse
//! log-likelihood of the local-level model against the likelihood of its first
//! differences (closed form), every model against the limit `log L_κ + (q/2) log κ` of the
//! ordinary filter with the proper prior `N(m₁, κ P∞ + P*)` as `κ → ∞` (first-order
//! convergence), gradients against finite differences, and the tape block (gradients and
//! Hessian–vector products) against the same.
#![allow(clippy::needless_range_loop)]

use faer::Mat;
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ad::{Dual, Real, Tape, Var};
use mechml_engine::ssm::{
    DiffuseInit, LinearGaussianSsm, Observations, Seq, diffuse_head, diffuse_kalman_loglik,
    diffuse_kalman_loglik_grad, diffuse_kalman_loglik_tape, kalman_loglik,
};
use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

mod ssm_common;
use ssm_common::{flatten, unflatten};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

fn uniform(rng: &mut Xoshiro256PlusPlus, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A random walk observed with noise.
fn local_level_data(t_len: usize, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut x = 1.5;
    (0..t_len)
        .map(|_| {
            x += uniform(&mut rng, -0.5, 0.5);
            x + uniform(&mut rng, -0.3, 0.3)
        })
        .collect()
}

#[test]
fn local_level_equals_the_likelihood_of_first_differences() {
    // y_t = μ_t + ε_t, μ_{t+1} = μ_t + η_t: Δy_t = η_{t−1} + ε_t − ε_{t−1} is MA(1) with
    // Var = 2σ_ε² + σ_η², Cov(Δy_t, Δy_{t+1}) = −σ_ε², and log L_d = −½ log 2π + log p(Δy).
    for (t_len, s_eps, s_eta) in [(2, 0.5, 0.3), (25, 0.2, 0.7), (60, 1.3, 0.05)] {
        let y = local_level_data(t_len, t_len as u64);
        let model = LinearGaussianSsm::time_invariant(
            1,
            1,
            vec![1.0],
            vec![s_eta],
            vec![1.0],
            vec![s_eps],
            vec![0.7],
            vec![0.0],
        )
        .unwrap();
        let data = Observations::univariate(y.clone()).unwrap();
        let ll = diffuse_kalman_loglik(&model, &DiffuseInit::all(1), &data).unwrap();
        let dy: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
        let k = dy.len();
        let cov = Mat::<f64>::from_fn(k, k, |i, j| match i.abs_diff(j) {
            0 => 2.0 * s_eps + s_eta,
            1 => -s_eps,
            _ => 0.0,
        });
        let want = -0.5 * LN_2PI + ssm_common::dense_mvn_logpdf(&dy, &vec![0.0; k], &cov);
        assert!(
            (ll - want).abs() < 1e-11 * want.abs().max(1.0),
            "T = {t_len}: diffuse {ll} vs differences {want}"
        );
        let head = diffuse_head(&model, &DiffuseInit::all(1), &data).unwrap();
        assert_eq!(head.steps, 1);
    }
}

/// The local linear trend (level and slope both diffuse), with an input on the level and a
/// missing observation inside the diffuse period.
fn local_linear_trend(t_len: usize, seed: u64) -> (LinearGaussianSsm<f64>, Observations) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let model = LinearGaussianSsm {
        f: Seq::constant(2, 2, vec![1.0, 0.0, 1.0, 1.0]).unwrap(),
        b: Seq::constant(2, 1, vec![0.4, 0.0]).unwrap(),
        c: Seq::constant(2, 1, vec![0.05, -0.02]).unwrap(),
        q: Seq::constant(2, 2, vec![0.3, 0.02, 0.02, 0.05]).unwrap(),
        h: Seq::constant(1, 2, vec![1.0, 0.0]).unwrap(),
        d: Seq::constant(1, 1, vec![0.1]).unwrap(),
        r: Seq::constant(1, 1, vec![0.4]).unwrap(),
        m1: vec![0.3, -0.2],
        p1: vec![0.2, 0.05, 0.05, 0.1],
    };
    let mut y: Vec<f64> = (0..t_len)
        .map(|t| 0.3 * t as f64 + uniform(&mut rng, -1.0, 1.0))
        .collect();
    y[1] = f64::NAN;
    let u: Vec<f64> = (0..t_len).map(|_| uniform(&mut rng, -1.0, 1.0)).collect();
    (model, Observations::new(t_len, 1, y, 1, u).unwrap())
}

/// Three states (a diffuse random walk, a stationary AR(1) with a proper prior, a diffuse
/// constant), two series with diagonal, time-varying noise, one component missing.
fn partially_diffuse(t_len: usize, seed: u64) -> (LinearGaussianSsm<f64>, Observations) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (n, m) = (3, 2);
    let mut h = Vec::new();
    let mut r = Vec::new();
    for _ in 0..t_len {
        for _ in 0..m * n {
            h.push(uniform(&mut rng, -1.0, 1.0));
        }
        r.extend([
            uniform(&mut rng, 0.2, 0.6),
            0.0,
            0.0,
            uniform(&mut rng, 0.2, 0.6),
        ]);
    }
    let model = LinearGaussianSsm {
        f: Seq::constant(n, n, vec![1.0, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.0, 1.0]).unwrap(),
        b: Seq::zeros(n, 0),
        c: Seq::zeros(n, 1),
        q: Seq::constant(n, n, vec![0.2, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0]).unwrap(),
        h: Seq::varying(m, n, t_len, h).unwrap(),
        d: Seq::constant(m, 1, vec![0.1, -0.1]).unwrap(),
        r: Seq::varying(m, m, t_len, r).unwrap(),
        m1: vec![0.0, 0.0, 0.0],
        p1: vec![0.0, 0.0, 0.0, 0.0, 0.5 / (1.0 - 0.49), 0.0, 0.0, 0.0, 0.0],
    };
    let mut y: Vec<f64> = (0..t_len * m)
        .map(|_| uniform(&mut rng, -2.0, 2.0))
        .collect();
    y[1] = f64::NAN;
    (
        model,
        Observations::new(t_len, m, y, 0, Vec::new()).unwrap(),
    )
}

/// `log L_κ + (q/2) log κ` under the proper prior `N(m₁, κ P∞ + P*)`.
fn large_kappa(
    model: &LinearGaussianSsm<f64>,
    p_inf: &[f64],
    q: usize,
    data: &Observations,
    kappa: f64,
) -> f64 {
    let mut proper = model.clone();
    for (p, &pi) in proper.p1.iter_mut().zip(p_inf) {
        *p += kappa * pi;
    }
    kalman_loglik(&proper, data).unwrap() + 0.5 * q as f64 * kappa.ln()
}

#[test]
fn diffuse_loglik_is_the_limit_of_a_large_finite_kappa() {
    let y = local_level_data(30, 7);
    let level = LinearGaussianSsm::time_invariant(
        1,
        1,
        vec![1.0],
        vec![0.4],
        vec![1.0],
        vec![0.3],
        vec![0.0],
        vec![0.0],
    )
    .unwrap();
    let (trend, trend_data) = local_linear_trend(30, 3);
    let (part, part_data) = partially_diffuse(20, 5);
    let cases = [
        (
            level,
            DiffuseInit::all(1),
            1,
            Observations::univariate(y).unwrap(),
        ),
        (trend, DiffuseInit::all(2), 2, trend_data),
        (part, DiffuseInit::states(3, &[0, 2]).unwrap(), 2, part_data),
    ];
    for (case, (model, init, q, data)) in cases.iter().enumerate() {
        let ll = diffuse_kalman_loglik(model, init, data).unwrap();
        let e6 = large_kappa(model, init.p_inf(), *q, data, 1e6) - ll;
        let e7 = large_kappa(model, init.p_inf(), *q, data, 1e7) - ll;
        assert!(e6.abs() < 1e-4, "case {case}: κ = 1e6 misses by {e6}");
        // First-order convergence in 1/κ: ten times closer at ten times κ.
        let ratio = e6 / e7;
        assert!(
            (5.0..20.0).contains(&ratio),
            "case {case}: errors {e6:e} (κ = 1e6) and {e7:e} (κ = 1e7)"
        );
    }
}

/// Indices into [`flatten`] of the off-diagonal entries of R (held at zero: the diffuse
/// period needs a diagonal R).
fn r_off_diagonal(model: &LinearGaussianSsm<f64>) -> Vec<usize> {
    let start: usize = [&model.f, &model.b, &model.c, &model.q, &model.h, &model.d]
        .iter()
        .map(|s| s.data().len())
        .sum();
    let m = model.r.rows();
    (0..model.r.data().len())
        .filter(|k| !(k % (m * m)).is_multiple_of(m + 1))
        .map(|k| start + k)
        .collect()
}

#[test]
fn gradient_matches_finite_differences() {
    let (trend, trend_data) = local_linear_trend(12, 11);
    let (part, part_data) = partially_diffuse(8, 13);
    let level = LinearGaussianSsm::time_invariant(
        1,
        1,
        vec![0.9],
        vec![0.4],
        vec![1.2],
        vec![0.3],
        vec![0.1],
        vec![0.2],
    )
    .unwrap();
    let level_data = Observations::univariate(local_level_data(10, 2)).unwrap();
    let cases = [
        (trend, DiffuseInit::all(2), trend_data),
        (part, DiffuseInit::states(3, &[0, 2]).unwrap(), part_data),
        (level, DiffuseInit::all(1), level_data),
    ];
    for (case, (model, init, data)) in cases.iter().enumerate() {
        let (ll, grad) = diffuse_kalman_loglik_grad(model, init, data, 1.0).unwrap();
        assert!((ll - diffuse_kalman_loglik(model, init, data).unwrap()).abs() < 1e-12);
        let x0 = flatten(model);
        let held = r_off_diagonal(model);
        let free: Vec<usize> = (0..x0.len()).filter(|i| !held.contains(i)).collect();
        let z0: Vec<f64> = free.iter().map(|&i| x0[i]).collect();
        let numeric = finite_diff_gradient(
            |z| {
                let mut x = x0.clone();
                for (k, &i) in free.iter().enumerate() {
                    x[i] = z[k];
                }
                diffuse_kalman_loglik(&unflatten(model, &x), init, data)
            },
            &z0,
            Some(1e-4),
        )
        .unwrap();
        let analytic = flatten(&grad);
        for (k, &i) in free.iter().enumerate() {
            let (a, b) = (analytic[i], numeric[k]);
            assert!(
                (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
                "case {case}: component {i}: gradient {a} vs finite difference {b}"
            );
        }
        // Scaling by the output adjoint.
        let (_, g2) = diffuse_kalman_loglik_grad(model, init, data, -2.5).unwrap();
        for (a, b) in flatten(&g2).iter().zip(&analytic) {
            assert!((a + 2.5 * b).abs() < 1e-10 * b.abs().max(1.0));
        }
    }
}

/// The diffuse log-likelihood of the local linear trend as a function of
/// `θ = (q_level, q_slope, r, φ)` with the slope's transition `φ`, recorded on `tape`.
fn trend_loglik<'t, S: Real + Send + 'static>(
    tape: &'t Tape<S>,
    theta: &[Var<'t, S>],
    data: &Observations,
) -> Result<Var<'t, S>> {
    let c = |x: f64| Var::constant(S::from_f64(x));
    let model = LinearGaussianSsm {
        f: Seq::constant(2, 2, vec![c(1.0), c(0.0), c(1.0), theta[3]])?,
        b: Seq::constant(2, 1, vec![c(0.4), c(0.0)])?,
        c: Seq::zeros(2, 1),
        q: Seq::constant(2, 2, vec![theta[0], c(0.0), c(0.0), theta[1]])?,
        h: Seq::constant(1, 2, vec![c(1.0), c(0.0)])?,
        d: Seq::zeros(1, 1),
        r: Seq::constant(1, 1, vec![theta[2]])?,
        m1: vec![c(0.0), c(0.0)],
        p1: vec![c(0.0); 4],
    };
    diffuse_kalman_loglik_tape(tape, &model, &DiffuseInit::all(2), data)
}

#[test]
fn tape_block_gradient_and_hessian_vector_products() {
    let (_, data) = local_linear_trend(40, 17);
    let theta0 = [0.3, 0.05, 0.4, 0.95];
    let grad_at = |x: &[f64]| -> Vec<f64> {
        let tape = Tape::new();
        let th = tape.vars(x);
        let ll = trend_loglik(&tape, &th, &data).unwrap();
        tape.gradient(&ll).unwrap().wrt_slice(&th)
    };
    let value_at = |x: &[f64]| -> Result<f64> {
        let tape = Tape::new();
        let th = tape.vars(x);
        Ok(trend_loglik(&tape, &th, &data)?.val())
    };
    let g0 = grad_at(&theta0);
    let fd = finite_diff_gradient(value_at, &theta0, None).unwrap();
    for i in 0..4 {
        assert!(
            (g0[i] - fd[i]).abs() < 1e-6 * fd[i].abs().max(1.0),
            "dL/dθ[{i}] = {} vs finite difference {}",
            g0[i],
            fd[i]
        );
    }
    // Forward over reverse on Tape<Dual>.
    let v = [0.2, -0.1, 0.3, 0.05];
    let tape: Tape<Dual> = Tape::with_capacity_generic(1 << 10);
    let th: Vec<Var<'_, Dual>> = theta0
        .iter()
        .zip(&v)
        .map(|(&x, &d)| tape.var(Dual::dual(x, d)))
        .collect();
    let ll = trend_loglik(&tape, &th, &data).unwrap();
    let g: Vec<Dual> = tape.gradient(&ll).unwrap().wrt_slice(&th);
    let h = 1e-5;
    let xp: Vec<f64> = theta0.iter().zip(&v).map(|(x, d)| x + h * d).collect();
    let xm: Vec<f64> = theta0.iter().zip(&v).map(|(x, d)| x - h * d).collect();
    let (gp, gm) = (grad_at(&xp), grad_at(&xm));
    for i in 0..4 {
        assert!((g[i].value() - g0[i]).abs() < 1e-9 * g0[i].abs().max(1.0));
        let fd = (gp[i] - gm[i]) / (2.0 * h);
        assert!(
            (g[i].tangent() - fd).abs() < 1e-5 * fd.abs().max(1.0),
            "(Hv)[{i}] = {} vs finite difference {fd}",
            g[i].tangent()
        );
    }
}

#[test]
fn bad_inputs_are_errors() {
    assert!(matches!(
        DiffuseInit::new(2, vec![1.0, 0.5, 0.0, 1.0]),
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        DiffuseInit::new(1, vec![-1.0]),
        Err(Error::InvalidOption { .. })
    ));
    assert!(DiffuseInit::new(2, vec![1.0; 3]).is_err());
    assert!(DiffuseInit::states(2, &[2]).is_err());
    assert!(DiffuseInit::all(1).with_tolerance(0.0).is_err());
    // A correlated observation noise during the diffuse period.
    let (mut model, data) = partially_diffuse(4, 1);
    model.r.data_mut()[1] = 0.05;
    model.r.data_mut()[2] = 0.05;
    let init = DiffuseInit::states(3, &[0, 2]).unwrap();
    let mut data = data;
    data.y[1] = 0.3;
    assert!(matches!(
        diffuse_kalman_loglik(&model, &init, &data),
        Err(Error::InvalidOption { .. })
    ));
    // A diffuse prior of the wrong dimension.
    assert!(diffuse_kalman_loglik(&model, &DiffuseInit::all(2), &data).is_err());
}

/// Reference values from statsmodels 0.15.0 (`KalmanFilter` with exact diffuse
/// initialisation, `llf_obs.sum()`), computed outside the project for these data (see the
/// test's comments for the set-up).
#[test]
fn agrees_with_statsmodels() {
    // Local linear trend, both states diffuse (statsmodels: `Initialization(2, 'diffuse')`),
    // state intercept (0.05 + 0.4 u_t, −0.02), y_2 missing: llf = −15.286829357625185,
    // 3 diffuse steps.
    let y = vec![
        0.547912,
        f64::NAN,
        1.317196,
        1.294736,
        0.388355,
        2.451245,
        2.322279,
        2.672129,
        1.656227,
        2.600772,
        2.741596,
        4.15353,
    ];
    let u = vec![
        0.28773, 0.645523, -0.113172, -0.545523, 0.10917, -0.872365, 0.655262, 0.263329, 0.516175,
        -0.290948, 0.941396, 0.786242,
    ];
    let data = Observations::new(12, 1, y, 1, u).unwrap();
    let (mut model, _) = local_linear_trend(2, 0);
    model.m1 = vec![0.0, 0.0];
    model.p1 = vec![0.0; 4];
    let init = DiffuseInit::all(2);
    let ll = diffuse_kalman_loglik(&model, &init, &data).unwrap();
    assert!((ll - -15.286829357625185).abs() < 1e-10, "{ll}");
    assert_eq!(diffuse_head(&model, &init, &data).unwrap().steps, 3);

    // Three states (diffuse random walk, AR(1) with known stationary prior 0.5/0.51, diffuse
    // constant), two series, time-varying design and diagonal noise, y_{1,2} missing:
    // llf = −18.76172198136854, 2 diffuse steps.
    let h = vec![
        0.556767, 0.40053, 0.489524, 0.364991, -0.740157, 0.410331, -0.610723, -0.375267, 0.935019,
        -0.720495, -0.04859, 0.561458, -0.066558, 0.66452, -0.348349, -0.600184, -0.546181,
        -0.082168, -0.912392, 0.609529, -0.259081, -0.985275, 0.339628, 0.137482, -0.691421,
        -0.225043, -0.060888, 0.573849, -0.125696, -0.720406, 0.366098, -0.423344, -0.621057,
        0.329702, 0.665356, -0.77094,
    ];
    let r_diag = [
        0.467361, 0.423683, 0.388438, 0.32158, 0.426094, 0.212327, 0.506, 0.374687, 0.453887,
        0.285834, 0.421432, 0.363411,
    ];
    let y = vec![
        1.413612,
        f64::NAN,
        -1.064242,
        1.135593,
        -1.766789,
        0.657254,
        -0.874464,
        -0.374453,
        -0.825625,
        1.256082,
        0.647666,
        -1.332108,
    ];
    let mut r = Vec::new();
    for t in 0..6 {
        r.extend([r_diag[2 * t], 0.0, 0.0, r_diag[2 * t + 1]]);
    }
    let (mut model, _) = partially_diffuse(6, 0);
    model.h = Seq::varying(2, 3, 6, h).unwrap();
    model.r = Seq::varying(2, 2, 6, r).unwrap();
    let data = Observations::new(6, 2, y, 0, Vec::new()).unwrap();
    let init = DiffuseInit::states(3, &[0, 2]).unwrap();
    let ll = diffuse_kalman_loglik(&model, &init, &data).unwrap();
    assert!((ll - -18.76172198136854).abs() < 1e-10, "{ll}");
    assert_eq!(diffuse_head(&model, &init, &data).unwrap().steps, 2);
}
