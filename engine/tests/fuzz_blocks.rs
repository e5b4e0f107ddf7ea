//! The `block_ops` fuzz target's checks (arbitrary values into every block operation:
//! no panic; smooth inputs: Cholesky, triangular solves, log-determinant and Gaussian
//! log-density gradients against finite differences) run as a property test, so CI
//! exercises them without cargo-fuzz.

use mechml_engine::testing::blocks::check_block_bytes;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn block_operations_from_bytes(data in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Err(e) = check_block_bytes(&data) {
            prop_assert!(false, "{e}");
        }
    }
}

/// NaN, infinities and an indefinite matrix reach the blocks (the byte pairs `[0xff, 0]`
/// and `[0xff, 1]`): errors, no panic; the smooth part still checks.
#[test]
fn special_values_do_not_panic() {
    let mut data = vec![3, 2, 1];
    for k in 0..40u8 {
        data.extend_from_slice(&[0xff, k % 3]);
    }
    check_block_bytes(&data).unwrap();
    check_block_bytes(&[]).unwrap();
    check_block_bytes(&[7]).unwrap();
}
