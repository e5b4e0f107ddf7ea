//! Sparse Gaussian processes.

pub mod collapsed;
pub mod collapsed_bound;
pub mod inducing;
pub mod svgp;

pub use collapsed::{
    SparseFitOptions, SparseFitReport, SparseGp, SparseGpOptions, SparseGradient,
    sparse_objective_var,
};
pub use collapsed_bound::SparseMethod;
pub use inducing::{GreedySelection, greedy_variance, kmeans};
pub use svgp::{ElboGradient, Svgp, SvgpOptions, SvgpTrainOptions};
