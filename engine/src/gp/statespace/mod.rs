//! Temporal GPs in state-space form: a Matérn-ν kernel (ν = 1/2, 3/2, 5/2) on 1-D time is
//! the covariance of a linear SDE ([`sde`]), so its likelihood is a Kalman filter
//! ([`kalman`]) in `O(n)` that equals the dense GP's exactly, and predictions come from the
//! RTS smoother ([`TemporalGp::predict`]). Gradients by dual numbers in one pass.

pub mod kalman;
pub mod model;
pub mod sde;

pub use kalman::kalman_log_likelihood;
pub use model::{TemporalFitReport, TemporalGp, kalman_lml_and_grad, temporal_lml_var};
pub use sde::MaternOrder;
