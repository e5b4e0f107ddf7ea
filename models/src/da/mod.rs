//! Data assimilation: ensemble Kalman filters, variational methods and twin experiments on
//! Lorenz-96, with hybrid assimilation of a learned model correction.
//!
//! | capability | module | entry points |
//! |---|---|---|
//! | ensembles (members × state) | [`ensemble`] | [`Ensemble`] |
//! | models: Lorenz-96 (one-, two-scale), Lorenz-63, linear; RK4; TLM/adjoint | [`dynamics`] | [`Model`], [`Rk4`], [`Lorenz96`] |
//! | observation operators | [`obs`] | [`ObsOperator`], [`ObsModel`] |
//! | EnKF, DEnKF, ETKF, serial EnSRF, EnKF-N, LETKF | [`analysis`] | [`EnsembleFilter`], [`analysis::Letkf`] |
//! | climatology, OI, 3D-Var, extended KF | [`baselines`] | [`baselines::Var3d`], [`baselines::ExtendedKf`] |
//! | ensemble Kalman smoother | [`enks`] | [`enks::EnsembleSmoother`] |
//! | strong-constraint incremental 4D-Var | [`var4d`] | [`var4d::Var4d`] |
//! | hybrid DA + ML | [`hybrid`], [`network_correction`] | [`hybrid::run_hybrid`] |
//! | twin experiments | [`twin`] | [`twin::TwinConfig`], [`twin::run_twin`] |

pub mod analysis;
pub mod baselines;
pub mod dynamics;
pub mod enks;
pub mod ensemble;
pub mod hybrid;
pub(crate) mod linalg;
pub mod network_correction;
pub mod obs;
pub mod twin;
pub mod var4d;

pub use analysis::{AnalysisScheme, EnsembleFilter, FilterOptions};
pub use dynamics::{LinearModel, Lorenz63, Lorenz96, Lorenz96TwoScale, Model, Rhs, Rk4};
pub use ensemble::Ensemble;
pub use obs::{Nonlinearity, ObsModel, ObsOperator};
