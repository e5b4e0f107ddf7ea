//! Gaussian processes.

pub mod exact;
pub mod inputs;
pub mod kernels;
pub mod sparse;

pub use exact::*;
pub use inputs::Inputs;
pub use kernels::*;
pub use sparse::*;
