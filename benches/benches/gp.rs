//! Gaussian-process benchmarks on the workloads of `WORKLOADS.md` §4–5, single-threaded:
//!
//! * `gp_exact/n{N}/{value,value_grad,cholesky}`: exact-GP log marginal likelihood, with
//!   its gradient, and one faer Cholesky of the same `n` (the floor); the ratio
//!   `value_grad / cholesky` is the figure to report.
//!
//! Data are read from `../shared/workloads/` (run from the workspace root).
//!
//! Run: `cargo bench -p mechml-benches --bench gp -- gp_exact`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use faer::{Mat, Par, Side};
use mechml_engine::gp::{ExactGp, SquaredExponential, kernel_matrix};
use mechml_engine::testing::gp_workloads::{read_csv, shared_dir, theta0};

fn load(n: usize) -> (mechml_engine::gp::Inputs, Vec<f64>) {
    let path = shared_dir().join(format!("gp_n{n}.csv"));
    match read_csv(&path, None) {
        Ok(d) => d,
        Err(e) => panic!("gp benchmark data missing: {e}"),
    }
}

fn exact(c: &mut Criterion) {
    faer::set_global_parallelism(Par::Seq);
    let t = theta0();
    for n in [500usize, 1000, 2000, 4000] {
        let (x, y) = load(n);
        let k = SquaredExponential::ard(&[t[0].exp(), t[1].exp(), t[2].exp()], t[3].exp()).unwrap();
        let gp = ExactGp::new(k.clone(), x.clone(), &y, t[4].exp()).unwrap();
        let mut g = c.benchmark_group(format!("gp_exact/n{n}"));
        if n >= 2000 {
            g.sample_size(10)
                .measurement_time(Duration::from_secs(if n >= 4000 { 30 } else { 10 }));
        }
        g.bench_function("value", |b| {
            b.iter(|| black_box(gp.log_marginal_likelihood().unwrap()))
        });
        g.bench_function("value_grad", |b| {
            b.iter(|| black_box(gp.lml_and_grad(&t).unwrap()))
        });
        let mut ky: Mat<f64> = kernel_matrix(&k, &x, None).unwrap();
        for i in 0..n {
            ky[(i, i)] += t[4].exp();
        }
        g.bench_function("cholesky", |b| {
            b.iter(|| black_box(ky.llt(Side::Lower).unwrap()))
        });
        g.finish();
    }
}

criterion_group!(benches, exact);
criterion_main!(benches);
