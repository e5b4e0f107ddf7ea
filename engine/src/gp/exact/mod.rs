//! Exact GP regression: the log marginal likelihood as one block with a fused
//! hyperparameter pullback ([`lml`](self) equations in its source docs), fitting by L-BFGS
//! ([`ExactGp::fit`], returning the optimisation trace), and posterior predictions
//! ([`ExactPosterior`]). Several outputs may share the kernel and the noise (`Y` is
//! `n × p`). Value and gradient cost about three Cholesky factorisations of `n`.

pub(crate) mod lml;
mod model;
mod predict;

pub use lml::ExactFactor;
pub use model::{ExactGp, ExactGpOptions, FitOptions, FitReport, LmlGradient, exact_lml_var};
pub use predict::{DenseMatrix, ExactPosterior, Prediction};
