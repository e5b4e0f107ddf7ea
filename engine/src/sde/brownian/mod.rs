//! Brownian motion as a queryable, reproducible object.
//!
//! [`BrownianPath`] is the extension point: the increment `W(t) − W(s)` of an
//! `m`-dimensional Brownian motion over any `s ≤ t`, and optionally the space-time Lévy area
//! `H_{s,t}` that higher-order additive-noise methods need.
//!
//! [`VirtualBrownianTree`] is the reference implementation: a binary tree over the dyadic
//! subdivision of `[t0, t0 + span]` whose nodes are generated on demand, each from its own
//! seed (Li, Wong, Chen & Duvenaud 2020, "Scalable gradients for stochastic differential
//! equations", AISTATS, arXiv:2001.01328, §4), with a per-level cache of the last split so
//! that queries in time order (a forward solve) or reverse time order (an adjoint) cost O(1)
//! splits each, in the spirit of the Brownian interval of Kidger, Foster, Li & Lyons (2021,
//! "Efficient and accurate gradients for neural SDEs", NeurIPS, arXiv:2105.13493, §4).
//!
//! # Exactness
//! Increments between grid points `t0 + span·j/2^depth` are exact samples of Brownian
//! motion (and of its space-time Lévy area). Below the finest level the path is the
//! conditional mean given the leaf's values: linear interpolation, or, with Lévy area, the
//! polynomial `W(a + τδ) = τ W + 6τ(1−τ) H` (Foster, Lyons & Oberhauser 2020, "An optimal
//! polynomial approximation of Brownian motion", SIAM J. Numer. Anal. 58(3),
//! arXiv:1904.06998, Thm 2.4). Queries are then still consistent (additive over adjacent
//! intervals) but no longer exact samples; their error is bounded by the leaf width.
//! Solvers in this module step on the grid: fixed steps by construction
//! ([`BrownianTreeBuilder::fixed_steps`]), adaptive steps by choosing dyadic steps.
//!
//! # Reproducibility
//! Every node's values are a fixed function of the seed and the node's position (see
//! [`seed`](super::seed)), so the value of any query does not depend on which queries came
//! before it: querying in a different order gives bitwise-identical results. The cache
//! only saves work.
//!
//! # Splitting rules
//! A node over an interval of length `2δ` with increment `W` (and area `H`) is split at its
//! midpoint into children `(W₁, H₁)`, `(W₂, H₂)`. Without area, `W₁ = W/2 + √(δ/2) Z`
//! (the Brownian bridge). With area, conditioning the four independent Gaussians
//! `W₁, H₁, W₂, H₂` (variances `δ, δ/12`) on `W = W₁ + W₂` and
//! `H = (W₁ − W₂)/4 + (H₁ + H₂)/2` gives
//! ```text
//! W₁ = W/2 + 3H/2 + √(δ/8) Z₁,      H₁ = H/4 − √(δ/32) Z₁ + √(δ/24) Z₂,
//! W₂ = W − W₁,                      H₂ = 2H − W₁ + W/2 − H₁,
//! ```
//! with `Z₁, Z₂` independent standard normals (derived in `docs/sde.md`).
//!
//! ```
//! use mechml_engine::sde::{BrownianPath, VirtualBrownianTree};
//! let mut w = VirtualBrownianTree::builder(0.0, 1.0).dim(2).seed(42).build()?;
//! let mut a = [0.0; 2];
//! let mut b = [0.0; 2];
//! let mut ab = [0.0; 2];
//! w.increment(0.0, 0.5, &mut a)?;
//! w.increment(0.5, 1.0, &mut b)?;
//! w.increment(0.0, 1.0, &mut ab)?;
//! assert!((a[0] + b[0] - ab[0]).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod builder;
mod grid;
mod tree;

pub use builder::BrownianTreeBuilder;
pub use grid::DyadicGrid;
pub use tree::{BrownianTreeOptions, MAX_TREE_DEPTH, VirtualBrownianTree};

use crate::error::{Error, Result};

/// An `m`-dimensional Brownian motion that can be queried over any interval.
///
/// Implementations must be deterministic: the same query gives the same answer whatever
/// happened before (so that a solver and its adjoint see the same path).
pub trait BrownianPath {
    /// Number of independent components `m`.
    fn dim(&self) -> usize;

    /// The interval `[start, end]` on which the path is defined.
    fn domain(&self) -> (f64, f64);

    /// Writes `W(t) − W(s)` into `dw` (length [`dim`](Self::dim)), for `s ≤ t` in the domain.
    fn increment(&mut self, s: f64, t: f64, dw: &mut [f64]) -> Result<()>;

    /// The dyadic grid on which this path is exact, if it has one (adaptive solvers step
    /// on it; see [`DyadicGrid`]).
    fn dyadic_grid(&self) -> Option<DyadicGrid> {
        None
    }

    /// Whether [`increment_with_area`](Self::increment_with_area) is available.
    fn has_levy_area(&self) -> bool {
        false
    }

    /// Writes `W(t) − W(s)` into `dw` and the space-time Lévy area
    /// `H_{s,t} = (1/h) ∫ₛᵗ (W(u) − W(s) − (u−s)/h · (W(t) − W(s))) du`, `h = t − s`, into
    /// `area`. Then `∫ₛᵗ (W(u) − W(s)) du = h (dw/2 + area)`.
    fn increment_with_area(
        &mut self,
        _s: f64,
        _t: f64,
        _dw: &mut [f64],
        _area: &mut [f64],
    ) -> Result<()> {
        Err(Error::Unsupported {
            op: "BrownianPath::increment_with_area",
            reason: "this Brownian path has no space-time Lévy area; build it with \
                     `levy_area: true`"
                .into(),
        })
    }
}
