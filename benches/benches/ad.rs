//! Autodiff benchmarks (WORKLOADS.md section 0): `ad/rosenbrock_10000`,
//! `ad/lorenz96_rhs_n40`, `ad/gauss_logdet_n1000`. Single-threaded.
//!
//! Run: `cargo bench -p mechml-benches --bench ad`

use criterion::{Criterion, criterion_group, criterion_main};
use mechml_engine::ad::api::{ScalarFn, VectorFn, jacobian_forward, vjp};
use mechml_engine::ad::{Adjoints, Real, Tape, VarVec};
use mechml_engine::linalg::{Llt, MatRef, Par};
use std::hint::black_box;

/// One term of the Rosenbrock sum, shared by the f64 primal and the fused block.
#[inline]
fn rosen_term<R: Real>(x: R, y: R) -> R {
    (y - x.square()).square() * 100.0 + (R::one() - x).square()
}

fn rosenbrock<R: Real>(x: &[R]) -> R {
    let mut f = R::zero();
    for i in 0..x.len() - 1 {
        f += rosen_term(x[i], x[i + 1]);
    }
    f
}

struct Lorenz96;
impl VectorFn for Lorenz96 {
    fn eval<R: Real>(&self, x: &[R]) -> Vec<R> {
        let n = x.len();
        (0..n)
            .map(|i| (x[(i + 1) % n] - x[(i + n - 2) % n]) * x[(i + n - 1) % n] - x[i] + 8.0)
            .collect()
    }
}

struct Rosen;
impl ScalarFn for Rosen {
    fn eval<R: Real>(&self, x: &[R]) -> R {
        rosenbrock(x)
    }
}

fn bench_rosenbrock(c: &mut Criterion) {
    let x: Vec<f64> = (0..10_000).map(|i| 0.5 + 0.001 * i as f64).collect();
    let mut g = c.benchmark_group("ad/rosenbrock_10000");
    g.bench_function("primal", |b| b.iter(|| rosenbrock(black_box(&x))));
    // Every gradient variant records on a cleared tape and sweeps into reused adjoint
    // storage (`gradient_into`), as an optimisation loop does: a fresh `Adjoints` per
    // call would add the page faults of a new 240 kB buffer to each iteration.
    let mut tape = Tape::with_capacity(100_000);
    let mut adj = Adjoints::default();
    g.bench_function("gradient", |b| {
        b.iter(|| {
            tape.clear();
            let v = tape.vars(black_box(&x));
            let f = Rosen.eval(&v);
            tape.gradient_into(&f, &mut adj).unwrap();
            black_box(adj.wrt(&v[9_999]))
        })
    });
    // The same function with vector blocks: five block records instead of ~9 scalar
    // entries per term.
    let n = x.len();
    g.bench_function("gradient_block", |b| {
        b.iter(|| {
            tape.clear();
            let v = tape.var_vec(black_box(&x));
            let a = v.slice(0..n - 1).unwrap();
            let bb = v.slice(1..n).unwrap();
            let d = tape.sub(&bb, &tape.map(&a, |t| t * t).unwrap()).unwrap();
            let e = tape.map(&a, |t| 1.0 - t).unwrap();
            let f = tape.sum_sq(&d).unwrap() * 100.0 + tape.sum_sq(&e).unwrap();
            tape.gradient_into(&f, &mut adj).unwrap();
            black_box(adj.wrt_vec(&v)[9_999])
        })
    });
    // The per-term function as one fused element-wise block (partials from two-tangent
    // duals) plus one sum.
    g.bench_function("gradient_map2", |b| {
        b.iter(|| {
            tape.clear();
            let v = tape.var_vec(black_box(&x));
            let t = tape
                .map2(
                    &v.slice(0..n - 1).unwrap(),
                    &v.slice(1..n).unwrap(),
                    rosen_term,
                )
                .unwrap();
            let f = tape.sum(&t).unwrap();
            tape.gradient_into(&f, &mut adj).unwrap();
            black_box(adj.wrt_vec_ref(&v).unwrap()[9_999])
        })
    });
    g.finish();
}

fn bench_lorenz96(c: &mut Criterion) {
    let mut x = vec![8.0; 40];
    x[0] = 8.01;
    let w: Vec<f64> = (0..40)
        .map(|i| ((i * 37 % 17) as f64 - 8.0) / 8.0)
        .collect();
    let mut g = c.benchmark_group("ad/lorenz96_rhs_n40");
    g.bench_function("primal", |b| b.iter(|| Lorenz96.eval(black_box(&x))));
    g.bench_function("vjp", |b| {
        b.iter(|| vjp(&Lorenz96, black_box(&x), &w).unwrap())
    });
    g.bench_function("jacobian", |b| {
        b.iter(|| jacobian_forward(&Lorenz96, black_box(&x)).unwrap())
    });
    g.finish();
}

fn bench_gauss_logdet(c: &mut Criterion) {
    let (_, rows) = mechml_benches::read_csv("gp_n2000.csv");
    let rows = &rows[..1000];
    let n = rows.len();
    let mut k = mechml_benches::se_gram(rows, &[0.3, 0.5, 1.0], 1.0);
    for i in 0..n {
        k[i + i * n] += 0.01;
    }
    let y: Vec<f64> = rows.iter().map(|r| r[3]).collect();
    let mut g = c.benchmark_group("ad/gauss_logdet_n1000");
    g.sample_size(20);
    let km = MatRef::from_column_major_slice(&k, n, n);
    g.bench_function("cholesky_floor", |b| {
        b.iter(|| Llt::factor(black_box(km), Par::Seq).unwrap())
    });
    let mut tape = Tape::new();
    g.bench_function("value", |b| {
        b.iter(|| {
            tape.clear();
            let kv = tape.var_mat(n, n, &k).unwrap();
            let yv = tape.var_vec(&y);
            black_box(tape.mvn_logpdf(&yv, &kv).unwrap().val())
        })
    });
    // Adjoint storage reused across iterations, as in an optimisation loop.
    let mut adj = mechml_engine::ad::Adjoints::default();
    g.bench_function("value_grad", |b| {
        b.iter(|| {
            tape.clear();
            let kv = tape.var_mat(n, n, &k).unwrap();
            let yv: VarVec = tape.var_vec(&y);
            let l = tape.mvn_logpdf(&yv, &kv).unwrap();
            tape.gradient_into(&l, &mut adj).unwrap();
            black_box((
                l.val(),
                adj.wrt_mat_ref(&kv).unwrap()[7],
                adj.wrt_vec_ref(&yv).unwrap()[3],
            ))
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_rosenbrock,
    bench_lorenz96,
    bench_gauss_logdet
);
criterion_main!(benches);
