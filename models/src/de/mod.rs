//! Learning inside differential equations: universal differential equations (known
//! physics plus a network, Rackauckas et al. 2020, arXiv:2001.04385) trained through the
//! engine's solvers and adjoints, with multiple shooting, minibatches of time windows,
//! Adam then L-BFGS and early stopping; and sparse regression on learned terms (STLSQ,
//! Brunton et al. 2016).
//!
//! | file | what |
//! |---|---|
//! | `ude` | [`UdeRhs`]: `y' = f(t, y) + S g_w(D y)` as an `OdeRhs` |
//! | `data` | [`Trajectory`]: observation times and states, split in time |
//! | `loss` | single-shooting window losses and the multiple-shooting objective, gradients by forward sensitivities, discrete or continuous adjoints |
//! | `train` | [`train()`]: Adam on windows or segments, validation and early stopping, L-BFGS |
//! | `lotka_volterra` | the worked case of Rackauckas et al. (2020): known rates, learned interactions |
//! | `sindy` | [`stlsq`] over a [`PolynomialLibrary`] |
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_engine::nn::{Activation, Init, Mlp};
//! use mechml_engine::ode::{problems::LotkaVolterra, OdeRhs};
//! use mechml_models::de::{trajectory_loss, SolverSettings, Trajectory, UdeRhs};
//!
//! /// Exponential decay y' = −k y; the network learns what is missing.
//! #[derive(Clone)]
//! struct Decay;
//! impl OdeRhs for Decay {
//!     fn n_states(&self) -> usize { 1 }
//!     fn n_params(&self) -> usize { 1 }
//!     fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) { dy[0] = -(p[0] * y[0]); }
//! }
//! let net = Mlp::new(vec![1, 8, 1])?.with_activations(Activation::Tanh, Activation::Identity);
//! let ude = UdeRhs::new(Decay, vec![0.5], net.clone(), vec![0])?;
//! let w = net.init_seeded(Init::GlorotNormal, 1);
//! let ts: Vec<f64> = (0..6).map(|k| k as f64 * 0.5).collect();
//! let data = Trajectory::new(ts.clone(), ts.iter().map(|t| vec![(-0.7 * t).exp()]).collect())?;
//! let l = trajectory_loss(&ude, &w, &data, &SolverSettings::default())?;
//! assert_eq!(l.grad.len(), net.n_params());
//! # let _ = LotkaVolterra;
//! # Ok::<(), mechml_engine::Error>(())
//! ```

pub mod data;
pub mod harelynx;
pub mod loss;
pub mod lotka_volterra;
pub mod sindy;
pub mod train;
pub mod ude;

pub use data::Trajectory;
pub use loss::{SolverSettings, ValueGrad, multiple_shooting_loss, segment_bounds, window_loss};
pub use lotka_volterra::{
    LV_CASE_P, LV_CASE_Y0, LvKnown, lv_observations, lv_true_term, lv_ude, lv_worked_case,
};
pub use sindy::{PolynomialLibrary, SparseModel, stlsq};
pub use train::{EpochRecord, Shooting, TrainOptions, TrainResult, train, trajectory_loss};
pub use ude::UdeRhs;
