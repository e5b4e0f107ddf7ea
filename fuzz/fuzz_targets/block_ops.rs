//! Arbitrary shapes and values (NaN, infinities, indefinite matrices) fed to the block
//! operations: each returns `Ok` or `Err`, never panics; on smooth well-conditioned inputs
//! built from the same bytes, the gradients of the Cholesky factor, the triangular solves,
//! the log-determinant and the Gaussian log-density agree with finite differences (see
//! `mechml_engine::testing::blocks`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = mechml_engine::testing::blocks::check_block_bytes(data) {
        panic!("{e}");
    }
});
