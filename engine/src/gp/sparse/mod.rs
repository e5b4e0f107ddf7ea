//! Sparse Gaussian processes with `M ≪ N` inducing inputs `Z`:
//!
//! * [`collapsed`]: [`SparseGp`] with the Titsias (2009) VFE bound or FITC, the optimal
//!   `q(u)` integrated out; full-batch, `O(N M²)`; gradients in `θ`, `σ²`, `Z` (and `X`, `y`
//!   through the tape block [`sparse_objective_var`]). Equations and adjoints:
//!   [`collapsed_bound`].
//! * [`svgp`]: [`Svgp`], the uncollapsed, whitened ELBO with minibatches, any
//!   [`Likelihood`](crate::gp::Likelihood), and natural-gradient steps for `q(u)`.
//! * [`inducing`]: initial `Z` by greedy conditional variance or k-means++.
//!
//! Identities checked by the tests: VFE ≤ exact log marginal likelihood with equality at
//! `Z = X`; FITC at `Z = X` is the exact GP; the SVGP ELBO at its optimal `q(u)` equals
//! the VFE bound, and one natural-gradient step with `γ = 1` reaches it.

pub mod collapsed;
pub mod collapsed_bound;
pub mod inducing;
pub mod svgp;

pub use collapsed::{
    SparseData, SparseFitReport, SparseGp, SparseGpOptions, SparseGradient, sparse_objective_var,
};
pub use collapsed_bound::SparseMethod;
pub use inducing::{GreedySelection, greedy_variance, kmeans};
pub use svgp::{ElboGradient, Svgp, SvgpOptions, SvgpTrainOptions, svgp_elbo_var};
