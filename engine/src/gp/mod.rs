//! Gaussian processes.

pub mod inputs;
pub mod kernels;

pub use inputs::Inputs;
pub use kernels::*;
