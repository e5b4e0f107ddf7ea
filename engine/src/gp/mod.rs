//! Gaussian processes.

// Index loops mirror the equations (entries (i, j) of several matrices at once).
#![allow(clippy::needless_range_loop)]

pub mod exact;
pub mod inputs;
pub mod kernels;
pub mod likelihoods;
pub mod quadrature;
pub mod sparse;
pub mod statespace;
pub(crate) mod workspace;

pub use exact::*;
pub use inputs::Inputs;
pub use kernels::*;
pub use likelihoods::{Bernoulli, Gaussian, Likelihood, Link, Poisson, StudentT};
pub use quadrature::GaussHermite;
pub use sparse::*;
pub use statespace::{MaternOrder, TemporalFitReport, TemporalGp, temporal_lml_var};
