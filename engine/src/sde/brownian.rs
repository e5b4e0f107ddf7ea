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
//! ([`VirtualBrownianTree::for_fixed_steps`]), adaptive steps by choosing dyadic steps.
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
//! use mechml_engine::sde::{BrownianPath, BrownianTreeOptions, VirtualBrownianTree};
//! let mut w = VirtualBrownianTree::new(0.0, 1.0, 2, 42, BrownianTreeOptions::default())?;
//! let mut a = [0.0; 2];
//! let mut b = [0.0; 2];
//! let mut ab = [0.0; 2];
//! w.increment(0.0, 0.5, &mut a)?;
//! w.increment(0.5, 1.0, &mut b)?;
//! w.increment(0.0, 1.0, &mut ab)?;
//! assert!((a[0] + b[0] - ab[0]).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::seed::{derive_seed, tag};
use crate::error::{Error, Result};

/// The deepest tree a [`VirtualBrownianTree`] may have (leaf width `span / 2⁴⁰`); deeper
/// trees would lose the exact representation of grid positions in `f64`.
pub const MAX_TREE_DEPTH: u32 = 40;

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

/// The grids `t0 + span · j / 2^level`, `level = 0..=depth`, on which a
/// [`VirtualBrownianTree`] is exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DyadicGrid {
    /// Start of the root interval.
    pub t0: f64,
    /// Length of the root interval.
    pub span: f64,
    /// The finest level.
    pub depth: u32,
}

impl DyadicGrid {
    /// Step size at `level`, `span / 2^level`.
    pub fn step(&self, level: u32) -> f64 {
        self.span / (1u64 << level) as f64
    }
    /// The position of `t` in units of the finest cells (snapped to the grid within
    /// rounding).
    pub fn position(&self, t: f64) -> f64 {
        let n = (1u64 << self.depth) as f64;
        let pos = (t - self.t0) / self.span * n;
        let r = pos.round();
        if (pos - r).abs() <= 16.0 * f64::EPSILON * n.max(1.0) {
            r
        } else {
            pos
        }
    }
    /// The time at a position in finest-cell units.
    pub fn time(&self, pos: f64) -> f64 {
        self.t0 + self.span * (pos / (1u64 << self.depth) as f64)
    }
    /// The first grid point of `level` strictly after `t`.
    pub fn next_point(&self, t: f64, level: u32) -> f64 {
        let cells = (1u64 << (self.depth - level.min(self.depth))) as f64;
        let k = (self.position(t) / cells).floor() + 1.0;
        self.time(k * cells)
    }
}

/// Options of a [`VirtualBrownianTree`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BrownianTreeOptions {
    /// Number of levels below the root: the finest grid has `2^depth` cells
    /// (at most [`MAX_TREE_DEPTH`]).
    pub depth: u32,
    /// Whether to generate the space-time Lévy area along with the increments (needed by
    /// SRA1). The tree with area is a different (equally distributed) path
    /// from the tree without.
    pub levy_area: bool,
}

impl Default for BrownianTreeOptions {
    fn default() -> Self {
        Self {
            depth: 20,
            levy_area: false,
        }
    }
}

/// A virtual Brownian tree over `[t0, t0 + span]` (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct VirtualBrownianTree {
    t0: f64,
    span: f64,
    dim: usize,
    depth: u32,
    seed: u64,
    /// `derive_seed(seed, tag::TREE)`: the family of this tree's node seeds.
    node_seed: u64,
    area: bool,
    /// Values of the root: `W` then `H` (`2m`).
    root: Vec<f64>,
    /// `cache_parent[l]`: index (at level `l − 1`) of the node whose children slot `l` holds.
    cache_parent: Vec<u64>,
    /// Slot `l` at `l·4m`: left child `W, H`, right child `W, H` (each `m`).
    cache: Vec<f64>,
    /// Accumulators for a query.
    acc_w: Vec<f64>,
    acc_i: Vec<f64>,
    n_splits: u64,
}

const EMPTY: u64 = u64::MAX;

impl VirtualBrownianTree {
    /// A tree over `[t0, t1]` for an `dim`-dimensional Brownian motion, reproducible from `seed`.
    pub fn new(t0: f64, t1: f64, dim: usize, seed: u64, opts: BrownianTreeOptions) -> Result<Self> {
        if !(t0.is_finite() && t1.is_finite() && t1 > t0) {
            return Err(Error::InvalidArgument {
                op: "VirtualBrownianTree::new",
                message: format!("need finite t0 < t1, got t0 = {t0}, t1 = {t1}"),
            });
        }
        if dim == 0 {
            return Err(Error::InvalidArgument {
                op: "VirtualBrownianTree::new",
                message: "the Brownian motion needs at least one component (dim = 0)".into(),
            });
        }
        if opts.depth > MAX_TREE_DEPTH {
            return Err(Error::InvalidArgument {
                op: "VirtualBrownianTree::new",
                message: format!(
                    "depth {} exceeds the maximum {MAX_TREE_DEPTH}; use a coarser tolerance \
                     or a shorter interval",
                    opts.depth
                ),
            });
        }
        let span = t1 - t0;
        let m = dim;
        let node_seed = derive_seed(seed, tag::TREE);
        // Key 0 (no node has heap index 0) seeds the root's values.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(derive_seed(node_seed, 0));
        let mut root = vec![0.0; 2 * m];
        for c in 0..m {
            let z: f64 = StandardNormal.sample(&mut rng);
            root[c] = span.sqrt() * z;
            if opts.levy_area {
                let z2: f64 = StandardNormal.sample(&mut rng);
                root[m + c] = (span / 12.0).sqrt() * z2;
            }
        }
        let levels = opts.depth as usize + 1;
        Ok(Self {
            t0,
            span,
            dim,
            depth: opts.depth,
            seed,
            node_seed,
            area: opts.levy_area,
            root,
            cache_parent: vec![EMPTY; levels],
            cache: vec![0.0; levels * 4 * m],
            acc_w: vec![0.0; m],
            acc_i: vec![0.0; m],
            n_splits: 0,
        })
    }

    /// A tree whose finest grid contains the fixed-step times `t0 + k·h`, `h = (t1 − t0) /
    /// n_steps`, `k = 0..=n_steps`, with `extra_levels` levels below the step size (for
    /// adaptive refinement). The root covers `[t0, t0 + h·2^⌈log₂ n_steps⌉]`.
    pub fn for_fixed_steps(
        t0: f64,
        t1: f64,
        n_steps: usize,
        dim: usize,
        seed: u64,
        extra_levels: u32,
        levy_area: bool,
    ) -> Result<Self> {
        if n_steps == 0 {
            return Err(Error::InvalidArgument {
                op: "VirtualBrownianTree::for_fixed_steps",
                message: "n_steps must be at least 1".into(),
            });
        }
        let h = (t1 - t0) / n_steps as f64;
        let k = usize::BITS - (n_steps - 1).leading_zeros();
        let span = h * (1u64 << k.min(63)) as f64;
        Self::new(
            t0,
            t0 + span,
            dim,
            seed,
            BrownianTreeOptions {
                depth: k + extra_levels,
                levy_area,
            },
        )
    }

    /// The grid on which the tree is exact.
    pub fn grid(&self) -> DyadicGrid {
        DyadicGrid {
            t0: self.t0,
            span: self.span,
            depth: self.depth,
        }
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Number of levels below the root.
    pub fn depth(&self) -> u32 {
        self.depth
    }
    /// Width of the finest cells, `span / 2^depth`.
    pub fn leaf_width(&self) -> f64 {
        self.span / (1u64 << self.depth) as f64
    }
    /// The time of grid point `j` at level `level`: `t0 + span · j / 2^level`.
    pub fn grid_time(&self, level: u32, j: u64) -> f64 {
        self.t0 + self.span * (j as f64 / (1u64 << level) as f64)
    }
    /// Whether this tree generates space-time Lévy areas.
    pub fn levy_area(&self) -> bool {
        self.area
    }
    /// Number of node splits computed so far (a measure of the cache's efficiency).
    pub fn n_splits(&self) -> u64 {
        self.n_splits
    }
    /// A copy with the same path and an empty cache.
    pub fn fresh(&self) -> Self {
        let mut c = self.clone();
        c.cache_parent.fill(EMPTY);
        c.n_splits = 0;
        c
    }

    /// `W(t) − W(t0)`.
    pub fn value(&mut self, t: f64, out: &mut [f64]) -> Result<()> {
        let t0 = self.t0;
        self.increment(t0, t, out)
    }

    /// The position of `t` in units of the finest cells, snapped to the grid when it is
    /// within rounding of a grid point.
    pub fn position(&self, t: f64) -> Result<f64> {
        let n = (1u64 << self.depth) as f64;
        let pos = self.grid().position(t);
        if !(0.0..=n).contains(&pos) {
            return Err(Error::InvalidArgument {
                op: "VirtualBrownianTree",
                message: format!(
                    "time {t} is outside the domain [{}, {}] of the Brownian path",
                    self.t0,
                    self.t0 + self.span
                ),
            });
        }
        Ok(pos)
    }

    /// The grid index of `t` at `level`, if `t` is a grid point of that level.
    pub fn grid_index(&self, t: f64, level: u32) -> Option<u64> {
        let pos = self.position(t).ok()?;
        if pos.fract() != 0.0 || level > self.depth {
            return None;
        }
        let p = pos as u64;
        let shift = self.depth - level;
        (p & ((1u64 << shift) - 1) == 0).then_some(p >> shift)
    }

    fn check_query(&self, s: f64, t: f64, dw: &[f64]) -> Result<(f64, f64)> {
        if dw.len() != self.dim {
            return Err(Error::ShapeMismatch {
                op: "VirtualBrownianTree::increment",
                arg: "dw",
                expected: format!("len {}", self.dim),
                found: format!("len {}", dw.len()),
            });
        }
        if s.is_nan() || t.is_nan() || s > t {
            return Err(Error::InvalidArgument {
                op: "VirtualBrownianTree::increment",
                message: format!("need s <= t, got s = {s}, t = {t}"),
            });
        }
        Ok((self.position(s)?, self.position(t)?))
    }

    /// Ensures slot `l + 1` holds the children of node `(l, i)`.
    fn ensure_children(&mut self, l: u32, i: u64) {
        let lu = l as usize;
        if self.cache_parent[lu + 1] == i {
            return;
        }
        if l > 0 && self.cache_parent[lu] != i >> 1 {
            self.ensure_children(l - 1, i >> 1);
        }
        let m = self.dim;
        // The node's heap index `2^l + i` names its stream.
        let mut rng =
            Xoshiro256PlusPlus::seed_from_u64(derive_seed(self.node_seed, (1u64 << l) | i));
        let delta = 0.5 * self.span / (1u64 << l) as f64;
        let (lower, upper) = self.cache.split_at_mut((lu + 1) * 4 * m);
        let parent: &[f64] = if l == 0 {
            &self.root
        } else {
            let base = lu * 4 * m + if i & 1 == 1 { 2 * m } else { 0 };
            &lower[base..base + 2 * m]
        };
        let out = &mut upper[..4 * m];
        if self.area {
            let (a, b, c) = (
                (delta / 8.0).sqrt(),
                (delta / 32.0).sqrt(),
                (delta / 24.0).sqrt(),
            );
            for k in 0..m {
                let (w, h) = (parent[k], parent[m + k]);
                let z1: f64 = StandardNormal.sample(&mut rng);
                let z2: f64 = StandardNormal.sample(&mut rng);
                let w1 = 0.5 * w + 1.5 * h + a * z1;
                let h1 = 0.25 * h - b * z1 + c * z2;
                out[k] = w1;
                out[m + k] = h1;
                out[2 * m + k] = w - w1;
                out[3 * m + k] = 2.0 * h - w1 + 0.5 * w - h1;
            }
        } else {
            let a = (0.5 * delta).sqrt();
            for k in 0..m {
                let w = parent[k];
                let z: f64 = StandardNormal.sample(&mut rng);
                let w1 = 0.5 * w + a * z;
                out[k] = w1;
                out[m + k] = 0.0;
                out[2 * m + k] = w - w1;
                out[3 * m + k] = 0.0;
            }
        }
        self.cache_parent[lu + 1] = i;
        self.n_splits += 1;
    }

    /// Offset of node `(l, i)`'s `[W, H]` in `cache` (`None` for the root). Requires the
    /// node's parent to have been split into slot `l`.
    fn node_offset(&self, l: u32, i: u64) -> Option<usize> {
        (l > 0).then(|| l as usize * 4 * self.dim + if i & 1 == 1 { 2 * self.dim } else { 0 })
    }

    /// Adds the contribution of a segment with increment `w`, integral `i` (of `W − W(start)`)
    /// and length `len` to the accumulators (segments arrive left to right).
    fn push_segment(&mut self, l: u32, i: u64, tau: Option<(f64, f64)>, len: f64) {
        let m = self.dim;
        let off = self.node_offset(l, i);
        for k in 0..m {
            let (w, h) = match off {
                None => (self.root[k], self.root[m + k]),
                Some(o) => (self.cache[o + k], self.cache[o + m + k]),
            };
            let (dw, di) = match tau {
                None => (w, len * (0.5 * w + h)),
                Some((ta, tb)) => {
                    // The conditional-mean path inside a leaf of width `cell`:
                    // W(τ) = τ W + 6 τ (1 − τ) H, with antiderivative P(τ)·cell.
                    let cell = len / (tb - ta);
                    let path = |t: f64| t * w + 6.0 * t * (1.0 - t) * h;
                    let prim = |t: f64| 0.5 * t * t * w + (3.0 * t * t - 2.0 * t * t * t) * h;
                    let wa = path(ta);
                    (path(tb) - wa, cell * (prim(tb) - prim(ta)) - len * wa)
                }
            };
            self.acc_i[k] += len * self.acc_w[k] + di;
            self.acc_w[k] += dw;
        }
    }

    /// Visits node `(l, i)` (values available) for the query `[s, e]` in grid units.
    fn visit(&mut self, l: u32, i: u64, s: f64, e: f64) {
        let cells = (1u64 << (self.depth - l)) as f64;
        let a = i as f64 * cells;
        let b = a + cells;
        if e <= a || s >= b {
            return;
        }
        let unit = self.leaf_width();
        if s <= a && e >= b {
            self.push_segment(l, i, None, cells * unit);
            return;
        }
        if l == self.depth {
            let (lo, hi) = (s.max(a), e.min(b));
            self.push_segment(l, i, Some((lo - a, hi - a)), (hi - lo) * unit);
            return;
        }
        self.ensure_children(l, i);
        self.visit(l + 1, 2 * i, s, e);
        self.visit(l + 1, 2 * i + 1, s, e);
    }

    fn query(&mut self, s: f64, t: f64) -> Result<()> {
        self.acc_w.fill(0.0);
        self.acc_i.fill(0.0);
        let (ps, pt) = (self.position(s)?, self.position(t)?);
        if pt > ps {
            self.visit(0, 0, ps, pt);
        }
        Ok(())
    }
}

impl BrownianPath for VirtualBrownianTree {
    fn dim(&self) -> usize {
        self.dim
    }

    fn domain(&self) -> (f64, f64) {
        (self.t0, self.t0 + self.span)
    }

    fn dyadic_grid(&self) -> Option<DyadicGrid> {
        Some(self.grid())
    }

    fn increment(&mut self, s: f64, t: f64, dw: &mut [f64]) -> Result<()> {
        self.check_query(s, t, dw)?;
        self.query(s, t)?;
        dw.copy_from_slice(&self.acc_w);
        Ok(())
    }

    fn has_levy_area(&self) -> bool {
        self.area
    }

    fn increment_with_area(
        &mut self,
        s: f64,
        t: f64,
        dw: &mut [f64],
        area: &mut [f64],
    ) -> Result<()> {
        if !self.area {
            return Err(Error::Unsupported {
                op: "VirtualBrownianTree::increment_with_area",
                reason: "the tree was built without Lévy area; set \
                         `BrownianTreeOptions::levy_area`"
                    .into(),
            });
        }
        self.check_query(s, t, dw)?;
        crate::error::check_len(
            "VirtualBrownianTree::increment_with_area",
            "area",
            area.len(),
            self.dim,
        )?;
        self.query(s, t)?;
        dw.copy_from_slice(&self.acc_w);
        let h = t - s;
        for ((a, &i), &w) in area.iter_mut().zip(&self.acc_i).zip(&self.acc_w) {
            *a = if h > 0.0 { i / h - 0.5 * w } else { 0.0 };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additive_over_adjacent_intervals() {
        let mut w = VirtualBrownianTree::new(
            0.0,
            2.0,
            3,
            7,
            BrownianTreeOptions {
                depth: 6,
                levy_area: true,
            },
        )
        .unwrap();
        let (mut a, mut b, mut ab) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        let (mut ha, mut hb, mut hab) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        // 0.3 and 1.7 are off the grid: exercises the in-leaf polynomial.
        w.increment_with_area(0.3, 1.1, &mut a, &mut ha).unwrap();
        w.increment_with_area(1.1, 1.7, &mut b, &mut hb).unwrap();
        w.increment_with_area(0.3, 1.7, &mut ab, &mut hab).unwrap();
        for k in 0..3 {
            assert!((a[k] + b[k] - ab[k]).abs() < 1e-13);
            // Chen's relation for ∫(W − W(s)) du: I = I₁ + h₂ W₁ + I₂.
            let i1 = 0.8 * (0.5 * a[k] + ha[k]);
            let i2 = 0.6 * (0.5 * b[k] + hb[k]);
            let i = 1.4 * (0.5 * ab[k] + hab[k]);
            assert!((i1 + 0.6 * a[k] + i2 - i).abs() < 1e-13);
        }
    }

    #[test]
    fn sequential_queries_use_few_splits() {
        let n = 1024;
        let mut w = VirtualBrownianTree::for_fixed_steps(0.0, 1.0, n, 1, 3, 0, false).unwrap();
        let mut dw = [0.0];
        let h = 1.0 / n as f64;
        for k in 0..n {
            w.increment(k as f64 * h, (k + 1) as f64 * h, &mut dw)
                .unwrap();
        }
        // A full binary tree with n leaves has n − 1 internal nodes: each split once.
        assert_eq!(w.n_splits(), (n - 1) as u64);
    }

    #[test]
    fn errors_name_the_problem() {
        let mut w = VirtualBrownianTree::new(0.0, 1.0, 1, 0, Default::default()).unwrap();
        let mut dw = [0.0];
        assert!(matches!(
            w.increment(0.5, 2.0, &mut dw),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            w.increment(0.5, 0.2, &mut dw),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            w.increment(0.0, 0.2, &mut [0.0, 0.0]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            w.increment_with_area(0.0, 0.2, &mut dw, &mut [0.0]),
            Err(Error::Unsupported { .. })
        ));
        let deep = BrownianTreeOptions {
            depth: MAX_TREE_DEPTH + 1,
            levy_area: false,
        };
        assert!(VirtualBrownianTree::new(0.0, 1.0, 1, 0, deep).is_err());
    }
}
