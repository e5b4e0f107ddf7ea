use criterion::{Criterion, criterion_group, criterion_main};
use mechml_engine::ad::{Real, Tape};
use std::hint::black_box;

fn rosenbrock<R: Real>(x: &[R]) -> R {
    let mut f = R::zero();
    for i in 0..x.len() - 1 {
        f += (x[i + 1] - x[i].square()).square() * 100.0 + (R::one() - x[i]).square();
    }
    f
}

fn bench(c: &mut Criterion) {
    let x: Vec<f64> = (0..10_000).map(|i| 0.5 + 0.001 * i as f64).collect();
    c.bench_function("ad/rosenbrock_10000/primal", |b| {
        b.iter(|| rosenbrock(black_box(&x)))
    });
    let mut tape = Tape::with_capacity(100_000);
    c.bench_function("ad/rosenbrock_10000/gradient", |b| {
        b.iter(|| {
            tape.clear();
            let v = tape.vars(black_box(&x));
            let f = rosenbrock(&v);
            let g = tape.gradient(&f).unwrap();
            black_box(g.wrt(&v[0]))
        })
    });
}
criterion_group!(benches, bench);
criterion_main!(benches);
