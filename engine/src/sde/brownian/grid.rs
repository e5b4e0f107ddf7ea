//! The dyadic grids on which a Brownian tree is exact.

/// The grids `t0 + span · j / 2^level`, `level = 0..=depth`, on which a
/// [`VirtualBrownianTree`](super::VirtualBrownianTree) is exact.
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
