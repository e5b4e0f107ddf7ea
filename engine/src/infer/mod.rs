//! Bayesian inference with honest uncertainty: log densities over the tape, priors and
//! constraint transforms, the No-U-Turn sampler with Stan-style adaptation, convergence
//! diagnostics, the Laplace approximation, profile-likelihood intervals, and a
//! serialisable posterior.

pub mod density;
pub mod diagnostics;
pub mod model;
pub mod nuts;
pub mod posterior;
pub mod prior;
pub mod stats;
pub mod transform;

pub use density::{LogDensity, NoHessian, RealLogDensity, TapeDensity, TapeFn, is_recoverable};
pub use model::{Likelihood, Model, ParamSpec, Terms};
pub use prior::Prior;
pub use transform::Constraint;
pub use nuts::{AdaptOptions, Init, MetricKind, NutsOptions, sample};
pub use posterior::{Chain, Divergence, DrawStats, Posterior, SamplerDiagnostics};
