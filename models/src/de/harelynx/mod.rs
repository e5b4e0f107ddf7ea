//! Worked case 3 of `models::de`: Lotka–Volterra parameter inference on the Hudson's Bay
//! Company hare and lynx pelts, 1900–1920, as in Carpenter (2018), "Predator-prey
//! population dynamics: the Lotka-Volterra model in Stan" (Stan case study): log-normal
//! noise with one scale per species, unknown initial state, weakly informative priors.
//! Everything runs through `engine::infer`; the ODE solve is one tape block with
//! forward sensitivities (guide: `docs/de.md`, "ODE parameter inference").
//!
//! | file | what |
//! |---|---|
//! | `data` | [`Pelts`]: checked yearly counts; the shipped record ([`Pelts::hudson_bay`]) |
//! | `density` | [`LvDensity`]: likelihood or posterior on `z = ln θ`; [`LvPriors`] |
//! | `fit` | [`fit_mle`]: multi-start MLE, Laplace and profile intervals; [`simulate`] |
//! | `posterior` | [`sample_posterior`] (NUTS), [`predictive_bands`] |
//! | `plot` | SVG figures (feature `cli`): predictive bands, posterior pairs |
//!
//! ```
//! use mechml_engine::infer::LogDensity;
//! use mechml_models::de::harelynx::{LvDensity, LvPriors, Pelts, default_solver};
//!
//! let data = Pelts::hudson_bay()?;
//! assert_eq!((data.len(), data.years()[0]), (21, 1900.0));
//! let mut d = LvDensity::posterior(&data, &LvPriors::default(), default_solver())?;
//! let z = d.unconstrain(&[0.55, 0.028, 0.8, 0.024, 34.0, 5.9, 0.25, 0.25])?;
//! let (lp, grad) = d.value_and_grad(&z)?;
//! assert!(lp.is_finite() && grad.len() == 8);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

pub mod data;
pub mod density;
pub mod fit;
#[cfg(feature = "cli")]
pub mod plot;
pub mod posterior;

pub use data::{HUDSON_BAY_CSV, Pelts};
pub use density::{LvDensity, LvPriors, PARAM_NAMES, default_solver, solve_lv};
pub use fit::{Interval, MleFit, MleOptions, default_start, fit_mle, simulate};
pub use posterior::{PredictiveBands, SpeciesBands, predictive_bands, sample_posterior};
