//! [`BrownianTreeBuilder`]: a [`VirtualBrownianTree`] described by name.

use super::tree::{BrownianTreeOptions, VirtualBrownianTree};
use crate::error::{Error, Result};

/// Builds a [`VirtualBrownianTree`] (from [`VirtualBrownianTree::builder`]).
///
/// The finest grid is either `2^depth` cells over `[t0, t1]` ([`depth`](Self::depth),
/// default 20) or the fixed-step grid `t0 + k h`, `h = (t1 − t0) / n_steps`
/// ([`fixed_steps`](Self::fixed_steps): the root then covers `[t0, t0 + h·2^⌈log₂ n⌉]`, so
/// the step times are grid points even when `n_steps` is not a power of 2); either is
/// refined by [`extra_levels`](Self::extra_levels) more levels (for adaptive steps below
/// the base grid).
#[derive(Clone, Copy, Debug, PartialEq)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct BrownianTreeBuilder {
    t0: f64,
    t1: f64,
    dim: usize,
    seed: u64,
    levy_area: bool,
    depth: Option<u32>,
    fixed_steps: Option<usize>,
    extra_levels: u32,
}

impl BrownianTreeBuilder {
    /// A builder for `[t0, t1]`: one component, seed 0, no Lévy area, depth 20.
    pub fn new(t0: f64, t1: f64) -> Self {
        Self {
            t0,
            t1,
            dim: 1,
            seed: 0,
            levy_area: false,
            depth: None,
            fixed_steps: None,
            extra_levels: 0,
        }
    }

    /// The number of independent components `m` (≥ 1).
    pub fn dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        self
    }

    /// The seed (the path is a fixed function of it).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether to generate the space-time Lévy area along with the increments (needed by
    /// [`Sra1`](crate::sde::Sra1)); the tree with area is a different, equally distributed
    /// path.
    pub fn levy_area(mut self, levy_area: bool) -> Self {
        self.levy_area = levy_area;
        self
    }

    /// `2^depth` finest cells over `[t0, t1]` (not with [`fixed_steps`](Self::fixed_steps)).
    pub fn depth(mut self, depth: u32) -> Self {
        self.depth = Some(depth);
        self
    }

    /// The finest grid contains the times of `n_steps` fixed steps over `[t0, t1]`.
    pub fn fixed_steps(mut self, n_steps: usize) -> Self {
        self.fixed_steps = Some(n_steps);
        self
    }

    /// Levels below the base grid (the fixed steps, or `2^depth` cells).
    pub fn extra_levels(mut self, extra_levels: u32) -> Self {
        self.extra_levels = extra_levels;
        self
    }

    /// The tree; errors for an invalid interval, `dim = 0`, a depth beyond
    /// [`MAX_TREE_DEPTH`](super::MAX_TREE_DEPTH), `n_steps = 0`, or both a depth and fixed
    /// steps.
    pub fn build(self) -> Result<VirtualBrownianTree> {
        const OP: &str = "VirtualBrownianTree::builder";
        let Self {
            t0,
            t1,
            dim,
            seed,
            levy_area,
            depth,
            fixed_steps,
            extra_levels,
        } = self;
        let Some(n_steps) = fixed_steps else {
            let depth = depth.unwrap_or(20).saturating_add(extra_levels);
            return VirtualBrownianTree::new(
                t0,
                t1,
                dim,
                seed,
                BrownianTreeOptions { depth, levy_area },
            );
        };
        if let Some(d) = depth {
            return Err(Error::invalid_option(
                OP,
                "depth",
                d,
                "unset with fixed_steps (the finest grid is then the step grid; add levels \
                 with extra_levels)",
            ));
        }
        if n_steps == 0 {
            return Err(Error::invalid_option(OP, "fixed_steps", 0, "≥ 1"));
        }
        let h = (t1 - t0) / n_steps as f64;
        let k = usize::BITS - (n_steps - 1).leading_zeros();
        let span = h * (1u64 << k.min(63)) as f64;
        VirtualBrownianTree::new(
            t0,
            t0 + span,
            dim,
            seed,
            BrownianTreeOptions {
                depth: k.saturating_add(extra_levels),
                levy_area,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sde::BrownianPath;

    #[test]
    fn fixed_step_grid_contains_the_step_times() {
        let w = VirtualBrownianTree::builder(0.0, 3.0)
            .fixed_steps(5)
            .build()
            .unwrap();
        // h = 0.6, root over [0, 0.6 · 8]: every step time is a finest-grid point.
        assert_eq!(w.depth(), 3);
        for k in 0..=5u64 {
            assert_eq!(w.grid_index(k as f64 * 0.6, 3), Some(k));
        }
        assert!(w.domain().1 >= 3.0);
    }

    #[test]
    fn builder_errors_name_the_setting() {
        let e = VirtualBrownianTree::builder(0.0, 1.0)
            .fixed_steps(10)
            .depth(4)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("depth"), "{e}");
        let e = VirtualBrownianTree::builder(0.0, 1.0)
            .fixed_steps(0)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("fixed_steps"), "{e}");
        assert!(
            VirtualBrownianTree::builder(0.0, 1.0)
                .dim(0)
                .build()
                .is_err()
        );
        assert!(VirtualBrownianTree::builder(1.0, 0.0).build().is_err());
    }
}
