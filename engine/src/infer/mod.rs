//! Bayesian inference with honest uncertainty: log densities over the tape, priors and
//! constraint transforms, the No-U-Turn sampler with Stan-style adaptation, convergence
//! diagnostics, the Laplace approximation, profile-likelihood intervals, and a
//! serialisable posterior.

pub mod density;
pub mod diagnostics;
pub mod laplace;
pub mod model;
pub mod nuts;
pub mod posterior;
pub mod prior;
pub mod profile;
pub mod stats;
pub mod transform;

pub use density::{LogDensity, NoHessian, RealLogDensity, TapeDensity, TapeFn, is_recoverable};
pub use laplace::{HessianMethod, Laplace, LaplaceOptions, laplace};
pub use model::{Likelihood, Model, ParamSpec, Terms};
pub use nuts::{AdaptOptions, Init, MetricKind, NutsOptions, sample};
pub use posterior::{Chain, Divergence, DrawStats, Posterior, SamplerDiagnostics};
pub use prior::Prior;
pub use profile::{Bound, Profile, ProfileInterval, ProfileOptions, profile};
pub use transform::Constraint;
