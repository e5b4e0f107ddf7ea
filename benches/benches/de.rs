//! Learning inside differential equations: time per training epoch of the Lotka–Volterra
//! UDE (`ude_epoch/lv_2x32x32x2/*`), single-threaded.
//!
//! The workload, identical in `benches/peers/de_lv_ude.py` (diffrax + equinox, jit):
//! noise-free Lotka–Volterra observations (`x' = 1.3x − 0.9xy`, `y' = 0.8xy − 1.8y` from
//! `(0.44249296, 4.6280594)`) at 31 times on `[0, 3]`; the UDE `x' = 1.3x + g₀`,
//! `y' = −1.8y + g₁` with a 2-32-32-2 tanh network whose weights are
//! `w_k = 0.05 sin(1.3k + 0.2)` (layer by layer, `W` row-major then `b`); one epoch is
//! five Adam steps (lr 1e-2), one per window of 10 observation intervals (starts 0, 5, …,
//! 20), each a Tsit5 solve (rtol 1e-6, atol 1e-8) from the window's first observation with
//! the gradient of the squared error by the discrete adjoint. The epoch always starts from
//! the same weights, so every timed epoch does the same work.
//!
//! ```text
//! taskset -c 0 cargo bench -p mechml-benches --bench de
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mechml_engine::nn::{Activation, Mlp};
use mechml_engine::ode::{Checkpointing, Sensitivity};
use mechml_models::de::{
    Shooting, SolverSettings, TrainOptions, Trajectory, lv_observations, lv_ude, train,
};

const P: [f64; 4] = [1.3, 0.9, 1.8, 0.8];
const Y0: [f64; 2] = [0.44249296, 4.6280594];

fn setup() -> (
    mechml_models::de::UdeRhs<mechml_models::de::LvKnown>,
    Vec<f64>,
    Trajectory,
) {
    let ts: Vec<f64> = (0..31).map(|k| 0.1 * k as f64).collect();
    let data = lv_observations(P, Y0, &ts, 0.0, 0).unwrap();
    let net = Mlp::new(vec![2, 32, 32, 2])
        .unwrap()
        .with_activations(Activation::Tanh, Activation::Identity);
    let w: Vec<f64> = (0..net.n_params())
        .map(|k| 0.05 * (1.3 * k as f64 + 0.2).sin())
        .collect();
    (lv_ude(P[0], P[2], net).unwrap(), w, data)
}

fn epoch_options(sensitivity: Sensitivity) -> TrainOptions {
    TrainOptions {
        solver: SolverSettings {
            rtol: 1e-6,
            atol: 1e-8,
            sensitivity,
            ..SolverSettings::default()
        },
        shooting: Shooting::Single {
            window: 10,
            batch: 1,
        },
        epochs: 1,
        learning_rate: 1e-2,
        lbfgs_iters: 0,
        ..TrainOptions::default()
    }
}

fn bench(c: &mut Criterion) {
    let (ude, w, data) = setup();
    let mut g = c.benchmark_group("ude_epoch/lv_2x32x32x2");
    g.measurement_time(Duration::from_secs(5));
    for (name, s) in [
        ("mechml_discrete_adjoint", Sensitivity::default()),
        ("mechml_forward", Sensitivity::Forward),
        (
            "mechml_continuous_adjoint",
            Sensitivity::ContinuousAdjoint {
                checkpointing: Checkpointing::Auto,
            },
        ),
    ] {
        let opts = epoch_options(s);
        let r = train(&ude, &w, &data, &opts).unwrap();
        println!("{name}: epoch loss {:.6e}", r.history[0].train_loss);
        g.bench_function(name, |b| {
            b.iter(|| black_box(train(&ude, &w, &data, &opts).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
