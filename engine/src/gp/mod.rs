//! Gaussian processes.

// Index loops mirror the equations (entries (i, j) of several matrices at once).
#![allow(clippy::needless_range_loop)]

pub mod exact;
pub mod inputs;
pub mod kernels;
pub mod sparse;

pub use exact::*;
pub use inputs::Inputs;
pub use kernels::*;
pub use sparse::*;
