//! Maximum-likelihood fitting of parametrised linear-Gaussian state-space models.
//!
//! A model family ([`ParametricSsm`]) maps named parameters θ to a
//! [`LinearGaussianSsm`](crate::ssm::LinearGaussianSsm), generically over
//! [`Real`](mechml_engine::ad::Real). The parameters are described by the engine's one
//! vocabulary: a [`ParamLayout`] of named [`Param`]s (transform to the unconstrained scale,
//! starting or held value, fixed or free), and the fit is controlled by the engine's
//! [`FitOptions`] (starts, spread, seed, L-BFGS options, parameters held by name, Hessian);
//! [`default_fit_options`] gives the state-space defaults. Fitting works on the free
//! unconstrained coordinates z (zᵢ = ln θᵢ for positive parameters, zᵢ = θᵢ for real ones;
//! fixed parameters are held at their values):
//!
//! * the objective −ℓ(θ(z))/n is recorded on a tape (the filter as one block,
//!   differentiated as [`ParametricSsm::kalman_gradient`] says) and minimised by L-BFGS
//!   ([`lbfgs()`](mechml_engine::optim::lbfgs())) from several starts (the given start and
//!   seeded perturbations of it, run in parallel, the best kept: the result does not
//!   depend on the number of threads);
//! * the observed information H = −∇²_z ℓ at the optimum is assembled from exact
//!   Hessian–vector products (forward over reverse: the tape runs in dual numbers, the
//!   filter's adjoint too) ([`observed_information`]);
//! * standard errors come from Σ_z = H⁻¹: on the natural scale by the delta method,
//!   se(θᵢ) = |T'(zᵢ)| se(zᵢ) (θᵢ se(zᵢ) for log-parameters), with 95 % intervals
//!   T(zᵢ ± 1.96 se(zᵢ)) (exp(zᵢ ± 1.96 se(zᵢ)) for log-parameters; Pawitan 2001, "In All
//!   Likelihood", §9.7); for any derived quantity g(θ) by se(g) = √(∇_z gᵀ Σ_z ∇_z g)
//!   ([`delta_method`]);
//! * information criteria AIC = 2k − 2ℓ and BIC = k ln n − 2ℓ (k free parameters, n
//!   observed scalars).
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_models::ssm::{LinearGaussianSsm, Observations};
//! use mechml_models::ssm::fit::{Param, ParamLayout, ParametricSsm, default_fit_options, fit_mle};
//!
//! /// AR(1) plus noise: x' = φ x + w (var q), y = x + v (var 0.1).
//! struct Ar1 { data: Observations }
//! impl ParametricSsm for Ar1 {
//!     fn param_names(&self) -> Vec<String> { vec!["phi".into(), "q".into()] }
//!     fn build<R: Real>(&self, th: &[R]) -> mechml_engine::Result<LinearGaussianSsm<R>> {
//!         let c = R::from_f64;
//!         LinearGaussianSsm::time_invariant(1, 1, vec![th[0]], vec![th[1]], vec![c(1.0)],
//!             vec![c(0.1)], vec![c(0.0)], vec![th[1] / (R::one() - th[0] * th[0])])
//!     }
//!     fn observations(&self) -> &Observations { &self.data }
//! }
//! let y: Vec<f64> = (0..200).map(|t| ((t as f64) * 0.3).sin()).collect();
//! let model = Ar1 { data: Observations::univariate(y)? };
//! let params = ParamLayout::new(vec![Param::real("phi", 0.5), Param::positive("q", 0.1)])?;
//! let fit = fit_mle(&model, &params, &default_fit_options(), &|_| {})?;
//! assert!(fit.converged && fit.estimate[0] > 0.8);
//! assert!(fit.se[0].unwrap() > 0.0);
//! // Hold q at its starting value, by name.
//! let held = fit_mle(&model, &params, &default_fit_options().fixing(&["q"]), &|_| {})?;
//! assert_eq!((held.n_free, held.estimate[1]), (1, 0.1));
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod inference;
mod likelihood;
mod mle;
mod problem;
mod result;

pub use inference::{delta_method, sample_parameters};
pub use likelihood::{loglik_at, observed_information};
pub use mechml_engine::optim::FitOptions;
pub use mechml_engine::param::{Param, ParamLayout, Transform};
pub use mle::fit_mle;
pub(crate) use problem::check_layout;
pub use problem::{Derived, ParametricSsm, default_fit_options, unconstrained};
pub use result::{DerivedEstimate, FitProgress, MleFit, StartReport, TraceRow, Z95};
