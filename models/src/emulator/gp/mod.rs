//! GP emulators on the engine's kernels: a regression mean with GLS coefficients,
//! fixed, fitted or known (heteroscedastic) nuggets, ML/REML or MAP with hyperpriors,
//! restarts; several outputs as independent GPs fitted together, and a PCA basis for
//! field outputs, a coregionalised (ICM/LMC) multi-output GP, and a gradient-enhanced GP
//! for simulators that supply `∂y/∂x`.

mod coregional;
mod emulator;
mod gradient;
mod kernel;
mod kronecker;
mod likelihood;
mod mean;
mod multi;
mod options;
mod pca;
mod predict;

pub use coregional::{CoregionalGp, CoregionalOptions};
pub use emulator::{EmuPrediction, EmulatorFit, GpEmulator, PointGradient};
pub use gradient::{GradientGp, GradientGpOptions, joint_covariance_block};
pub use kernel::{EmuKernel, KernelFamily};
pub use mean::{MeanBasis, MeanFunction};
pub use multi::MultiOutputEmulator;
pub use options::{EmulatorOptions, HyperPrior, Nugget, Objective};
pub use pca::{Components, PcaEmulator};
pub use predict::PREDICT_CHUNK;
