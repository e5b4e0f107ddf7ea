//! Nonlinear filters: the EKF and the UKF equal the Kalman filter on linear models; the
//! particle filter's log-likelihood converges to the Kalman filter's as the number of
//! particles grows and does not depend on the number of threads; the UKF's tape gradient
//! matches finite differences; a hybrid model learns a missing nonlinearity.
#![allow(clippy::needless_range_loop)]

// The state-space test helpers are the engine's (the linear-Gaussian core lives there).
#[path = "../../engine/tests/ssm_common/mod.rs"]
mod common;

use common::{random_data, random_model};
use mechml_engine::ad::Tape;
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::optim::LbfgsOptions;
use mechml_models::ssm::Observations;
use mechml_models::ssm::kalman::kalman_filter;
use mechml_models::ssm::nonlinear::ekf::ekf;
use mechml_models::ssm::nonlinear::hybrid::{HybridSsm, Mlp, fit_hybrid, ukf_loglik_grad};
use mechml_models::ssm::nonlinear::particle::{ParticleOptions, particle_filter};
use mechml_models::ssm::nonlinear::ukf::{UkfOptions, ukf};
use mechml_models::ssm::nonlinear::{LinearAsNonlinear, NonlinearSsm};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

#[test]
fn ekf_and_ukf_equal_the_kalman_filter_on_linear_models() {
    for (case, &(n, m, k)) in [(1, 1, 0), (2, 1, 1), (3, 2, 2)].iter().enumerate() {
        let model = random_model(n, m, k, 9, 50 + case as u64);
        let data = random_data(m, k, 9, 60 + case as u64);
        let kf = kalman_filter(&model, &data).unwrap();
        let lin = LinearAsNonlinear(&model);
        let e = ekf(&lin, &[], &data).unwrap();
        for opts in [
            UkfOptions::default(),
            UkfOptions {
                alpha: 0.5,
                beta: 2.0,
                kappa: 1.0,
            },
        ] {
            let u = ukf(&lin, &[] as &[f64], &data, &opts).unwrap();
            assert!(
                (u.loglik - kf.loglik).abs() < 1e-9 * kf.loglik.abs().max(1.0),
                "UKF {} vs KF {}",
                u.loglik,
                kf.loglik
            );
            for (a, b) in u.filt_mean.iter().zip(&kf.filt_mean) {
                assert!((a - b).abs() < 1e-9);
            }
            for (a, b) in u.filt_cov.iter().zip(&kf.filt_cov) {
                assert!((a - b).abs() < 1e-9);
            }
        }
        assert!(
            (e.loglik - kf.loglik).abs() < 1e-10 * kf.loglik.abs().max(1.0),
            "EKF {} vs KF {}",
            e.loglik,
            kf.loglik
        );
        for (a, b) in e.filt_mean.iter().zip(&kf.filt_mean) {
            assert!((a - b).abs() < 1e-10);
        }
        for (a, b) in e.filt_cov.iter().zip(&kf.filt_cov) {
            assert!((a - b).abs() < 1e-10);
        }
    }
}

#[test]
fn particle_loglik_converges_to_kalman() {
    let model = random_model(2, 1, 1, 25, 7);
    let data = random_data(1, 1, 25, 8);
    let exact = kalman_filter(&model, &data).unwrap().loglik;
    let lin = LinearAsNonlinear(&model);
    let err = |np: usize| -> f64 {
        // Root-mean-square error over seeds.
        let e2: f64 = (0..6)
            .map(|s| {
                let pf = particle_filter(
                    &lin,
                    &[],
                    &data,
                    &ParticleOptions {
                        n_particles: np,
                        seed: s,
                    },
                )
                .unwrap();
                (pf.loglik - exact).powi(2)
            })
            .sum();
        (e2 / 6.0).sqrt()
    };
    let (e_small, e_mid, e_big) = (err(100), err(1_000), err(10_000));
    println!(
        "particle filter RMS error of the log-likelihood: N=100 {e_small:.4}, N=1000 {e_mid:.4}, N=10000 {e_big:.4}"
    );
    // Monte Carlo error falls like N^{-1/2}: log-log slope ≈ −0.5 over two decades.
    let slope = (e_big / e_small).ln() / 100f64.ln();
    assert!(
        slope < -0.3 && e_mid < e_small,
        "slope {slope}: {e_small} {e_mid} {e_big}"
    );
    assert!(e_big < 0.1, "N = 10000: RMS error {e_big}");
}

#[test]
fn particle_filter_is_reproducible_for_any_thread_count() {
    let model = random_model(2, 1, 1, 15, 9);
    let data = random_data(1, 1, 15, 10);
    let lin = LinearAsNonlinear(&model);
    let opts = ParticleOptions {
        n_particles: 3_000,
        seed: 42,
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| particle_filter(&lin, &[], &data, &opts).unwrap())
    };
    let (a, b, c) = (run(1), run(2), run(3));
    assert_eq!(a.loglik.to_bits(), b.loglik.to_bits());
    assert_eq!(a.loglik.to_bits(), c.loglik.to_bits());
    assert_eq!(a.filt_mean, c.filt_mean);
}

/// A two-state mechanistic model (EBM-like) with a learned correction.
fn hybrid(net: Mlp, learned_rows: Vec<usize>) -> HybridSsm {
    HybridSsm {
        n: 2,
        m: 1,
        phi: vec![0.78, 0.006, 0.077, 0.993],
        gamma: vec![0.11, 0.0004],
        q: vec![0.003, 0.0, 0.0, 1e-5],
        h: vec![1.0, 0.0],
        r: vec![0.004],
        m1: vec![0.0, 0.0],
        p1: vec![0.01, 0.0, 0.0, 0.01],
        net,
        learned_rows,
    }
}

#[test]
fn ukf_tape_gradient_matches_finite_differences() {
    let net = Mlp::new(vec![2, 3, 2]).unwrap();
    let model = hybrid(net.clone(), vec![0, 1]);
    let t = 30;
    let u: Vec<f64> = (0..t).map(|i| 0.05 * i as f64).collect();
    let y: Vec<f64> = (0..t)
        .map(|i| 0.02 * i as f64 + 0.1 * (i as f64).sin())
        .collect();
    let data = Observations::new(t, 1, y, 1, u).unwrap();
    let opts = UkfOptions::default();
    for seed in 0..3 {
        let w = net.init(seed, 0.3);
        let mut tape = Tape::new();
        let (_, g) = ukf_loglik_grad(&model, &w, &data, &opts, &mut tape).unwrap();
        let fd =
            finite_diff_gradient(|th| Ok(ukf(&model, th, &data, &opts)?.loglik), &w, None).unwrap();
        for i in 0..w.len() {
            assert!(
                (g[i] - fd[i]).abs() < 1e-6 * g[i].abs().max(1.0),
                "seed {seed}, weight {i}: {} vs {}",
                g[i],
                fd[i]
            );
        }
    }
}

#[test]
fn hybrid_model_learns_a_missing_nonlinearity() {
    // Truth: the mechanistic step plus a temperature-dependent feedback −0.04·T₁².
    let truth_net = Mlp::new(vec![2, 2]).unwrap();
    let truth = hybrid(truth_net, vec![0, 1]);
    let t_len = 300;
    let u: Vec<f64> = (0..t_len)
        .map(|i| 4.0 * (i as f64 / t_len as f64) + 0.8 * (i as f64 * 0.2).sin())
        .collect();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
    let mut x = [0.0f64, 0.0];
    let mut y = Vec::new();
    for t in 0..t_len {
        let nz: f64 = StandardNormal.sample(&mut rng);
        y.push(x[0] + truth.r[0].sqrt() * nz);
        let f = truth.transition(&[0.0; 6], t, &x, &[u[t]]);
        let w0: f64 = StandardNormal.sample(&mut rng);
        let w1: f64 = StandardNormal.sample(&mut rng);
        x = [
            f[0] - 0.04 * x[0] * x[0] + truth.q[0].sqrt() * w0,
            f[1] + truth.q[3].sqrt() * w1,
        ];
    }
    let data = Observations::new(t_len, 1, y, 1, u).unwrap();
    // A learned feedback on the surface temperature only.
    let net = Mlp::new(vec![2, 4, 1]).unwrap();
    let model = hybrid(net.clone(), vec![0]);
    let zero = vec![0.0; net.n_params()];
    let ll_mech = ukf(&model, &zero, &data, &UkfOptions::default())
        .unwrap()
        .loglik;
    let w0 = net.init(3, 0.1);
    let res = fit_hybrid(
        &model,
        &data,
        &w0,
        1e-3,
        &LbfgsOptions {
            max_iters: 300,
            ..LbfgsOptions::default()
        },
    )
    .unwrap();
    let ll_hyb = ukf(&model, &res.x, &data, &UkfOptions::default())
        .unwrap()
        .loglik;
    println!(
        "hybrid: mechanistic-only log-likelihood {ll_mech:.2}, with the learned term {ll_hyb:.2}"
    );
    assert!(ll_hyb > ll_mech + 20.0, "{ll_mech} -> {ll_hyb}");
    // Along the filtered trajectory, the learned correction to T₁ follows −0.04 T₁².
    let filt = ukf(&model, &res.x, &data, &UkfOptions::default()).unwrap();
    let (mut num, mut den) = (0.0, 0.0);
    for t in 0..t_len {
        let xs = &filt.filt_mean[2 * t..2 * t + 2];
        let g = net.forward(&res.x, xs);
        let truth_g = -0.04 * xs[0] * xs[0];
        num += (g[0] - truth_g).powi(2);
        den += truth_g.powi(2);
    }
    let rel = (num / den).sqrt();
    println!("hybrid: relative RMS error of the learned term along the trajectory {rel:.3}");
    assert!(rel < 0.25, "relative error {rel}");
}
