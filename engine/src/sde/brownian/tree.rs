//! [`VirtualBrownianTree`]: the reference [`BrownianPath`], a binary tree of Brownian-bridge
//! splits generated on demand (see the [module docs](super)).

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{BrownianPath, DyadicGrid};
use crate::error::{Error, Result};
use crate::sde::seed::{derive_seed, tag};

/// The deepest tree a [`VirtualBrownianTree`] may have (leaf width `span / 2⁴⁰`); deeper
/// trees would lose the exact representation of grid positions in `f64`.
pub const MAX_TREE_DEPTH: u32 = 40;

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

/// A virtual Brownian tree over `[t0, t0 + span]` (see the [module docs](super)).
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
        const OP: &str = "VirtualBrownianTree::new";
        crate::sde::problem::check_interval(OP, t0, t1)?;
        if dim == 0 {
            return Err(Error::invalid_option(
                OP,
                "dim",
                0,
                "≥ 1 (the number of Brownian components)",
            ));
        }
        if opts.depth > MAX_TREE_DEPTH {
            return Err(Error::invalid_option(
                OP,
                "depth",
                opts.depth,
                format!("≤ {MAX_TREE_DEPTH} (use a coarser tolerance or a shorter interval)"),
            ));
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

    /// A builder: the interval, then the dimension, seed, Lévy area and the grid (a
    /// depth, or a fixed-step grid) by name.
    ///
    /// ```
    /// use mechml_engine::sde::VirtualBrownianTree;
    /// // 100 fixed steps on [0, 1] for a 2-dimensional motion with Lévy areas, with 4
    /// // levels below the step size for adaptive refinement.
    /// let w = VirtualBrownianTree::builder(0.0, 1.0)
    ///     .dim(2)
    ///     .seed(42)
    ///     .levy_area(true)
    ///     .fixed_steps(100)
    ///     .extra_levels(4)
    ///     .build()?;
    /// assert_eq!(w.depth(), 7 + 4); // 2⁷ = 128 ≥ 100 cells of the step size
    /// # Ok::<(), mechml_engine::Error>(())
    /// ```
    pub fn builder(t0: f64, t1: f64) -> super::BrownianTreeBuilder {
        super::BrownianTreeBuilder::new(t0, t1)
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
            return Err(Error::invalid_option(
                "VirtualBrownianTree",
                "t",
                t,
                format!(
                    "a time inside the domain [{}, {}] of the Brownian path",
                    self.t0,
                    self.t0 + self.span
                ),
            ));
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
            return Err(Error::invalid_option(
                "VirtualBrownianTree::increment",
                "s",
                s,
                format!("a start time ≤ the end time t = {t}"),
            ));
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
        let mut w = VirtualBrownianTree::builder(0.0, 1.0)
            .seed(3)
            .fixed_steps(n)
            .build()
            .unwrap();
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
            Err(Error::InvalidOption { .. })
        ));
        assert!(matches!(
            w.increment(0.5, 0.2, &mut dw),
            Err(Error::InvalidOption { .. })
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
