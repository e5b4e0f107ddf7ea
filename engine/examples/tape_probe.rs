use mechml_engine::ad::{Real, Tape};
use std::hint::black_box;
use std::time::Instant;

fn rosenbrock<R: Real>(x: &[R]) -> R {
    let mut f = R::zero();
    for i in 0..x.len() - 1 {
        f += (x[i + 1] - x[i].square()).square() * 100.0 + (R::one() - x[i]).square();
    }
    f
}

fn main() {
    for &nn in &[1000usize, 10_000] {
        let x: Vec<f64> = (0..nn).map(|i| 0.5 + 0.001 * i as f64).collect();
        let t0 = Instant::now();
        for _ in 0..2000 {
            black_box(rosenbrock(black_box(&x)));
        }
        println!(
            "n {nn}: primal {:.2} us",
            t0.elapsed().as_secs_f64() / 2000.0 * 1e6
        );
        let mut tape = Tape::with_capacity(100_000);
        let n = 2000;
        let (mut t_rec, mut t_rev) = (0.0, 0.0);
        for _ in 0..n {
            tape.clear();
            let t0 = Instant::now();
            let v = tape.vars(black_box(&x));
            let f = rosenbrock(&v);
            let t1 = Instant::now();
            let g = tape.gradient(&f).unwrap();
            black_box(g.wrt(&v[0]));
            let t2 = Instant::now();
            t_rec += (t1 - t0).as_secs_f64();
            t_rev += (t2 - t1).as_secs_f64();
        }
        println!(
            "record {:.1} us, reverse {:.1} us, entries {}",
            t_rec / n as f64 * 1e6,
            t_rev / n as f64 * 1e6,
            tape.stats().n_scalar_entries
        );
    }
}
