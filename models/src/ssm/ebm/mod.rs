//! The k-box stochastic energy-balance model (k = 1, 2, 3) of Cummins, Stephenson & Stott
//! (2020, J. Climate 33, 7909–7926) and the climate science built on it, usable without
//! the `mechml` program:
//!
//! | capability | module | entry points |
//! |---|---|---|
//! | structure, parameters, data, state-space form | [`model`] | [`KBoxEbm`], [`EbmParams`], [`EbmData`], [`KBoxEbm::state_space`] |
//! | deterministic response, equilibrium | [`response`] | [`KBoxEbm::response`], [`KBoxEbm::equilibrium`] |
//! | climate sensitivity | [`sensitivity`] | [`ecs`](sensitivity::ecs), [`tcr`](sensitivity::tcr), [`ramp_response`](sensitivity::ramp_response) |
//! | maximum-likelihood family, derived quantities, default parameters | [`family`] | [`EbmFamily`], [`Ecs`], [`Tcr`], [`default_params`](family::default_params) |
//! | projections under forcing scenarios | [`projection`] | [`project_ensemble`](projection::project_ensemble), [`parameter_draws`](projection::parameter_draws) |
//! | mixture quantiles, percentiles | [`quantiles`] | [`mixture_quantiles`](quantiles::mixture_quantiles) |
//! | parameter recovery, the synthetic case with known truth | [`recovery`] | [`recovery_study`](recovery::recovery_study) |
//! | Bayesian fit (priors, NUTS), profile-likelihood intervals | [`bayes`] | [`EbmDensity`](bayes::EbmDensity), [`default_prior`](bayes::default_prior), [`sample_posterior`](bayes::sample_posterior), [`profile_intervals`](bayes::profile_intervals) |
//! | the benchmark workload | [`workload`] | [`loglik`](workload::loglik) |
//!
//! The model is checked against an independent re-implementation of the paper's
//! equations (`check/`, tests only).
//!
//! ```
//! use mechml_models::ssm::ebm::{KBoxEbm, sensitivity};
//! let ebm = KBoxEbm::new(2, false, false)?;
//! // C1, C2, κ1 (= λ), κ2, ε, σ_ξ, F, σ_T, T0
//! let p = ebm.params_from_slice(&[8.0, 100.0, 1.3, 0.7, 1.0, 0.5, 1.0, 0.1, 0.0])?;
//! let ecs = sensitivity::ecs(&p, 3.71);
//! assert!((ecs - 3.71 / 1.3).abs() < 1e-15);
//! let tcr = sensitivity::tcr(&ebm, &p, 3.71)?;
//! assert!(tcr > 0.0 && tcr < ecs);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

pub mod bayes;
#[cfg(test)]
mod check;
pub mod family;
pub mod model;
pub mod projection;
pub mod quantiles;
pub mod recovery;
pub mod response;
pub mod sensitivity;
mod state_space;
pub mod workload;

pub use family::{EbmFamily, Ecs, Tcr};
pub use model::{EbmData, EbmParams, EbmPrior, KBoxEbm};
pub use response::EbmResponse;
