//! [`SparseGp`]: regression with the collapsed VFE bound or the FITC likelihood, with
//! gradients in the hyperparameters, the noise and the inducing inputs; fitting by L-BFGS
//! (the inducing inputs are the parameter group `inducing`); predictions; and the tape
//! block [`sparse_objective_var`]. Equations and adjoints:
//! [`collapsed_bound`](super::collapsed_bound).

mod model;
mod objective;
mod tape;

pub use model::{SparseFitReport, SparseGp, SparseGpOptions, SparseGradient};
pub use tape::{SparseData, sparse_objective_var};
