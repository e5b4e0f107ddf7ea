//! Gaussian-process benchmarks on the workloads of `WORKLOADS.md` §4–5, single-threaded:
//!
//! * `gp_exact/n{N}/{value,value_grad,cholesky}`: exact-GP log marginal likelihood, with
//!   its gradient, and one faer Cholesky of the same `n` (the floor: in place on a
//!   pre-allocated copy with a pre-allocated scratch buffer, as the engine factorises);
//!   report `value_grad / cholesky`.
//! * `gp_sparse/vfe_n20000_m256/{value,value_grad,gemm_floor}`: Titsias's bound, with its
//!   gradient in `θ` and `Z`, and one `M × N × M` product (the flop floor unit).
//! * `gp_sparse/svgp_step`: one SVGP training step (N = 100,000, M = 256, B = 1,024: draw a
//!   batch, ELBO value and gradient in `(θ, Z, m, L)`, Adam update), and
//!   `gp_sparse/svgp_elbo_b1024/{value,value_grad,gemm_floor}` on the fixed first 1,024
//!   rows (the floor: one `M × B × M` product).
//! * `gp_statespace/matern32_n{N}/value_grad`: the state-space Matérn-3/2 likelihood and
//!   gradient for N ∈ {10⁴, 10⁵, 10⁶} (linear scaling).
//!
//! Data are the copies of `../shared/workloads/` shipped in `engine/tests/data` (provenance
//! and checksums in its `PROVENANCE.md`).
//!
//! Run: `cargo bench -p mechml-benches --bench gp` (or a filter such as `-- gp_exact`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::{Mat, Par};
use mechml_engine::gp::{
    ExactGp, Gaussian, Inputs, Matern32, SparseGp, SparseMethod, SquaredExponential, Svgp,
    TemporalGp, kernel_matrix,
};
use mechml_engine::optim::{Adam, AdamOptions, LearningRate};
use mechml_engine::testing::gp_workloads::{data_dir, read_csv, theta0};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The workload of size `n` (WORKLOADS.md §4), from the copies shipped in
/// `engine/tests/data`.
fn load(n: usize) -> (Inputs, Vec<f64>) {
    let path = data_dir().join(format!("gp_n{n}.csv"));
    read_csv(&path, None).unwrap_or_else(|e| panic!("gp benchmark data missing: {e}"))
}

fn kernel() -> SquaredExponential {
    SquaredExponential::ard(3).unwrap()
}

/// θ₀ of WORKLOADS.md (log ℓ₁, log ℓ₂, log ℓ₃, log σ², log σ_n²) in the models' order
/// (σ², ℓ₁, ℓ₂, ℓ₃, σ_n²) and natural scale.
fn theta() -> Vec<f64> {
    let t = theta0();
    [t[3], t[0], t[1], t[2], t[4]]
        .iter()
        .map(|v| v.exp())
        .collect()
}

fn exact(c: &mut Criterion) {
    let t = theta();
    for n in [500usize, 1000, 2000, 4000] {
        let (x, y) = load(n);
        let k = kernel();
        let gp = ExactGp::new(k.clone(), x.clone(), &y, &t).unwrap();
        let mut g = c.benchmark_group(format!("gp_exact/n{n}"));
        if n >= 2000 {
            g.sample_size(10)
                .measurement_time(Duration::from_secs(if n >= 4000 { 40 } else { 12 }));
        }
        g.bench_function("value", |b| {
            b.iter(|| black_box(gp.log_marginal_likelihood().unwrap()))
        });
        g.bench_function("value_grad", |b| {
            b.iter(|| black_box(gp.lml_and_grad(&t).unwrap()))
        });
        let mut ky: Mat<f64> = kernel_matrix(&k, &t[..4], &x, None).unwrap();
        for i in 0..n {
            ky[(i, i)] += t[4];
        }
        g.bench_function("cholesky", |b| cholesky_floor(b, &ky));
        g.finish();
    }
}

fn sparse(c: &mut Criterion) {
    let t = theta();
    let (x, y) = load(20000);
    let z = x.select(&(0..256).collect::<Vec<_>>()).unwrap();
    let gp = SparseGp::new(kernel(), x, &y, z.clone(), &t, SparseMethod::Vfe).unwrap();
    let mut g = c.benchmark_group("gp_sparse/vfe_n20000_m256");
    g.sample_size(20);
    g.bench_function("value", |b| b.iter(|| black_box(gp.objective().unwrap())));
    g.bench_function("value_grad", |b| {
        b.iter(|| black_box(gp.objective_and_grad(&t, &z).unwrap()))
    });
    // The floor: one M × N × M product (2 N M² flops), measured in the same run.
    g.bench_function("gemm_floor", |b| gemm_floor(b, 256, 20000));
    g.finish();

    let (x, y) = load(100000);
    let z = x.select(&(0..256).collect::<Vec<_>>()).unwrap();
    let mut svgp = Svgp::new(kernel(), Gaussian::new(), z, x.n(), &t).unwrap();
    let first: Vec<usize> = (0..1024).collect();
    let (xb, yb) = (x.select(&first).unwrap(), y[..1024].to_vec());
    let mut g = c.benchmark_group("gp_sparse/svgp_elbo_b1024");
    g.sample_size(20);
    g.bench_function("value", |b| {
        b.iter(|| black_box(svgp.elbo(&xb, &yb).unwrap()))
    });
    g.bench_function("value_grad", |b| {
        b.iter(|| black_box(svgp.elbo_and_grad(&xb, &yb).unwrap()))
    });
    g.bench_function("gemm_floor", |b| gemm_floor(b, 256, 1024));
    g.finish();
    // One training step as in WORKLOADS.md §5a (optax.adam(1e-2) on −ELBO).
    let opts = AdamOptions {
        learning_rate: LearningRate::Constant { lr: 1e-2 },
        ..Default::default()
    };
    let mut adam = Adam::new(svgp.n_packed(), &opts).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut g = c.benchmark_group("gp_sparse");
    g.sample_size(20);
    g.bench_function("svgp_step", |b| {
        b.iter(|| {
            let idx: Vec<usize> = (0..1024).map(|_| rng.random_range(0..x.n())).collect();
            let xb = x.select(&idx).unwrap();
            let yb: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            let gr = svgp.elbo_and_grad(&xb, &yb).unwrap();
            let neg: Vec<f64> = svgp.pack_gradient(&gr).iter().map(|v| -v).collect();
            let mut v = svgp.pack();
            adam.step(&mut v, &neg).unwrap();
            svgp.unpack(&v).unwrap();
            black_box(gr.value)
        })
    });
    g.finish();
}

/// The floor of `gp_exact`: one faer Cholesky of `K_y`, factorised in place as the engine
/// does (`cholesky_in_place` on a pre-allocated copy, with a pre-allocated scratch buffer).
/// Restoring the copy before each factorisation is not timed, so `time ÷ cholesky` counts
/// the factorisation alone.
fn cholesky_floor(b: &mut criterion::Bencher<'_>, ky: &Mat<f64>) {
    let n = ky.nrows();
    let mut work = Mat::<f64>::zeros(n, n);
    let mut scratch = MemBuffer::new(cholesky_in_place_scratch::<f64>(
        n,
        Par::Seq,
        Default::default(),
    ));
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            work.copy_from(ky);
            let start = Instant::now();
            let info = cholesky_in_place(
                work.as_mut(),
                Default::default(),
                Par::Seq,
                MemStack::new(&mut scratch),
                Default::default(),
            );
            total += start.elapsed();
            black_box(info.expect("K + σ²I is positive definite"));
        }
        black_box(work[(n - 1, n - 1)]);
        total
    })
}

/// One `m × n × m` matrix product `A Aᵀ` (`2 n m²` flops), single-threaded.
fn gemm_floor(b: &mut criterion::Bencher<'_>, m: usize, n: usize) {
    let a = Mat::<f64>::from_fn(m, n, |i, j| ((i * 7 + j * 3) % 17) as f64 / 17.0);
    let mut out = Mat::<f64>::zeros(m, m);
    b.iter(|| {
        faer::linalg::matmul::matmul(
            out.as_mut(),
            faer::Accum::Replace,
            a.as_ref(),
            a.transpose(),
            1.0,
            Par::Seq,
        );
        black_box(out[(0, 0)])
    })
}

fn statespace(c: &mut Criterion) {
    let mut g = c.benchmark_group("gp_statespace");
    g.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let t: Vec<f64> = (0..n).map(|i| i as f64 * 0.01).collect();
        let y: Vec<f64> = t
            .iter()
            .map(|v| v.sin() + 0.1 * (rng.random::<f64>() - 0.5))
            .collect();
        let gp = TemporalGp::new(Matern32::isotropic(), &t, &y, &[1.0, 1.0, 0.01]).unwrap();
        let p = gp.params();
        g.bench_function(format!("matern32_n{n}/value_grad"), |b| {
            b.iter(|| black_box(gp.lml_and_grad(&p).unwrap()))
        });
    }
    g.finish();
}

fn config() -> Criterion {
    // Single-threaded, as the peers (WORKLOADS.md): faer's global setting is only read by
    // its operator forms; every engine call takes `Par::Seq` explicitly.
    faer::set_global_parallelism(Par::Seq);
    Criterion::default().warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = exact, sparse, statespace
}
criterion_main!(benches);
