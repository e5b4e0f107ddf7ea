//! The Kalman filter, its adjoint and the RTS smoother against a dense joint-Gaussian
//! computation of the same model (no recursion shared), and finite differences.
#![allow(clippy::needless_range_loop)]

mod ssm_common;
use ssm_common as common;
use ssm_common::{flatten, unflatten};

use common::{dense_mvn_logpdf, dense_obs_moments, dense_posterior, random_data, random_model};
use mechml_engine::ad::Tape;
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ssm::adjoint::kalman_loglik_grad;
use mechml_engine::ssm::kalman::{kalman_filter, kalman_loglik};
use mechml_engine::ssm::loglik_op::{KalmanGradient, kalman_loglik_tape};
use mechml_engine::ssm::simulate::simulate;
use mechml_engine::ssm::smoother::rts_smoother;
use mechml_engine::ssm::{LinearGaussianSsm, Observations};
use rand::SeedableRng;

fn dense_loglik(model: &LinearGaussianSsm<f64>, data: &Observations) -> f64 {
    let (idx, mean, cov, _) = dense_obs_moments(model, data);
    let y: Vec<f64> = idx.iter().map(|&(t, i)| data.y_at(t)[i]).collect();
    dense_mvn_logpdf(&y, &mean, &cov)
}

#[test]
fn loglik_equals_dense_multivariate_normal() {
    // (n, m, k) covering scalar and vector observations, inputs, and the generic path (n = 5).
    for (case, &(n, m, k)) in [(1, 1, 0), (2, 1, 1), (3, 2, 2), (4, 3, 1), (5, 2, 0)]
        .iter()
        .enumerate()
    {
        let t_len = 9;
        let model = random_model(n, m, k, t_len, 11 + case as u64);
        let data = random_data(m, k, t_len, 5 + case as u64);
        let ll = kalman_loglik(&model, &data).unwrap();
        let dense = dense_loglik(&model, &data);
        assert!(
            (ll - dense).abs() <= 1e-10 * dense.abs().max(1.0),
            "n={n} m={m}: kalman {ll} vs dense {dense}"
        );
        let out = kalman_filter(&model, &data).unwrap();
        assert!((out.loglik - ll).abs() < 1e-12 * ll.abs().max(1.0));
    }
}

#[test]
fn filtered_and_smoothed_moments_equal_dense_conditionals() {
    let (n, m, k, t_len) = (3, 2, 1, 8);
    let model = random_model(n, m, k, t_len, 3);
    let data = random_data(m, k, t_len, 4);
    let filt = kalman_filter(&model, &data).unwrap();
    let sm = rts_smoother(&model, &filt).unwrap();
    // Smoother: E[x_t | y_{1:T}] from the dense posterior.
    let (mean, cov) = dense_posterior(&model, &data);
    for t in 0..t_len {
        for i in 0..n {
            let d = mean[t * n + i];
            assert!(
                (sm.mean_at(t)[i] - d).abs() < 1e-10,
                "smoothed mean t={t} i={i}"
            );
            for j in 0..n {
                let dc = cov[(t * n + i, t * n + j)];
                assert!(
                    (sm.cov_at(t)[i + j * n] - dc).abs() < 1e-10,
                    "smoothed cov t={t}"
                );
            }
        }
    }
    // Filter: E[x_t | y_{1:t}] from the dense posterior of the truncated series.
    for t in 0..t_len {
        let mut y = data.y.clone();
        for v in y.iter_mut().skip((t + 1) * m) {
            *v = f64::NAN;
        }
        let trunc = Observations::new(t_len, m, y, k, data.u.clone()).unwrap();
        let (mean, cov) = dense_posterior(&model, &trunc);
        for i in 0..n {
            assert!((filt.filt_mean_at(t)[i] - mean[t * n + i]).abs() < 1e-10);
            for j in 0..n {
                assert!(
                    (filt.filt_cov_at(t)[i + j * n] - cov[(t * n + i, t * n + j)]).abs() < 1e-10
                );
            }
        }
    }
}

#[test]
fn adjoint_gradient_matches_finite_differences() {
    for (case, &(n, m, k, varying)) in [
        (2, 1, 1, true),
        (3, 2, 2, true),
        (5, 2, 1, true),
        (2, 1, 0, false),
    ]
    .iter()
    .enumerate()
    {
        let t_len = 7;
        let mut model = random_model(n, m, k, t_len, 21 + case as u64);
        if !varying {
            // Constant matrices: gradients accumulate over time.
            let first = |s: &mechml_engine::ssm::Seq<f64>| {
                mechml_engine::ssm::Seq::constant(s.rows(), s.cols(), s.at(0).to_vec()).unwrap()
            };
            model.f = first(&model.f);
            model.q = first(&model.q);
            model.h = first(&model.h);
            model.r = first(&model.r);
            model.c = first(&model.c);
            model.d = first(&model.d);
            model.b = first(&model.b);
        }
        let data = random_data(m, k, t_len, 31 + case as u64);
        let (ll, grad) = kalman_loglik_grad(&model, &data, 1.0).unwrap();
        assert!((ll - kalman_loglik(&model, &data).unwrap()).abs() < 1e-12 * ll.abs().max(1.0));
        let analytic = flatten(&grad);
        let x0 = flatten(&model);
        let numeric = finite_diff_gradient(
            |x| kalman_loglik(&unflatten(&model, x), &data),
            &x0,
            Some(1e-4),
        )
        .unwrap();
        for (i, (a, b)) in analytic.iter().zip(&numeric).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
                "case {case}: component {i}: adjoint {a} vs finite difference {b}"
            );
        }
        // Scaling by the output adjoint.
        let (_, g2) = kalman_loglik_grad(&model, &data, -2.5).unwrap();
        for (a, b) in flatten(&g2).iter().zip(&analytic) {
            assert!((a + 2.5 * b).abs() < 1e-10 * b.abs().max(1.0));
        }
    }
}

#[test]
fn simulation_moments_match_dense_moments() {
    let (n, m, k, t_len) = (2, 1, 1, 5);
    let model = random_model(n, m, k, t_len, 41);
    let data = random_data(m, k, t_len, 42);
    let (mx, px) = common::dense_state_moments(&model, &data);
    let reps = 4000;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let dim = n * t_len;
    let mut sum = vec![0.0; dim];
    let mut sq = vec![0.0; dim];
    for _ in 0..reps {
        let sim = simulate(&model, t_len, &data.u, &mut rng).unwrap();
        for r in 0..dim {
            sum[r] += sim.states[r];
            sq[r] += sim.states[r] * sim.states[r];
        }
    }
    for r in 0..dim {
        let mean = sum[r] / reps as f64;
        let var = sq[r] / reps as f64 - mean * mean;
        let se = (px[(r, r)] / reps as f64).sqrt();
        assert!(
            (mean - mx[r]).abs() < 4.5 * se,
            "mean {r}: {mean} vs {}",
            mx[r]
        );
        // Var of the sample variance ≈ 2σ⁴/N for a normal.
        let se_v = px[(r, r)] * (2.0 / reps as f64).sqrt();
        assert!(
            (var - px[(r, r)]).abs() < 4.5 * se_v,
            "var {r}: {var} vs {}",
            px[(r, r)]
        );
    }
}

#[test]
fn bad_inputs_are_errors() {
    let model = random_model(2, 1, 0, 4, 1);
    // Wrong observation dimension.
    let data = Observations::new(4, 2, vec![0.0; 8], 0, vec![]).unwrap();
    assert!(kalman_loglik(&model, &data).is_err());
    // Too few time-varying matrices.
    let data = Observations::univariate(vec![0.0; 6]).unwrap();
    assert!(kalman_loglik(&model, &data).is_err());
    // Infinite observation.
    assert!(Observations::univariate(vec![0.0, f64::INFINITY]).is_err());
    // Zero observation noise with a certain state: innovation variance 0 → error naming the step.
    let m0 = LinearGaussianSsm::time_invariant(
        1,
        1,
        vec![1.0],
        vec![0.0],
        vec![1.0],
        vec![0.0],
        vec![0.0],
        vec![0.0],
    )
    .unwrap();
    let err = kalman_loglik(&m0, &Observations::univariate(vec![1.0]).unwrap()).unwrap_err();
    assert!(err.to_string().contains("step 0"), "{err}");
}

#[test]
fn steady_state_shortcut_agrees_with_the_full_recursion() {
    // Time-invariant model, long series with gaps: kalman_loglik holds the converged
    // covariance fixed; kalman_filter (which stores every moment) never does.
    for n in 1..=4 {
        let m = random_model(n, 1, 1, 1, 70 + n as u64);
        let first = |s: &mechml_engine::ssm::Seq<f64>| {
            mechml_engine::ssm::Seq::constant(s.rows(), s.cols(), s.at(0).to_vec()).unwrap()
        };
        let model = LinearGaussianSsm {
            f: first(&m.f),
            b: first(&m.b),
            c: first(&m.c),
            q: first(&m.q),
            h: first(&m.h),
            d: first(&m.d),
            r: first(&m.r),
            m1: m.m1.clone(),
            p1: m.p1.clone(),
        };
        let t_len = 3000;
        let y: Vec<f64> = (0..t_len)
            .map(|t| {
                if t % 997 == 500 {
                    f64::NAN
                } else {
                    (t as f64 * 0.37).sin()
                }
            })
            .collect();
        let u: Vec<f64> = (0..t_len).map(|t| (t as f64 * 0.011).cos()).collect();
        let data = Observations::new(t_len, 1, y, 1, u).unwrap();
        let fast = kalman_loglik(&model, &data).unwrap();
        let full = kalman_filter(&model, &data).unwrap().loglik;
        assert!(
            (fast - full).abs() < 1e-11 * full.abs(),
            "n={n}: {fast} vs {full}"
        );
        // The gradient with the shortcut (hand-written adjoint, which reuses the frozen
        // covariance) against the recorded pass through the full recursion (tape
        // variables never take the shortcut), entry by entry of every matrix ...
        let (ll_g, g) = kalman_loglik_grad(&model, &data, 1.0).unwrap();
        assert!((ll_g - full).abs() < 1e-11 * full.abs());
        let tape = Tape::new();
        let mv = model.map(|v| tape.var(v));
        let ll = kalman_loglik_tape(&tape, &mv, &data, KalmanGradient::Recorded).unwrap();
        let adj = tape.gradient(&ll).unwrap();
        let mut n_checked = 0;
        let mats = [
            ("F", &mv.f, &g.f),
            ("B", &mv.b, &g.b),
            ("c", &mv.c, &g.c),
            ("Q", &mv.q, &g.q),
            ("H", &mv.h, &g.h),
            ("d", &mv.d, &g.d),
            ("R", &mv.r, &g.r),
        ];
        let vecs = [("m1", &mv.m1, &g.m1), ("P1", &mv.p1, &g.p1)];
        let all = mats.iter().map(|(n, v, g)| (*n, v.data(), g.data())).chain(
            vecs.iter()
                .map(|(n, v, g)| (*n, v.as_slice(), g.as_slice())),
        );
        for (name, vars, grads) in all {
            for (i, (v, &gv)) in vars.iter().zip(grads).enumerate() {
                let r = adj.wrt(v);
                assert!(
                    (gv - r).abs() < 1e-8 * r.abs().max(1.0),
                    "n={n}: d ll / d {name}[{i}]: shortcut {gv} vs full recursion {r}"
                );
                n_checked += 1;
            }
        }
        assert_eq!(n_checked, 3 * n * n + 4 * n + 2);
        // ... and against central differences of the full recursion's log-likelihood.
        for (which, i) in [("F", 0), ("Q", n * n - 1), ("H", n - 1), ("R", 0)] {
            let full_at = |delta: f64| {
                let mut mm = model.clone();
                let m = match which {
                    "F" => &mut mm.f,
                    "Q" => &mut mm.q,
                    "H" => &mut mm.h,
                    _ => &mut mm.r,
                };
                m.data_mut()[i] += delta;
                kalman_filter(&mm, &data).unwrap().loglik
            };
            let h = 1e-6;
            let fd = (full_at(h) - full_at(-h)) / (2.0 * h);
            let an = match which {
                "F" => g.f.data()[i],
                "Q" => g.q.data()[i],
                "H" => g.h.data()[i],
                _ => g.r.data()[i],
            };
            assert!(
                (an - fd).abs() < 1e-5 * an.abs().max(1.0),
                "n={n}: d ll / d {which}[{i}]: {an} vs finite differences {fd}"
            );
        }
    }
}
