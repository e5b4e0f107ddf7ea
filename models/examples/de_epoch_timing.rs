//! Time per training epoch of the Lotka–Volterra UDE, the workload of
//! `benches/benches/de.rs` (`ude_epoch/lv_2x32x32x2`) without criterion, for a quick
//! side-by-side with `benches/peers/de_lv_ude.py` on a machine without a release build:
//!
//! ```text
//! taskset -c 0 cargo run -p mechml-models --profile test --example de_epoch_timing
//! ```
//!
//! Prints the median and minimum over 30 epochs (each from the same weights) for each
//! sensitivity method; an argument (`discrete`, `forward` or `continuous`) runs only that
//! one, e.g. under a profiler.

use std::time::Instant;

use mechml_engine::nn::{Activation, Mlp};
use mechml_engine::ode::{Checkpointing, Sensitivity};
use mechml_models::de::{Shooting, SolverSettings, TrainOptions, lv_observations, lv_ude, train};

fn main() -> mechml_engine::Result<()> {
    let p = [1.3, 0.9, 1.8, 0.8];
    let ts: Vec<f64> = (0..31).map(|k| 0.1 * k as f64).collect();
    let data = lv_observations(p, [0.44249296, 4.6280594], &ts, 0.0, 0)?;
    let net =
        Mlp::new(vec![2, 32, 32, 2])?.with_activations(Activation::Tanh, Activation::Identity);
    let w: Vec<f64> = (0..net.n_params())
        .map(|k| 0.05 * (1.3 * k as f64 + 0.2).sin())
        .collect();
    let ude = lv_ude(p[0], p[2], net)?;
    let only = std::env::args().nth(1);
    for (key, name, sensitivity) in [
        ("discrete", "discrete adjoint", Sensitivity::default()),
        ("forward", "forward", Sensitivity::Forward),
        (
            "continuous",
            "continuous adjoint",
            Sensitivity::ContinuousAdjoint {
                checkpointing: Checkpointing::Auto,
            },
        ),
    ] {
        if only.as_deref().is_some_and(|o| o != key) {
            continue;
        }
        let opts = TrainOptions {
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
        };
        let mut times = Vec::new();
        let mut loss = 0.0;
        for _ in 0..31 {
            let t = Instant::now();
            let r = train(&ude, &w, &data, &opts)?;
            times.push(t.elapsed().as_secs_f64());
            loss = r.history[0].train_loss;
        }
        times.remove(0);
        times.sort_by(f64::total_cmp);
        println!(
            "mechml {name}: epoch loss {loss:.6e}; per epoch median {:.3} ms, min {:.3} ms",
            1e3 * times[times.len() / 2],
            1e3 * times[0]
        );
    }
    Ok(())
}
