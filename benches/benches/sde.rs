//! SDE benchmarks on the workloads of WORKLOADS.md §3 (single-threaded unless the id ends
//! in `_par`), and the rate of the normal generators that bounds them.
//!
//! `cargo bench -p mechml-benches --bench sde`
//!
//! * `sde/normals/*`: normals per second of the generator behind the ensemble streams
//!   (`ziggurat_lanes`) and of `rand_distr::StandardNormal` on one `Xoshiro256PlusPlus`.
//! * `sde/gbm/*`: 1,000 paths × 1,000 steps (peers: JAX scan 12 ms, numpy 13 ms, diffrax
//!   Euler 38 ms); `sde/gbm_1e5/*`: 10⁵ paths, throughput in steps per second.
//! * `sde/ebm2box/*`: 1,000 paths × 20,000 steps (peers: JAX scan 0.23 s, numpy 0.35 s,
//!   diffrax Euler 0.84 s); `em_grad` is the value and gradient of the ensemble-mean loss.
//! * `sde/gbm_quantiles/*`: 10⁵ paths × 100 steps of GBM saved at 11 times, with no
//!   quantiles, three streaming (P²) quantiles, or three exact quantiles (which store and
//!   sort every cross-section).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechml_engine::ad::{Tape, Var};
use mechml_engine::linalg::Par;
use mechml_engine::sde::normal::{NormalLanes, Ziggurat};
use mechml_engine::sde::reference::{Gbm, TwoBoxEbm};
use mechml_engine::sde::{
    EnsembleOptions, EulerMaruyama, Heun, Milstein, QuantileMethod, SdeProblem, Sensitivity, Steps,
    ensemble, ensemble_on_tape, path_seed,
};
use mechml_engine::solver::SaveAt;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;

fn normals(c: &mut Criterion) {
    let mut g = c.benchmark_group("sde/normals");
    let n = 1 << 20;
    g.throughput(Throughput::Elements(n as u64));
    let zig = Ziggurat::new();
    let mut lanes = NormalLanes::from_seeds((0..64).map(|k| path_seed(0, k)));
    let mut buf = vec![0.0; n];
    g.bench_function("ziggurat_lanes", |b| {
        b.iter(|| {
            lanes.fill(&zig, n / 64, &[1.0], &mut buf);
            black_box(buf[7])
        })
    });
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    g.bench_function("rand_distr_standard_normal", |b| {
        b.iter(|| {
            for v in buf.iter_mut() {
                *v = StandardNormal.sample(&mut rng);
            }
            black_box(buf[7])
        })
    });
    g.finish();
}

fn gbm(c: &mut Criterion) {
    let p = [0.05, 0.2];
    for (id, n_paths) in [("sde/gbm", 1000usize), ("sde/gbm_1e5", 100_000)] {
        let mut g = c.benchmark_group(id);
        g.throughput(Throughput::Elements((n_paths * 1000) as u64));
        if n_paths > 1000 {
            g.sample_size(10);
        }
        let opts = EnsembleOptions {
            n_paths,
            seed: 0,
            steps: Steps::Fixed { n_steps: 1000 },
            ..Default::default()
        };
        g.bench_function("em", |b| {
            b.iter(|| {
                ensemble(
                    &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
                    &EulerMaruyama,
                    &opts,
                )
                .unwrap()
                .mean[0]
            })
        });
        // WORKLOADS.md §3a: Heun on the equivalent Stratonovich drift (μ − σ²/2) X.
        let p_strat = [0.05 - 0.5 * 0.2 * 0.2, 0.2];
        g.bench_function("heun", |b| {
            b.iter(|| {
                ensemble(
                    &SdeProblem::new(&Gbm::stratonovich(), 0.0, 1.0, vec![1.0], p_strat.to_vec())
                        .unwrap(),
                    &Heun,
                    &opts,
                )
                .unwrap()
                .mean[0]
            })
        });
        if n_paths == 1000 {
            g.bench_function("milstein", |b| {
                b.iter(|| {
                    ensemble(
                        &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
                        &Milstein,
                        &opts,
                    )
                    .unwrap()
                    .mean[0]
                })
            });
        }
        g.finish();
    }
}

fn ebm2box(c: &mut Criterion) {
    let mut g = c.benchmark_group("sde/ebm2box");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1000 * 20_000));
    let opts = EnsembleOptions {
        n_paths: 1000,
        seed: 0,
        steps: Steps::Fixed { n_steps: 20_000 },
        ..Default::default()
    };
    let run = |m: &str, opts: &EnsembleOptions| match m {
        "em" => ensemble(&TwoBoxEbm::workload(200.0).unwrap(), &EulerMaruyama, opts),
        _ => ensemble(&TwoBoxEbm::workload(200.0).unwrap(), &Heun, opts),
    };
    g.bench_function("em", |b| b.iter(|| run("em", &opts).unwrap().mean[0]));
    g.bench_function("heun", |b| b.iter(|| run("heun", &opts).unwrap().mean[0]));
    let par = EnsembleOptions {
        par: Par::rayon(0),
        ..opts.clone()
    };
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    g.bench_function("em_par", |b| {
        b.iter(|| pool.install(|| run("em", &par).unwrap().mean[0]))
    });
    // Value and gradient of the ensemble-mean loss L = mean over paths of T(200) with
    // respect to (x0, C, C_D, lambda, gamma, F, sigma): the ensemble is one tape block whose
    // pullback replays each path's stream with forward sensitivities (d + P = 8 tangents).
    g.bench_function("em_grad", |b| {
        b.iter(|| ebm_grad(&opts, Sensitivity::Forward))
    });
    g.finish();
}

fn gbm_quantiles(c: &mut Criterion) {
    let mut g = c.benchmark_group("sde/gbm_quantiles");
    g.sample_size(10);
    let n_paths = 100_000;
    g.throughput(Throughput::Elements((n_paths * 100) as u64));
    let p = [0.05, 0.2];
    let base = EnsembleOptions {
        n_paths,
        seed: 0,
        steps: Steps::Fixed { n_steps: 100 },
        save_at: SaveAt::Every(10),
        ..Default::default()
    };
    for (id, quantiles, quantile_method) in [
        ("none", vec![], QuantileMethod::Streaming),
        (
            "streaming",
            vec![0.05, 0.5, 0.95],
            QuantileMethod::Streaming,
        ),
        ("exact", vec![0.05, 0.5, 0.95], QuantileMethod::Exact),
    ] {
        let opts = EnsembleOptions {
            quantiles,
            quantile_method,
            ..base.clone()
        };
        g.bench_function(id, |b| {
            b.iter(|| {
                ensemble(
                    &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
                    &EulerMaruyama,
                    &opts,
                )
                .unwrap()
                .mean[0]
            })
        });
    }
    g.finish();
}

fn ebm_grad(opts: &EnsembleOptions, sens: Sensitivity) -> f64 {
    let tape = Tape::new();
    let x0 = tape.var_vec(&[0.0, 0.0]);
    let p = tape.var_vec(&TwoBoxEbm::PARAMS);
    let out = ensemble_on_tape(
        &tape,
        &SdeProblem::new(TwoBoxEbm, 0.0, 200.0, x0.clone(), p.clone()).unwrap(),
        &EulerMaruyama,
        opts,
        sens,
    )
    .unwrap();
    let n = out.ncols();
    let mut loss = Var::constant(0.0);
    for k in 0..n {
        loss += out.get(0, k).unwrap() * (1.0 / n as f64);
    }
    let g = tape.gradient(&loss).unwrap();
    g.wrt_vec(&p)[4]
}

criterion_group!(benches, normals, gbm, ebm2box, gbm_quantiles);
criterion_main!(benches);
