//! Where a gradient pass gets the Brownian increments of the forward solve from.

use crate::error::Result;
use crate::sde::brownian::{BrownianPath, VirtualBrownianTree};
use crate::sde::normal::{NormalLanes, Ziggurat};
use crate::sde::solve::IncrementBuf;

/// A replayable source of the increments of a solve, visited step by step.
pub(crate) trait NoiseReplay {
    /// A position in the sequence of increments (to restart a segment).
    type Pos: Clone;
    /// Number of Brownian components.
    fn dim(&self) -> usize;
    /// Whether it also supplies Lévy areas.
    fn with_area(&self) -> bool;
    /// The current position.
    fn position(&self) -> Self::Pos;
    /// Returns to a position.
    fn seek(&mut self, pos: &Self::Pos);
    /// The increment over the next step `[t, t_next]`.
    fn next(&mut self, t: f64, t_next: f64, inc: &mut IncrementBuf) -> Result<()>;
    /// Whether [`at`](NoiseReplay::at) works (any interval, any order).
    fn random_access(&self) -> bool;
    /// The increment over `[t, t_next]` (random-access sources only).
    fn at(&mut self, t: f64, t_next: f64, inc: &mut IncrementBuf) -> Result<()> {
        self.next(t, t_next, inc)
    }
}

/// Increments queried from a Brownian tree (random access; positions are trivial).
pub(crate) struct TreeNoise {
    tree: VirtualBrownianTree,
    area: bool,
}

impl TreeNoise {
    pub fn new(tree: VirtualBrownianTree, area: bool) -> Self {
        Self { tree, area }
    }
}

impl NoiseReplay for TreeNoise {
    type Pos = ();
    fn dim(&self) -> usize {
        self.tree.dim()
    }
    fn with_area(&self) -> bool {
        self.area
    }
    fn position(&self) {}
    fn seek(&mut self, _: &()) {}
    fn next(&mut self, t: f64, t_next: f64, inc: &mut IncrementBuf) -> Result<()> {
        inc.fill(&mut self.tree, t, t_next)
    }
    fn random_access(&self) -> bool {
        true
    }
}

/// The increments of one ensemble path drawn from its normal stream, exactly as the
/// ensemble's fast path draws them (`√h Z`, and `√(h/12) Z` for areas, with the constant
/// grid step `h`).
pub(crate) struct StreamNoise<'z> {
    lane: NormalLanes,
    zig: &'z Ziggurat,
    scale: Vec<f64>,
    m: usize,
    area: bool,
    buf: Vec<f64>,
}

impl<'z> StreamNoise<'z> {
    pub fn new(seed: u64, zig: &'z Ziggurat, m: usize, h: f64, area: bool) -> Self {
        let mut scale = vec![h.sqrt(); m];
        if area {
            scale.extend(std::iter::repeat_n((h / 12.0).sqrt(), m));
        }
        Self {
            lane: NormalLanes::from_seeds([seed]),
            zig,
            buf: vec![0.0; scale.len()],
            scale,
            m,
            area,
        }
    }
}

impl NoiseReplay for StreamNoise<'_> {
    type Pos = NormalLanes;
    fn dim(&self) -> usize {
        self.m
    }
    fn with_area(&self) -> bool {
        self.area
    }
    fn position(&self) -> NormalLanes {
        self.lane.clone()
    }
    fn seek(&mut self, pos: &NormalLanes) {
        self.lane = pos.clone();
    }
    #[inline]
    fn next(&mut self, t: f64, t_next: f64, inc: &mut IncrementBuf) -> Result<()> {
        inc.set_interval(t, t_next);
        let per = self.scale.len();
        self.lane.fill(self.zig, per, &self.scale, &mut self.buf);
        inc.dw.copy_from_slice(&self.buf[..self.m]);
        if self.area {
            inc.area.copy_from_slice(&self.buf[self.m..]);
        }
        Ok(())
    }
    fn random_access(&self) -> bool {
        false
    }
}
