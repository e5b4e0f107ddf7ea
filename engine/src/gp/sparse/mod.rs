//! Sparse Gaussian processes.

pub mod collapsed;
pub mod collapsed_bound;

pub use collapsed::{
    SparseFitOptions, SparseFitReport, SparseGp, SparseGpOptions, SparseGradient,
    sparse_objective_var,
};
pub use collapsed_bound::{CollapsedAdjoints, CollapsedFactor, SparseMethod};
