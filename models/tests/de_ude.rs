//! `models::de`: the gradient of a UDE loss by the three sensitivity methods against each
//! other and against finite differences; multiple shooting against single shooting;
//! bitwise reproducible training.

// Gradients are compared component by component, by index.
#![allow(clippy::needless_range_loop)]

use mechml_engine::ad::Real;
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::nn::{Activation, Init, Mlp};
use mechml_engine::ode::{Checkpointing, OdeRhs, Sensitivity};
use mechml_models::de::{
    Shooting, SolverSettings, TrainOptions, Trajectory, UdeRhs, lv_observations, lv_ude, train,
    trajectory_loss,
};

const P_TRUE: [f64; 4] = [1.3, 0.9, 1.8, 0.8];

fn lv_setup() -> (UdeRhs<mechml_models::de::LvKnown>, Vec<f64>, Trajectory) {
    let net = Mlp::new(vec![2, 6, 2])
        .unwrap()
        .with_activations(Activation::Gelu, Activation::Identity);
    let w = net.init_seeded(Init::GlorotNormal, 5);
    let ude = lv_ude(P_TRUE[0], P_TRUE[2], net).unwrap();
    let ts: Vec<f64> = (0..11).map(|k| 0.3 * k as f64).collect();
    let data = lv_observations(P_TRUE, [0.44, 4.6], &ts, 0.05, 1).unwrap();
    (ude, w, data)
}

fn settings(sensitivity: Sensitivity) -> SolverSettings {
    SolverSettings {
        rtol: 1e-10,
        atol: 1e-12,
        sensitivity,
        ..SolverSettings::default()
    }
}

/// Discrete adjoint (exact for the computed solution) = forward sensitivities (also exact)
/// to rounding; the continuous adjoint to the solver tolerance; all against fourth-order
/// central differences of the loss.
#[test]
fn ude_gradient_three_ways_and_finite_differences() {
    let (ude, w, data) = lv_setup();
    let da = trajectory_loss(&ude, &w, &data, &settings(Sensitivity::default())).unwrap();
    let fw = trajectory_loss(&ude, &w, &data, &settings(Sensitivity::Forward)).unwrap();
    let ca = trajectory_loss(
        &ude,
        &w,
        &data,
        &settings(Sensitivity::ContinuousAdjoint {
            checkpointing: Checkpointing::Auto,
        }),
    )
    .unwrap();
    let scale = da.grad.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for k in 0..w.len() {
        assert!(
            (da.grad[k] - fw.grad[k]).abs() <= 1e-9 * scale,
            "{k}: discrete {} vs forward {}",
            da.grad[k],
            fw.grad[k]
        );
        assert!(
            (da.grad[k] - ca.grad[k]).abs() <= 1e-6 * scale,
            "{k}: discrete {} vs continuous {}",
            da.grad[k],
            ca.grad[k]
        );
    }
    let s = settings(Sensitivity::Forward);
    let fd = finite_diff_gradient(
        |x| Ok(trajectory_loss(&ude, x, &data, &s)?.value),
        &w,
        Some(1e-3),
    )
    .unwrap();
    for k in 0..w.len() {
        assert!(
            (da.grad[k] - fd[k]).abs() <= 1e-6 * scale,
            "{k}: adjoint {} vs differences {}",
            da.grad[k],
            fd[k]
        );
    }
}

/// Known physics: an undamped oscillator; the truth has damping 0.3 on the velocity; the
/// "network" is linear (`y' = A y + W y + b`), so the least-squares optimum is unique.
#[derive(Clone)]
struct Oscillator;
impl OdeRhs for Oscillator {
    fn n_states(&self) -> usize {
        2
    }
    fn rhs<R: Real>(&self, _t: R, y: &[R], _p: &[R], dy: &mut [R]) {
        dy[0] = y[1];
        dy[1] = -y[0];
    }
}

fn oscillator_data(noise: f64) -> Trajectory {
    // Exact solution of x'' + 0.3 x' + x = 0, x(0) = 1, x'(0) = 0, plus fixed
    // pseudo-noise of amplitude `noise`.
    let (z, w0) = (0.15, 1.0f64);
    let wd = w0 * (1.0 - z * z).sqrt();
    let ts: Vec<f64> = (0..41).map(|k| 0.25 * k as f64).collect();
    let ys = ts
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let e = (-z * w0 * t).exp();
            let x = e * ((wd * t).cos() + z * w0 / wd * (wd * t).sin());
            let v = -e * w0 * w0 / wd * (wd * t).sin();
            vec![
                x + noise * (1.7 * k as f64).sin(),
                v + noise * (2.3 * k as f64 + 1.0).cos(),
            ]
        })
        .collect();
    Trajectory::new(ts, ys).unwrap()
}

/// Multiple shooting (segments of 4 intervals, ρ = 100) against single shooting over the
/// whole series, both from zero weights with L-BFGS. Without noise both reach the one
/// optimum (the truth `W = [[0, 0], [0, −0.3]]`, `b = 0`) to 1e-4. With noise the two
/// objectives differ (the segment starts are fitted too), so the criterion is the
/// single-shooting loss at the multiple-shooting weights within 10% of its minimum, and
/// both estimates within 0.01 of the truth.
#[test]
fn multiple_shooting_reaches_single_shooting_optimum() {
    let net = Mlp::new(vec![2, 2])
        .unwrap()
        .with_activations(Activation::Identity, Activation::Identity);
    let ude = UdeRhs::new(Oscillator, vec![], net.clone(), vec![0, 1]).unwrap();
    let w0 = vec![0.0; net.n_params()];
    let truth = [0.0, 0.0, 0.0, -0.3, 0.0, 0.0];
    let base = TrainOptions {
        solver: SolverSettings {
            rtol: 1e-9,
            atol: 1e-11,
            ..SolverSettings::default()
        },
        epochs: 0,
        lbfgs_iters: 500,
        ..TrainOptions::default()
    };
    let multiple = TrainOptions {
        shooting: Shooting::Multiple {
            segment: 4,
            rho: 100.0,
        },
        ..base.clone()
    };
    for noise in [0.0, 0.01] {
        let data = oscillator_data(noise);
        let single = train(&ude, &w0, &data, &base).unwrap();
        let multi = train(&ude, &w0, &data, &multiple).unwrap();
        let s = &base.solver;
        let ls = trajectory_loss(&ude, &single.w, &data, s).unwrap().value;
        let lm = trajectory_loss(&ude, &multi.w, &data, s).unwrap().value;
        let tol = if noise == 0.0 { 1e-4 } else { 0.01 };
        for k in 0..6 {
            assert!(
                (single.w[k] - truth[k]).abs() < tol,
                "noise {noise}: single {:?}",
                single.w
            );
            assert!(
                (multi.w[k] - truth[k]).abs() < tol,
                "noise {noise}: multiple {:?}",
                multi.w
            );
        }
        if noise == 0.0 {
            assert!(ls < 1e-8 && lm < 1e-8, "{ls} {lm}");
        } else {
            assert!(
                lm <= 1.1 * ls,
                "single-shooting loss at the multiple-shooting optimum {lm} vs {ls}"
            );
        }
    }
}

/// The same seed gives the same bits: weights, history and losses (windows shuffled by the
/// seed, Adam, validation, L-BFGS).
#[test]
fn training_is_bitwise_reproducible() {
    let (ude, w, data) = lv_setup();
    let opts = TrainOptions {
        solver: SolverSettings {
            rtol: 1e-6,
            atol: 1e-8,
            ..SolverSettings::default()
        },
        shooting: Shooting::Single {
            window: 3,
            batch: 2,
        },
        epochs: 4,
        lbfgs_iters: 3,
        n_validation: 3,
        seed: 17,
        ..TrainOptions::default()
    };
    let a = train(&ude, &w, &data, &opts).unwrap();
    let b = train(&ude, &w, &data, &opts).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.w), bits(&b.w));
    assert_eq!(a.history.len(), b.history.len());
    for (x, y) in a.history.iter().zip(&b.history) {
        assert_eq!(x.train_loss.to_bits(), y.train_loss.to_bits());
        assert_eq!(x.val_loss.to_bits(), y.val_loss.to_bits());
    }
    let c = train(
        &ude,
        &w,
        &data,
        &TrainOptions {
            seed: 18,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_ne!(
        bits(&a.w),
        bits(&c.w),
        "another seed shuffles the windows differently"
    );
}

#[test]
fn bad_inputs_are_errors() {
    let (ude, w, data) = lv_setup();
    assert!(train(&ude, &w[1..], &data, &TrainOptions::default()).is_err());
    let bad = TrainOptions {
        learning_rate: -1.0,
        ..TrainOptions::default()
    };
    assert!(train(&ude, &w, &data, &bad).is_err());
    let bad = TrainOptions {
        shooting: Shooting::Multiple {
            segment: 0,
            rho: 1.0,
        },
        ..TrainOptions::default()
    };
    assert!(train(&ude, &w, &data, &bad).is_err());
    let bad = TrainOptions {
        n_validation: data.len(),
        ..TrainOptions::default()
    };
    assert!(train(&ude, &w, &data, &bad).is_err());
    assert!(Trajectory::new(vec![0.0, 0.0], vec![vec![1.0], vec![1.0]]).is_err());
    assert!(
        UdeRhs::new(
            Oscillator,
            vec![],
            Mlp::new(vec![2, 3]).unwrap(),
            vec![0, 1]
        )
        .is_err()
    );
    assert!(
        UdeRhs::new(
            Oscillator,
            vec![],
            Mlp::new(vec![2, 2]).unwrap(),
            vec![0, 0]
        )
        .is_err()
    );
}
