//! Exact GP regression: the log marginal likelihood as one block with a fused
//! hyperparameter pullback, fitting, and posterior predictions.

pub(crate) mod lml;
mod model;
mod predict;

pub use lml::ExactFactor;
pub use model::{ExactGp, ExactGpOptions, FitOptions, FitReport, LmlGradient, exact_lml_var};
pub use predict::{DenseMatrix, ExactPosterior, Prediction};
