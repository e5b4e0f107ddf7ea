//! Stochastic differential equations: reproducible Brownian motion, solvers, ensembles and
//! pathwise gradients.

pub mod brownian;
pub mod seed;

pub use brownian::{BrownianPath, BrownianTreeOptions, MAX_TREE_DEPTH, VirtualBrownianTree};
