//! The fuzz target's checks (random expression graphs on f64, duals and the tape) run as a
//! property test, so CI exercises them without cargo-fuzz.

use mechml_engine::testing::expr::{SMOOTH_OPS, check_bytes, check_bytes_report};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Bytes of a program with `n_inputs` (1–4) inputs from `xs` (each mapped into [-2, 2]) and
/// the given instructions.
fn program(n_inputs: usize, xs: &[u64], code: &[(u8, u8, u8)]) -> Vec<u8> {
    let mut data = vec![(n_inputs - 1) as u8];
    for x in &xs[..n_inputs] {
        data.extend_from_slice(&(x % 4001).to_le_bytes());
    }
    for &(op, a, b) in code {
        data.extend_from_slice(&[op, a, b]);
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_expression_graphs(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Err(e) = check_bytes(&data) {
            prop_assert!(false, "{e}");
        }
    }

    /// Smooth programs only (opcodes below `SMOOTH_OPS`), so the finite-difference check
    /// runs often.
    #[test]
    fn smooth_expression_graphs(n in 1usize..=4, xs in proptest::collection::vec(0u64..4001, 4), code in proptest::collection::vec((0u8..SMOOTH_OPS, any::<u8>(), any::<u8>()), 1..40)) {
        if let Err(e) = check_bytes(&program(n, &xs, &code)) {
            prop_assert!(false, "{e}");
        }
    }
}

/// The finite-difference comparison is not vacuous: on seeded random smooth programs it
/// applies to a good share of them (and passes).
#[test]
fn finite_difference_check_applies_to_most_smooth_programs() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let (mut fwd, mut ran, total) = (0, 0, 300);
    for _ in 0..total {
        let n = rng.random_range(1..=4);
        let xs: Vec<u64> = (0..4).map(|_| rng.random_range(0..4001)).collect();
        let len = rng.random_range(1..24);
        let code: Vec<(u8, u8, u8)> = (0..len)
            .map(|_| (rng.random_range(0..SMOOTH_OPS), rng.random(), rng.random()))
            .collect();
        let checked = check_bytes_report(&program(n, &xs, &code)).unwrap();
        fwd += usize::from(checked.forward_vs_reverse);
        ran += usize::from(checked.finite_differences);
    }
    eprintln!(
        "of {total} smooth programs: forward vs reverse on {fwd}, finite differences on {ran}"
    );
    assert!(
        fwd * 10 >= total * 9,
        "forward vs reverse ran on {fwd} of {total} smooth programs"
    );
    assert!(
        ran * 2 >= total,
        "finite differences ran on {ran} of {total} smooth programs"
    );
}
