//! Temporal GPs in state-space form: a kernel on 1-D time with a state-space form
//! ([`StateSpaceKernel`]: the Matérn-ν kernels, ν = 1/2, 3/2, 5/2, in [`matern`]) is the
//! covariance of a linear SDE, so its likelihood is a Kalman filter in `O(n)` that equals
//! the dense GP's exactly, and predictions come from the RTS smoother
//! ([`TemporalGp::predict`]). The filter, its hand-written adjoint (the gradient) and the
//! smoother are the engine's one implementation in [`crate::ssm`] ([`filter`]).
//!
//! | capability | entry points |
//! |---|---|
//! | the state-space form of a kernel | [`StateSpaceKernel`], [`MaternOrder`] |
//! | likelihood, gradient, fit, prediction | [`TemporalGp`] |
//! | likelihood as one tape block | [`temporal_lml_var`] |

pub mod block;
pub mod filter;
pub mod kernel;
pub mod matern;
pub mod model;

pub use block::temporal_lml_var;
pub use kernel::{StateSpaceKernel, process_noise_into};
pub use matern::MaternOrder;
pub use model::{TemporalFitReport, TemporalGp};
