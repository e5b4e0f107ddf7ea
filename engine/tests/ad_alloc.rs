//! "Tapes can be cleared and reused without reallocating": counted, not assumed. A global
//! allocator counts the allocations made by the thread under test (this test binary only),
//! and the tape's reserved bytes are compared across recordings.

use mechml_engine::ad::{Adjoints, Real, Tape, Var};
use mechml_kernels::alloc_count::{CountingAllocator, count_allocations as allocations};

// The counting allocator (and its `unsafe`) lives in the kernels crate.
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// A scalar-only recording: three leaves and 1500 operations.
fn record_scalar<'t>(tape: &'t Tape, x: &[f64]) -> (Var<'t>, Vec<Var<'t>>) {
    let xs = tape.vars(x);
    let mut y = xs[0];
    for k in 0..500 {
        y = (y * xs[k % xs.len()]).sin() + 0.5;
    }
    (y, xs)
}

#[test]
fn cleared_tape_records_and_sweeps_without_allocating() {
    let x = [0.3, -0.7, 1.1];
    let mut tape = Tape::with_capacity(16);
    let mut adj = Adjoints::default();
    let mut reserved = Vec::new();
    let mut grads = Vec::new();
    for round in 0..4 {
        tape.clear();
        let (n_record, (y, xs)) = allocations(|| record_scalar(&tape, &x));
        let (n_sweep, r) = allocations(|| tape.gradient_into(&y, &mut adj));
        r.unwrap();
        grads.push(adj.wrt_slice(&xs));
        reserved.push(tape.stats().reserved_bytes);
        if round > 0 {
            assert_eq!(
                n_record, 1,
                "round {round}: recording 1500 scalar operations on a cleared tape allocated \
                 {n_record} times (only the Vec of leaf variables should allocate)"
            );
            assert_eq!(
                n_sweep, 0,
                "round {round}: the reverse sweep into reused adjoints allocated {n_sweep} times"
            );
        }
    }
    assert!(reserved.windows(2).all(|w| w[0] == w[1]), "{reserved:?}");
    // Same gradient every round, and the same as on a fresh tape.
    assert!(grads.windows(2).all(|w| w[0] == w[1]));
    let fresh = Tape::new();
    let (y, xs) = record_scalar(&fresh, &x);
    assert_eq!(fresh.gradient(&y).unwrap().wrt_slice(&xs), grads[0]);
}

#[test]
fn sweeps_with_scattered_block_arguments_do_not_allocate() {
    // `stack` takes scattered slots: its pullback adds through the tape's gather buffer.
    let x = [0.3, -0.7, 1.1, 0.2];
    let mut tape = Tape::new();
    let mut adj = Adjoints::default();
    let mut reserved = Vec::new();
    let mut record_counts = Vec::new();
    for round in 0..4 {
        tape.clear();
        let (n_record, (y, xs)) = allocations(|| {
            let xs = tape.vars(&x);
            let sq: Vec<_> = xs.iter().map(|v| v.square()).collect();
            let v = tape.stack(&sq).unwrap();
            let w = tape.stack(&[xs[0], xs[2]]).unwrap();
            let s = tape.sum(&v).unwrap() * tape.dot(&w, &w).unwrap();
            (s.exp(), xs)
        });
        record_counts.push(n_record);
        let (n_sweep, r) = allocations(|| tape.gradient_into(&y, &mut adj));
        r.unwrap();
        reserved.push(tape.stats().reserved_bytes);
        if round > 0 {
            assert_eq!(
                n_sweep, 0,
                "round {round}: a reverse sweep through stack blocks allocated {n_sweep} times"
            );
        }
        // d/dxᵢ exp(Σ x² · (x₀² + x₂²)), closed form.
        let s1: f64 = x.iter().map(|v| v * v).sum();
        let s2 = x[0] * x[0] + x[2] * x[2];
        let f = (s1 * s2).exp();
        for (i, xi) in xs.iter().enumerate() {
            let extra = if i == 0 || i == 2 {
                2.0 * x[i] * s1
            } else {
                0.0
            };
            let expected = f * (2.0 * x[i] * s2 + extra);
            let got = adj.wrt(xi);
            assert!(
                (got - expected).abs() <= 1e-14 * expected.abs().max(1.0),
                "x{i}: {got} vs {expected}"
            );
        }
    }
    // Blocks allocate what they save (their values, a boxed record); the tape's own
    // tables do not grow again.
    assert!(reserved.windows(2).all(|w| w[0] == w[1]), "{reserved:?}");
    assert!(
        record_counts[1..].windows(2).all(|w| w[0] == w[1]),
        "{record_counts:?}"
    );
}
