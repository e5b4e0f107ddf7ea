//! Data assimilation on Lorenz-96 (WORKLOADS.md §8.6): time per assimilation cycle
//! (forecast + analysis) of the ETKF and the LETKF.
//!
//! * `da/l96_etkf_n40`, `da/l96_etkf_nx1000`: Nx = 40 and 1,000, N = 40, inflation 1.02;
//! * `da/l96_letkf_nx40`, `da/l96_letkf_nx1000`: Nx = 40 and 1,000, N = 40, Gaspari–Cohn
//!   radius 4, inflation 1.02;
//! * `da/l96_letkf_nx10000`, `da/l96_letkf_nx100000`: the same at 10⁴ and 10⁵ variables
//!   (linear cost in Nx);
//! * `da/l96_letkf_nx1000_par`: the local analyses on all rayon threads.
//!
//! F = 8, RK4 with dt = 0.05, one step between analyses, every variable observed with unit
//! noise. One criterion iteration is one cycle; cycles run in blocks from a copy of the
//! filter spun up for 50 cycles, over 1,000 pre-generated observations (fewer at Nx ≥ 10⁴).
//!
//! `cargo bench -p mechml-benches --bench da -- --cpu-time [REPS]` instead prints the
//! thread CPU time per cycle (from `/proc/thread-self/schedstat`, which load on a shared
//! machine inflates far less than wall time) of each single-threaded workload, REPS times,
//! in the format of the DAPPER peer (`benches/peers/dapper_l96.py`); `--cpu-time REPS
//! etkf40,letkf1000` runs only the named workloads.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use faer::Par;
use mechml_models::da::analysis::{
    AnalysisScheme, EnsembleFilter, FilterOptions, LetkfOptions, Localization,
};
use mechml_models::da::{Ensemble, Lorenz96, Model, ObsModel, ObsOperator, Rk4};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

struct Workload {
    model: Rk4<Lorenz96>,
    obs: ObsModel,
    ys: Vec<Vec<f64>>,
    filter: EnsembleFilter,
}

fn workload(nx: usize, letkf: bool, cycles: usize, par: Par) -> Workload {
    let model = Rk4::new(Lorenz96::new(nx, 8.0).unwrap(), 0.05, 1).unwrap();
    let obs = ObsModel::new(ObsOperator::identity(nx), 1.0).unwrap();
    let mut g = Xoshiro256PlusPlus::seed_from_u64(3000);
    let mut x = vec![8.0; nx];
    x[0] += 0.01;
    for _ in 0..1000 {
        model.step(&mut x);
    }
    let e0 = Ensemble::gaussian(40, &x, 1.0, &mut g).unwrap();
    let scheme = if letkf {
        AnalysisScheme::Letkf(LetkfOptions {
            localization: Localization::new(4.0),
        })
    } else {
        AnalysisScheme::Etkf
    };
    let mut filter = EnsembleFilter::new(e0, FilterOptions::new(scheme).inflation(1.02), 1)
        .unwrap()
        .with_par(par);
    // 50 cycles of spin-up (fewer at Nx = 10⁵, where a cycle takes seconds; the cost of a
    // LETKF cycle does not depend on the state).
    let warm = if nx >= 100_000 { 5 } else { 50 };
    let mut ys = Vec::with_capacity(warm + cycles);
    for _ in 0..warm + cycles {
        model.step(&mut x);
        ys.push(obs.sample(&x, &mut g).unwrap());
    }
    for y in &ys[..warm] {
        filter.forecast(&model, 0.0).unwrap();
        filter.analyse(&obs, y).unwrap();
    }
    ys.drain(..warm);
    Workload {
        model,
        obs,
        ys,
        filter,
    }
}

/// Runs `iters` cycles in blocks over the workload's observations, timing only the cycles.
fn run_cycles(w: &Workload, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let k = left.min(w.ys.len());
        let mut f = w.filter.clone();
        let t = Instant::now();
        for y in &w.ys[..k] {
            f.forecast(&w.model, 0.0).unwrap();
            f.analyse(&w.obs, y).unwrap();
        }
        total += t.elapsed();
        black_box(f.ensemble().data()[0]);
        left -= k;
    }
    total
}

fn bench_da(c: &mut Criterion) {
    let mut group = c.benchmark_group("da");
    // Warm-up and measurement times come from the command line
    // (`-- --warm-up-time 1 --measurement-time 3`).
    group.sample_size(10);
    let cases: [(&str, usize, bool, usize, Par); 7] = [
        ("l96_etkf_n40", 40, false, 1000, Par::Seq),
        ("l96_letkf_nx40", 40, true, 1000, Par::Seq),
        ("l96_etkf_nx1000", 1000, false, 1000, Par::Seq),
        ("l96_letkf_nx1000", 1000, true, 1000, Par::Seq),
        ("l96_letkf_nx1000_par", 1000, true, 1000, Par::rayon(0)),
        ("l96_letkf_nx10000", 10_000, true, 100, Par::Seq),
        ("l96_letkf_nx100000", 100_000, true, 10, Par::Seq),
    ];
    for (name, nx, letkf, cycles, par) in cases {
        let w = workload(nx, letkf, cycles, par);
        group.bench_function(name, |b| b.iter_custom(|iters| run_cycles(&w, iters)));
    }
    group.finish();
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`, field 1).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn cpu_time_report(reps: usize, only: Option<&str>) {
    // Fewer cycles where a cycle is long: the CPU time per cycle is steady. `letkf1000par`
    // runs the local analyses on the global rayon pool: its wall time against
    // `letkf1000` is the thread speed-up (its CPU time is the calling thread's share).
    let cases: [(&str, usize, bool, usize, Par); 7] = [
        ("etkf40", 40, false, 1000, Par::Seq),
        ("letkf40", 40, true, 200, Par::Seq),
        ("etkf1000", 1000, false, 200, Par::Seq),
        ("letkf1000", 1000, true, 40, Par::Seq),
        ("letkf1000par", 1000, true, 40, Par::rayon(0)),
        ("letkf10000", 10_000, true, 5, Par::Seq),
        ("letkf100000", 100_000, true, 2, Par::Seq),
    ];
    for (name, nx, letkf, cycles, par) in cases {
        if only.is_some_and(|o| !o.split(',').any(|o| o == name)) {
            continue;
        }
        let w = workload(nx, letkf, cycles, par);
        for rep in 0..reps {
            let c0 = thread_cpu_ns();
            let t0 = Instant::now();
            let d = run_cycles(&w, cycles as u64);
            let wall = t0.elapsed().as_secs_f64();
            let cpu = match (c0, thread_cpu_ns()) {
                (Some(a), Some(b)) => (b - a) as f64 * 1e-9,
                _ => d.as_secs_f64(),
            };
            println!(
                "mechml {name} core rep={rep} cycles={cycles} cpu_per_cycle_s={:.6e} wall_per_cycle_s={:.6e}",
                cpu / cycles as f64,
                wall / cycles as f64
            );
        }
    }
}

criterion_group!(benches, bench_da);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--cpu-time") {
        let reps = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(3);
        cpu_time_report(reps, args.get(i + 2).map(String::as_str));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
