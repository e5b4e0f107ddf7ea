//! The fuzz target's checks (random expression graphs on f64, duals and the tape) run as a
//! property test, so CI exercises them without cargo-fuzz.

use mechml_engine::testing::expr::check_bytes;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_expression_graphs(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Err(e) = check_bytes(&data) {
            prop_assert!(false, "{e}");
        }
    }

    /// Smooth programs only (opcodes below 8), so the finite-difference check runs often.
    #[test]
    fn smooth_expression_graphs(n in 0u8..4, xs in proptest::collection::vec(0u64..4001, 4), code in proptest::collection::vec((0u8..8, any::<u8>(), any::<u8>()), 1..40)) {
        let mut data = vec![n];
        for x in xs { data.extend_from_slice(&x.to_le_bytes()); }
        for (op, a, b) in code { data.extend_from_slice(&[op, a, b]); }
        if let Err(e) = check_bytes(&data) {
            prop_assert!(false, "{e}");
        }
    }
}
