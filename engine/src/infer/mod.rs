//! Bayesian inference with honest uncertainty: log densities over the tape, priors and
//! constraint transforms, the No-U-Turn sampler with Stan-style adaptation, convergence
//! diagnostics, the Laplace approximation, profile-likelihood intervals, and a
//! serialisable posterior (guide: `docs/infer.md`).
//!
//! * [`density`]: the [`LogDensity`] interface and its tape adapters ([`TapeDensity`] for a
//!   [`RealLogDensity`] written once over [`Real`](crate::ad::Real), [`TapeFn`] for a
//!   closure that may use block operations).
//! * [`model`], [`prior`], [`transform`]: a [`Model`] on the natural scale — for
//!   `θ = T(z)`, `ln p(z | y) = ln L(θ) + Σ ln π_i(θ_i) + ln |det ∂θ/∂z|` (Carpenter et
//!   al. 2017, J. Stat. Softw. 76(1), §3).
//! * [`nuts`]: multinomial NUTS with the generalised no-U-turn criterion (Hoffman &
//!   Gelman 2014, JMLR 15; Betancourt 2017, arXiv:1701.02434), dual-averaging step size,
//!   windowed diagonal or dense metric adaptation, reproducible parallel chains.
//! * [`diagnostics`]: split-R̂, bulk/tail ESS and MCSE (Vehtari et al. 2021, Bayesian
//!   Analysis 16(2)), E-BFMI (Betancourt 2016), the [`Summary`](diagnostics::Summary).
//! * [`laplace`](mod@laplace): `N(ẑ, (−∇² ln p(ẑ))⁻¹)` from the exact Hessian.
//! * [`profile`](mod@profile): profile-likelihood intervals, open sides reported as open.
//! * [`posterior`]: the serialisable result and posterior predictive draws.
//!
//! Written from the papers above; the design follows Stan's sampler (`base_nuts`,
//! windowed adaptation). nuts-rs (0.19) was considered: it uses rand 0.10 like us, but
//! has no dense metric and no Stan-style windowed adaptation (it adapts a diagonal or
//! low-rank metric from gradients), and brings a storage layer and several dependencies;
//! writing the sampler here keeps the reproducibility contract (one xoshiro stream per
//! chain) and the tape-owning densities simple.

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
