//! Gaussian processes: kernels, exact regression, sparse and stochastic variational
//! approximations, and temporal GPs in state-space form — every objective differentiable in
//! its hyperparameters (and inputs), as one block on the tape.
//!
//! # Model
//! `f ~ GP(0, k_θ)`, observations `y = f(X) + ε`. With `K = k_θ(X, X)`:
//!
//! | capability | objective | cost | module |
//! |---|---|---|---|
//! | exact regression | `log N(y | 0, K + σ²I)` (Rasmussen & Williams 2006, eq. 2.30) | `O(n³)` | [`exact`] |
//! | VFE (Titsias 2009) | `log N(y | 0, Q + σ²I) − tr(K − Q)/(2σ²)`, `Q = K_fu K_uu⁻¹ K_uf` | `O(n m²)` | [`sparse::collapsed`] |
//! | FITC (Snelson & Ghahramani 2006) | `log N(y | 0, Q + diag(K − Q) + σ²I)` | `O(n m²)` | [`sparse::collapsed`] |
//! | SVGP (Hensman et al. 2013, 2015) | `Σᵢ E_q[log p(yᵢ | fᵢ)] − KL(q(u) ‖ p(u))`, minibatches | `O(b m² + m³)` | [`sparse::svgp`] |
//! | temporal (Hartikainen & Särkkä 2010) | Kalman-filter `log p(y)` for Matérn-ν/2 kernels in 1-D time | `O(n)` | [`statespace`] |
//!
//! **Gradients.** The exact likelihood's pullback is `K̄ = ½(ααᵀ − K⁻¹)` (R&W eq. 5.9),
//! formed once from the Cholesky factor and contracted entry by entry with `∂K/∂θ` and
//! `∂K/∂X` by [`Kernel::matrix_pullback`] (no `n × n` matrix per hyperparameter): about
//! three Cholesky factorisations for value and gradient. The collapsed bounds use the
//! Woodbury identity to keep every adjoint `O(n m²)` (derivation in
//! [`sparse::collapsed_bound`]); the SVGP ELBO's adjoints and the natural-gradient step
//! (Salimbeni, Eleftheriadis & Hensman 2018) are derived in [`sparse::svgp`]; temporal GPs
//! run the engine's one Kalman filter ([`crate::ssm`]) and its hand-written adjoint, in
//! `O(n)` ([`statespace::filter`]).
//!
//! **Parameters** live in one place: a model's vector `θ` on the natural scale, described
//! by a [`ParamLayout`](crate::param::ParamLayout) (names, transforms, values). Kernels
//! and likelihoods describe structure only and evaluate at a slice of `θ`. The order is
//! GPflow's and scikit-learn's: the kernel's parameters (`variance` first, then
//! `lengthscale` or `lengthscale[i]`, `period`, …; `k0.…`, `k1.…` inside sums and
//! products, which carry one `variance`), then the likelihood's (`noise_variance`).
//! Gradients come on the natural scale and on the unconstrained one (`log θ` for the
//! positive parameters, where fits run); a fit takes
//! [`optim::FitOptions`](crate::optim::FitOptions) and holds parameters fixed by name or
//! group (`"lengthscale"`, `"inducing"`).
//!
//! **Numerics.** Exact GPs escalate jitter per a [`JitterPolicy`](crate::linalg::JitterPolicy)
//! and report what they added; sparse models add a fixed jitter to `K_uu` (default `10⁻⁶`,
//! as the peers). Every failure is an [`Error`](crate::Error) naming the matrix and pivot.
//!
//! # Example
//! ```
//! use mechml_engine::gp::{ExactGp, Inputs, Matern52};
//! use mechml_engine::optim::FitOptions;
//! // Noisy samples of sin on [0, 6].
//! let xs: Vec<f64> = (0..60).map(|i| i as f64 * 0.1).collect();
//! let y: Vec<f64> = xs.iter().enumerate().map(|(i, v)| v.sin() + 0.05 * ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
//! // θ = (variance, lengthscale, noise_variance), natural scale.
//! let mut gp = ExactGp::new(Matern52::isotropic(), Inputs::from_1d(&xs)?, &y, &[1.0, 1.0, 0.1])?;
//! let report = gp.fit(&FitOptions::default())?;      // L-BFGS on −log p(y), with its trace
//! assert!(report.optim.converged());
//! let post = gp.posterior()?;
//! let p = post.predict(&Inputs::from_1d(&[2.05])?, false)?;
//! assert!((p.mean[(0, 0)] - 2.05f64.sin()).abs() < 0.05);
//! assert!(p.var[0] < 0.01);
//! # Ok::<(), mechml_engine::Error>(())
//! ```
//!
//! # References
//! * Rasmussen & Williams (2006), *Gaussian Processes for Machine Learning*, MIT Press.
//! * Titsias (2009), "Variational learning of inducing variables in sparse Gaussian
//!   processes", AISTATS.
//! * Snelson & Ghahramani (2006), "Sparse Gaussian processes using pseudo-inputs", NeurIPS.
//! * Hensman, Fusi & Lawrence (2013), "Gaussian processes for big data", UAI; Hensman,
//!   Matthews & Ghahramani (2015), "Scalable variational Gaussian process classification",
//!   AISTATS.
//! * Salimbeni, Eleftheriadis & Hensman (2018), "Natural gradients in practice", AISTATS.
//! * Burt, Rasmussen & van der Wilk (2020), "Convergence of sparse variational inference in
//!   Gaussian processes regression", JMLR 21.
//! * Hartikainen & Särkkä (2010), "Kalman filtering and smoothing solutions to temporal
//!   Gaussian process regression models", MLSP.
//! * Murray (2016), "Differentiation of the Cholesky decomposition", arXiv:1602.07527.

// Index loops mirror the equations (entries (i, j) of several matrices at once).
#![allow(clippy::needless_range_loop)]

pub mod exact;
mod fit;
pub mod inputs;
pub mod kernels;
pub mod likelihoods;
pub(crate) mod params;
pub mod quadrature;
pub mod sparse;
pub mod statespace;
pub(crate) mod workspace;

pub use exact::{
    DenseMatrix, ExactFactor, ExactGp, ExactGpOptions, ExactPosterior, FitReport, LmlGradient,
    Prediction, exact_lml_var,
};
pub use inputs::Inputs;
pub use kernels::{
    ActiveDims, Kernel, KernelAdjoints, KernelExt, Linear, Matern12, Matern12Profile, Matern32,
    Matern32Profile, Matern52, Matern52Profile, Periodic, Product, Profile, RationalQuadratic,
    RqProfile, Scaled, SeProfile, SquaredExponential, Stationary, Sum, White, fold_symmetric,
    kernel_diag, kernel_diag_var, kernel_matrix, kernel_matrix_var,
};
pub use likelihoods::{Bernoulli, Gaussian, Likelihood, Link, Poisson, StudentT};
pub use quadrature::GaussHermite;
pub use sparse::{
    ElboGradient, GreedySelection, SparseData, SparseFitReport, SparseGp, SparseGpOptions,
    SparseGradient, SparseMethod, Svgp, SvgpOptions, SvgpTrainOptions, greedy_variance, kmeans,
    sparse_objective_var, svgp_elbo_var,
};
pub use statespace::{MaternOrder, TemporalFitReport, TemporalGp, temporal_lml_var};

/// The code in `docs/gp.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/gp.md")]
struct GpGuide;
