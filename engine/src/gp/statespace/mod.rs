//! Temporal GPs in state-space form.

pub mod kalman;
pub mod model;
pub mod sde;

pub use kalman::kalman_log_likelihood;
pub use model::{TemporalFitReport, TemporalGp, kalman_lml_and_grad, temporal_lml_var};
pub use sde::MaternOrder;
