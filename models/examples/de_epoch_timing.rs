//! Time per training epoch of the Lotka–Volterra UDE, the workload of
//! `benches/benches/de.rs` (`ude_epoch/lv_2x32x32x2`) without criterion, for a quick
//! side-by-side with `benches/peers/de_lv_ude.py` on a machine without a release build:
//!
//! ```text
//! taskset -c 1 cargo run -p mechml-models --profile test --example de_epoch_timing
//! ```
//!
//! Prints, over 30 epochs (each from the same weights, after one warm-up), the mean CPU
//! time of this thread (`/proc/thread-self/schedstat`) and the median and minimum wall
//! time per epoch, for each
//! sensitivity method, and for the discrete adjoint also with the right-hand side's
//! hand-written vector–Jacobian product hidden (`discrete-generic`: every stage product
//! recorded on a local tape, the path before `OdeRhs::vjp`), in the same process. An
//! argument (`discrete`, `discrete-generic`, `forward` or `continuous`) runs only that
//! one, e.g. under a profiler.

use std::time::Instant;

use mechml_engine::nn::{Activation, Mlp};
use mechml_engine::ode::{Checkpointing, GenericVjp, OdeRhs, Sensitivity};
use mechml_models::de::{
    Shooting, SolverSettings, TrainOptions, Trajectory, lv_observations, lv_ude, train,
};

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`, field 1).
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 * 1e-9)
}

/// 31 epochs from `w` (the first dropped): prints the mean CPU time per epoch (this
/// thread's, summed over the 30 epochs: the counter ticks coarsely on some kernels) and
/// the median and minimum wall time.
fn time_epochs<F: OdeRhs + Clone>(
    name: &str,
    ude: &F,
    w: &[f64],
    data: &Trajectory,
    opts: &TrainOptions,
) -> mechml_engine::Result<()> {
    let mut wall = Vec::new();
    let mut loss = train(ude, w, data, opts)?.history[0].train_loss;
    let c0 = thread_cpu_s();
    for _ in 0..30 {
        let t0 = Instant::now();
        let r = train(ude, w, data, opts)?;
        wall.push(t0.elapsed().as_secs_f64());
        loss = r.history[0].train_loss;
    }
    let cpu = (thread_cpu_s() - c0) / 30.0;
    wall.sort_by(f64::total_cmp);
    println!(
        "mechml {name}: epoch loss {loss:.6e}; per epoch CPU mean {:.3} ms; wall median \
         {:.3} ms, min {:.3} ms",
        1e3 * cpu,
        1e3 * wall[wall.len() / 2],
        1e3 * wall[0],
    );
    Ok(())
}

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
    for (key, sensitivity) in [
        ("discrete", Sensitivity::default()),
        ("discrete-generic", Sensitivity::default()),
        ("forward", Sensitivity::Forward),
        (
            "continuous",
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
        if key == "discrete-generic" {
            time_epochs(key, &GenericVjp(ude.clone()), &w, &data, &opts)?;
        } else {
            time_epochs(key, &ude, &w, &data, &opts)?;
        }
    }
    Ok(())
}
