//! Implausibility throughput of a 100-run, 8-input emulator (issue 12's benchmark), by
//! thread CPU time, with the pieces of one prediction chunk timed separately.
//!
//! Run: `cargo run --profile bench -p mechml-models --example emulator_implausibility_speed`
//! (single-threaded: a one-thread rayon pool and `Par::Seq`; times are this thread's CPU
//! time from `/proc/thread-self/schedstat`).

use faer::{Mat, Par};
use mechml_engine::gp::{Inputs, Kernel};
use mechml_models::emulator::design::{SobolOptions, lhs, sobol};
use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator, PREDICT_CHUNK};
use mechml_models::emulator::history::{HmOptions, Target, implausibility};

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`, field 1).
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 * 1e-9)
}

fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let c0 = thread_cpu_s();
    let r = f();
    (thread_cpu_s() - c0, r)
}

fn main() -> mechml_engine::Result<()> {
    faer::set_global_parallelism(Par::Seq);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let d = lhs(100, 8, 2)?;
    let y: Vec<f64> = (0..100)
        .map(|i| {
            let p = d.point(i);
            (3.0 * p[0]).sin() + p[1] * p[2] + 0.3 * p[3] * p[3] + 0.1 * p[4]
        })
        .collect();
    let mut opts = EmulatorOptions::default();
    opts.fit = opts.fit.with_starts(3, 1.0, 0);
    let emu = GpEmulator::fit(d.to_inputs()?, &y, &opts)?;
    let m = 200_000;
    let cand = sobol(m, 8, &SobolOptions::scrambled(3))?;
    let xs: Vec<f64> = cand.as_slice().to_vec();
    let t = [Target {
        name: "y".into(),
        value: 0.7,
        obs_var: 0.01,
        disc_var: 0.0,
    }];
    pool.install(|| -> mechml_engine::Result<()> {
        // Before (triangular solves) and after (products with the inverse factors),
        // alternating in one run, then the whole implausibility (after).
        let (mut mean, mut var) = (vec![0.0; m], vec![0.0; m]);
        for rep in 0..3 {
            let (c, r) = time(|| emu.predict_into_by_solve(&xs, &mut mean, &mut var));
            r?;
            println!(
                "rep {rep}: predict by triangular solves     {:.3e} candidates/s",
                m as f64 / c
            );
            let (c, r) = time(|| emu.predict_into(&xs, &mut mean, &mut var));
            r?;
            println!(
                "rep {rep}: predict by inverse-factor product {:.3e} candidates/s",
                m as f64 / c
            );
            let (c, r) = time(|| implausibility(&emu, &t, &xs, &HmOptions::default()));
            r?;
            println!(
                "rep {rep}: implausibility                   {:.3e} candidates/s",
                m as f64 / c
            );
        }
        // Pieces of one chunk.
        let chunk = PREDICT_CHUNK;
        let xin = Inputs::new(chunk, 8, xs[..chunk * 8].to_vec())?;
        let tk = emu.kernel_params();
        let mut ks = Mat::<f64>::zeros(100, chunk);
        let reps = 50 * 2048 / chunk;
        let (c, _) = time(|| {
            for _ in 0..reps {
                emu.kernel()
                    .matrix_into(&tk, emu.inputs(), Some(&xin), ks.as_mut());
            }
        });
        println!(
            "cross-kernel 100 x {chunk}: {:.3e} candidates/s",
            (reps * chunk) as f64 / c
        );
        let l = Mat::<f64>::from_fn(100, 100, |i, j| {
            if i >= j {
                1.0 + (i + j) as f64 * 1e-3
            } else {
                0.0
            }
        });
        let (c, _) = time(|| {
            for _ in 0..reps {
                faer::linalg::triangular_solve::solve_lower_triangular_in_place(
                    l.as_ref(),
                    ks.as_mut(),
                    Par::Seq,
                );
            }
        });
        println!(
            "triangular solve 100 x {chunk}: {:.3e} candidates/s",
            (reps * chunk) as f64 / c
        );
        let mut out = Mat::<f64>::zeros(100, chunk);
        let (c, _) = time(|| {
            for _ in 0..reps {
                faer::linalg::matmul::triangular::matmul(
                    out.as_mut(),
                    faer::linalg::matmul::triangular::BlockStructure::Rectangular,
                    faer::Accum::Replace,
                    l.as_ref(),
                    faer::linalg::matmul::triangular::BlockStructure::TriangularLower,
                    ks.as_ref(),
                    faer::linalg::matmul::triangular::BlockStructure::Rectangular,
                    1.0,
                    Par::Seq,
                );
            }
        });
        println!(
            "triangular matmul 100 x {chunk}: {:.3e} candidates/s",
            (reps * chunk) as f64 / c
        );
        let (c, _) = time(|| {
            for _ in 0..reps {
                faer::linalg::matmul::matmul(
                    out.as_mut(),
                    faer::Accum::Replace,
                    l.as_ref(),
                    ks.as_ref(),
                    1.0,
                    Par::Seq,
                );
            }
        });
        println!(
            "general matmul 100 x 100 x {chunk}: {:.3e} candidates/s",
            (reps * chunk) as f64 / c
        );
        Ok(())
    })?;
    Ok(())
}
