//! `kalman/ebm2box_T10000` (WORKLOADS.md section 6): the Kalman log-likelihood of the
//! two-box EBM over T = 10,000 steps, value only and value + gradient with respect to
//! θ = (C, C_D, λ, γ, F, σ, R) through the exact discretisation (matrix exponential on the
//! tape, the filter as one block). Single-threaded.
//!
//! Methods:
//! * `loglik`: θ → discretise → filter, in f64;
//! * `value_grad`: the same recorded on a tape, the filter block differentiated by its
//!   hand-written adjoint;
//! * `value_grad_recorded`: the filter block differentiated by recording its scalar
//!   operations on a local tape (the alternative the issue asks to measure).
//!
//! Run: `cargo bench -p mechml-benches --bench kalman`.

use criterion::{Criterion, criterion_group, criterion_main};
use mechml_engine::ad::Tape;
use mechml_engine::ssm::KalmanGradient;
use mechml_models::ssm::ebm::workload::{THETA0, loglik, loglik_tape, parse_workload_csv};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let data = parse_workload_csv(include_str!("../../engine/tests/data/kf_ebm_T10000.csv"))
        .expect("workload data");
    c.bench_function("kalman/ebm2box_T10000/loglik", |b| {
        b.iter(|| loglik(black_box(&THETA0), &data).unwrap())
    });
    let mut tape = Tape::with_capacity(1 << 14);
    for (name, method) in [
        ("kalman/ebm2box_T10000/value_grad", KalmanGradient::Adjoint),
        (
            "kalman/ebm2box_T10000/value_grad_recorded",
            KalmanGradient::Recorded,
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                tape.clear();
                let th = tape.vars(black_box(&THETA0));
                let ll = loglik_tape(&tape, &th, &data, method).unwrap();
                let g = tape.gradient(&ll).unwrap();
                black_box((ll.val(), g.wrt(&th[0])))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
