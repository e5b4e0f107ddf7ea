//! Runs `engine/examples/extending.rs` (extensions written with the public API only, each
//! checked against finite differences or convergence orders) with the test suite, so the
//! example stays true.

#[path = "../examples/extending.rs"]
mod example;

#[test]
fn the_extending_example_runs_and_its_checks_pass() {
    example::main().unwrap();
}
