//! Exact GP regression: the log marginal likelihood as one block with a fused
//! hyperparameter pullback ([`lml`](self) equations in its source docs), fitting by L-BFGS
//! ([`ExactGp::fit`], returning the optimisation trace), posterior predictions
//! ([`ExactPosterior`]) and the tape block [`exact_lml_var`]. Several outputs may share the
//! kernel and the noise (`Y` is `n × p`). Value and gradient cost about three Cholesky
//! factorisations of `n`.

pub(crate) mod lml;
mod model;
mod predict;
mod tape;

pub use lml::ExactFactor;
pub use model::{ExactGp, ExactGpOptions, FitReport, LmlGradient};
pub use predict::{DenseMatrix, ExactPosterior, Prediction};
pub use tape::exact_lml_var;
