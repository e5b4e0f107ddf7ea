//! Random expression graphs on f64, dual numbers and the tape: evaluation and
//! differentiation never panic, agree with each other, and agree with finite differences
//! where the function is smooth (see `mechml_engine::testing::expr`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = mechml_engine::testing::expr::check_bytes(data) {
        panic!("{e}");
    }
});
