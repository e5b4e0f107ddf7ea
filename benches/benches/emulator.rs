//! Emulator benchmarks (issue 12), single-threaded (a one-thread rayon pool and
//! `Par::Seq`), as the Python peers in `benches/peers/emulator_peers.py`:
//!
//! * `emulator/fit_200x8`: GP emulator fits on 200 runs of 8 inputs (the borehole
//!   function on a Latin hypercube; outputs `j` of the 50-output case add
//!   `0.1 sin((j + 1) x_{j mod 8})` to the scaled borehole), squared exponential ARD
//!   kernel, constant mean, fitted nugget, maximum likelihood, 3 starts: `1_output` and
//!   `50_outputs` (independent emulators).
//! * `emulator/implausibility_100x8`: implausibility (mean and variance of a 100-run
//!   emulator of 8 inputs) over 10⁵ candidates per iteration; criterion's throughput is in
//!   candidates per second (target ≥ 10⁶ per core).
//! * `emulator/saltelli_1e5`: Sobol' indices of the g-function (d = 8) with 10⁵ base
//!   samples (N(d + 2) = 10⁶ evaluations), the Saltelli design, the evaluations, and
//!   Jansen's estimators with 100 bootstrap resamples.
//!
//! Run: `cargo bench -p mechml-benches --bench emulator -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faer::Par;
use mechml_models::emulator::design::{SobolOptions, lhs, sobol};
use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator, MultiOutputEmulator};
use mechml_models::emulator::history::{HmOptions, Target, implausibility};
use mechml_models::emulator::sensitivity::{
    SensitivityOptions, borehole, borehole_space, g_function, sobol_indices,
};

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
}

/// The scaled borehole function at a unit-cube point (values of order 1).
fn borehole_unit(u: &[f64]) -> f64 {
    let x = borehole_space()
        .to_physical(u)
        .expect("a point of the cube");
    borehole(&x) / 100.0
}

fn fit_options() -> EmulatorOptions {
    let mut o = EmulatorOptions::default();
    o.fit = o.fit.with_starts(3, 1.0, 0);
    o
}

fn fit(c: &mut Criterion) {
    let pool = one_thread();
    let d = lhs(200, 8, 1).unwrap();
    let x = d.to_inputs().unwrap();
    let y: Vec<f64> = (0..200).map(|i| borehole_unit(d.point(i))).collect();
    let ys: Vec<Vec<f64>> = (0..200)
        .map(|i| {
            let p = d.point(i);
            (0..50)
                .map(|j| y[i] + 0.1 * ((j + 1) as f64 * p[j % 8]).sin())
                .collect()
        })
        .collect();
    let opts = fit_options();
    let mut g = c.benchmark_group("emulator/fit_200x8");
    g.sample_size(10);
    g.bench_function("1_output", |b| {
        b.iter(|| pool.install(|| black_box(GpEmulator::fit(x.clone(), &y, &opts).unwrap())))
    });
    g.bench_function("50_outputs", |b| {
        b.iter(|| pool.install(|| black_box(MultiOutputEmulator::fit(&x, &ys, &opts).unwrap())))
    });
    g.finish();
}

fn implausibility_bench(c: &mut Criterion) {
    let pool = one_thread();
    let d = lhs(100, 8, 2).unwrap();
    let y: Vec<f64> = (0..100).map(|i| borehole_unit(d.point(i))).collect();
    let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &fit_options()).unwrap();
    let m = 100_000;
    let cand = sobol(m, 8, &SobolOptions::scrambled(3)).unwrap();
    let xs: Vec<f64> = cand.as_slice().to_vec();
    let t = [Target {
        name: "borehole".into(),
        value: 0.7,
        obs_var: 0.01,
        disc_var: 0.0,
    }];
    let mut g = c.benchmark_group("emulator/implausibility_100x8");
    g.sample_size(10);
    g.throughput(Throughput::Elements(m as u64));
    g.bench_function("1e5_candidates", |b| {
        b.iter(|| {
            pool.install(|| {
                black_box(implausibility(&emu, &t, black_box(&xs), &HmOptions::default()).unwrap())
            })
        })
    });
    g.finish();
}

fn saltelli(c: &mut Criterion) {
    let pool = one_thread();
    let a = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0];
    let opts = SensitivityOptions {
        n: 100_000,
        bootstrap: 100,
        level: 0.95,
        seed: 0,
    };
    let mut g = c.benchmark_group("emulator/saltelli_1e5");
    g.sample_size(10);
    g.bench_function("g_function_d8", |b| {
        b.iter(|| {
            pool.install(|| black_box(sobol_indices(|x| g_function(x, &a), 8, &opts).unwrap()))
        })
    });
    g.finish();
}

fn config() -> Criterion {
    faer::set_global_parallelism(Par::Seq);
    Criterion::default().warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = fit, implausibility_bench, saltelli
}
criterion_main!(benches);
