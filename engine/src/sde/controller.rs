//! Adaptive steps on the dyadic grid of a Brownian tree: the shared
//! [`StepController`] proposes a step, the driver rounds it down to the grid.
//!
//! Adaptive SDE solvers must not resample the noise of a rejected step: the retried,
//! smaller steps have to see the *same* Brownian path, conditioned on what was already
//! drawn, or the solution is biased (Gaines & Lyons 1997, "Variable step size control in
//! the numerical solution of stochastic differential equations", SIAM J. Appl. Math. 57(5);
//! Rackauckas & Nie 2017, "Adaptive methods for SDEs via natural embeddings and rejection
//! sampling with memory", DCDS-B 22(7)). Following Gaines & Lyons, steps here are the
//! cells of the dyadic grids of a [`VirtualBrownianTree`](super::VirtualBrownianTree): a
//! step at level `k` goes from `t` to the next grid point of spacing `span/2^k`, and a
//! rejected step is retried at a finer level, whose increments the tree produces by
//! Brownian-bridge refinement of the one just rejected; the path is never resampled.
//!
//! The step sizes come from any [`StepController`] (the one extension point of ODE and SDE
//! solvers), fed with the scaled error norm of [`Tolerance::error_norm`]. The driver
//! *quantises* each proposal `h` to the level `⌈log₂(span / h)⌉` (the largest grid step not
//! above `h`), bounded below by `h_max`'s level and above by the tree's depth; a rejection
//! always refines by at least one level. The controller is told the grid step of the level
//! it is on (steps shortened to land on a save time or `t1` do not shrink it). The default,
//! [`DyadicController`], proposes powers of two of the current step, so its proposals are
//! grid steps themselves.
//!
//! Every loop is bounded: at most `max_steps` attempts (accepted + rejected) and no level
//! beyond the tree's depth; either bound is an error naming the time.
//!
//! ```
//! use mechml_engine::solver::PiController;
//! use mechml_engine::sde::AdaptiveOptions;
//! // Scalar tolerances with the default controller, or per-component absolute
//! // tolerances and a PI controller.
//! let a = AdaptiveOptions::with_tol(1e-3, 1e-6);
//! let b = AdaptiveOptions::with_tol(1e-3, vec![1e-6, 1e-8]).with_controller(PiController::pi(0.3, 0.3));
//! assert_eq!(b.controller.name(), "PiController");
//! # let _ = a;
//! ```

use std::fmt;

use crate::error::{Error, Result};
use crate::solver::{ComponentTol, StepController, StepDecision, Tolerance};

/// Options of adaptive stepping.
#[derive(Clone, Debug)]
pub struct AdaptiveOptions {
    /// Relative and absolute tolerances (scalar or per component; one validation rule,
    /// [`Tolerance::validate`]). Default `rtol = 1e-3`, `atol = 1e-6`.
    pub tol: Tolerance,
    /// Initial step (finite, > 0; rounded down to the grid); default `(t1 − t0) / 64`.
    pub h0: Option<f64>,
    /// Largest step (> 0, may be `∞`; rounded down to the grid); default `t1 − t0`.
    pub h_max: Option<f64>,
    /// Bound on attempted steps (accepted + rejected), ≥ 1.
    pub max_steps: usize,
    /// The step-size controller (default [`DyadicController`]).
    pub controller: AnyController,
}

impl Default for AdaptiveOptions {
    fn default() -> Self {
        Self {
            tol: Tolerance::new(1e-3, 1e-6),
            h0: None,
            h_max: None,
            max_steps: 1_000_000,
            controller: AnyController::default(),
        }
    }
}

impl AdaptiveOptions {
    /// Options with these tolerances (scalars or per-component lists) and defaults
    /// elsewhere.
    pub fn with_tol(rtol: impl Into<ComponentTol>, atol: impl Into<ComponentTol>) -> Self {
        Self {
            tol: Tolerance::new(rtol, atol),
            ..Self::default()
        }
    }

    /// The same options with another step-size controller.
    pub fn with_controller<C>(mut self, controller: C) -> Self
    where
        C: StepController + Clone + Send + Sync + 'static,
    {
        self.controller = AnyController::new(controller);
        self
    }

    /// The same options with at most `max_steps` attempted steps.
    pub fn with_max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps;
        self
    }

    /// Checks the options for a problem with `n` states: the tolerances by
    /// [`Tolerance::validate`], then `h0`, `h_max` and `max_steps`.
    pub fn validate(&self, op: &'static str, n: usize) -> Result<()> {
        self.tol.validate(op, n)?;
        if let Some(h0) = self.h0
            && !(h0.is_finite() && h0 > 0.0)
        {
            return Err(Error::invalid_option(op, "h0", h0, "finite and > 0"));
        }
        if let Some(h) = self.h_max
            && (h.is_nan() || h <= 0.0)
        {
            return Err(Error::invalid_option(
                op,
                "h_max",
                h,
                "> 0 (∞ for no limit)",
            ));
        }
        if self.max_steps == 0 {
            return Err(Error::invalid_option(op, "max_steps", 0, "≥ 1"));
        }
        Ok(())
    }
}

/// A [`StepController`] that each solve can take a fresh copy of.
pub(crate) trait DynController: StepController + Send + Sync {
    fn clone_box(&self) -> Box<dyn DynController>;
}

impl<C: StepController + Clone + Send + Sync + 'static> DynController for C {
    fn clone_box(&self) -> Box<dyn DynController> {
        Box::new(self.clone())
    }
}

/// Any [`StepController`] that can be cloned, held by [`AdaptiveOptions`]: every solve,
/// ensemble path and gradient replay starts from its own copy (after
/// [`StepController::reset`]), so controllers with a history (PI control) give each path
/// the same steps whatever the thread count.
pub struct AnyController {
    inner: Box<dyn DynController>,
    name: &'static str,
}

impl AnyController {
    /// Wraps `controller`.
    pub fn new<C: StepController + Clone + Send + Sync + 'static>(controller: C) -> Self {
        let full = std::any::type_name::<C>();
        let name = full.rsplit("::").next().unwrap_or(full);
        Self {
            inner: Box::new(controller),
            name,
        }
    }

    /// The controller's type name (without its path), for messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A reset copy for one solve.
    pub(crate) fn fresh(&self) -> Box<dyn DynController> {
        let mut c = self.inner.clone_box();
        c.reset();
        c
    }
}

impl Clone for AnyController {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone_box(),
            name: self.name,
        }
    }
}

impl Default for AnyController {
    /// [`DyadicController::default`].
    fn default() -> Self {
        Self::new(DyadicController::default())
    }
}

impl fmt::Debug for AnyController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnyController({})", self.name)
    }
}

/// The default SDE controller: steps change by powers of two, the sizes the dyadic grid
/// of a Brownian tree realises exactly.
///
/// After a step with scaled error `e` from an estimate of order `q`, the ideal factor is
/// `s = safety · e^{−1/q}`. An accepted step (`e ≤ 1`) grows by `2^⌊log₂ s⌋` when `s ≥ 2`,
/// at most by `max_growth` (rounded down to a power of 2), and never shrinks; a rejected one
/// shrinks by `2^⌈−log₂ s⌉`, between 2 and 2¹⁶ (2⁴ when `s` is not a positive number: a
/// non-finite error).
#[derive(Clone, Debug, PartialEq)]
pub struct DyadicController {
    safety: f64,
    max_growth: f64,
    max_growth_levels: u32,
}

impl Default for DyadicController {
    /// `safety = 0.9`, `max_growth = 2`.
    fn default() -> Self {
        Self {
            safety: 0.9,
            max_growth: 2.0,
            max_growth_levels: 1,
        }
    }
}

impl DyadicController {
    /// A controller with safety factor `safety` (in `(0, 1]`) and largest growth per
    /// accepted step `max_growth` (≥ 1, rounded down to a power of 2).
    pub fn new(safety: f64, max_growth: f64) -> Result<Self> {
        const OP: &str = "DyadicController";
        if !(safety > 0.0 && safety <= 1.0) {
            return Err(Error::invalid_option(OP, "safety", safety, "in (0, 1]"));
        }
        if max_growth.is_nan() || max_growth < 1.0 {
            return Err(Error::invalid_option(
                OP,
                "max_growth",
                max_growth,
                "≥ 1 (rounded down to a power of 2)",
            ));
        }
        Ok(Self {
            safety,
            max_growth,
            max_growth_levels: max_growth.log2().floor().max(0.0) as u32,
        })
    }

    /// The safety factor.
    pub fn safety(&self) -> f64 {
        self.safety
    }

    /// The largest growth per accepted step.
    pub fn max_growth(&self) -> f64 {
        self.max_growth
    }
}

impl StepController for DyadicController {
    fn reset(&mut self) {}

    /// Accepts when `err ≤ 1` (Gaines & Lyons' test); `h_next` is `h` times a power of 2.
    fn adapt(&mut self, h: f64, err: f64, q: f64) -> StepDecision {
        if err <= 1.0 {
            let factor = if err > 0.0 {
                self.safety * err.powf(-1.0 / q)
            } else {
                f64::INFINITY
            };
            let up = if factor >= 2.0 {
                (factor.log2().floor() as u32).min(self.max_growth_levels)
            } else {
                0
            };
            StepDecision {
                accept: true,
                h_next: h * 2f64.powi(up as i32),
            }
        } else {
            let factor = self.safety * err.powf(-1.0 / q);
            let down = if factor.is_finite() && factor > 0.0 {
                ((-factor.log2()).ceil() as u32).clamp(1, 16)
            } else {
                4
            };
            StepDecision {
                accept: false,
                h_next: h / 2f64.powi(down as i32),
            }
        }
    }
}

/// The driver's quantiser: proposals to levels of the grids `span / 2^level`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DyadicLevels {
    span: f64,
    /// The coarsest level allowed (`h_max`).
    min_level: u32,
    /// The tree's depth.
    max_level: u32,
}

impl DyadicLevels {
    /// The levels of a tree of span `span` and depth `max_level` for a solve on
    /// `[t0, t1]`, and the starting level.
    pub fn new(span: f64, max_level: u32, opts: &AdaptiveOptions, t0: f64, t1: f64) -> (Self, u32) {
        let mut q = Self {
            span,
            min_level: 0,
            max_level,
        };
        q.min_level = q.clamp(q.level_for(opts.h_max.unwrap_or(t1 - t0)));
        let start = q
            .clamp(q.level_for(opts.h0.unwrap_or((t1 - t0) / 64.0)))
            .max(q.min_level);
        (q, start)
    }

    /// `⌈log₂(span / h)⌉`: the coarsest level whose step is at most `h` (∞ for `h` not a
    /// positive number; −∞ for `h = ∞`).
    fn level_for(&self, h: f64) -> f64 {
        if h > 0.0 {
            (self.span / h).log2().ceil()
        } else {
            f64::INFINITY
        }
    }

    fn clamp(&self, level: f64) -> u32 {
        level.clamp(self.min_level as f64, self.max_level as f64) as u32
    }

    /// The grid step at `level`.
    pub fn step(&self, level: u32) -> f64 {
        self.span / 2f64.powi(level as i32)
    }

    /// The level after an accepted step whose controller proposed `h`.
    pub fn after_accept(&self, h: f64) -> u32 {
        self.clamp(self.level_for(h))
    }

    /// The level after a rejected step at `level` whose controller proposed `h`: at least
    /// one finer; `Err(step)` with the step size the retry would need when that is finer
    /// than the tree.
    pub fn after_reject(&self, level: u32, h: f64) -> std::result::Result<u32, f64> {
        let l = self.level_for(h).max(level as f64 + 1.0);
        if l > self.max_level as f64 {
            let h = if h > 0.0 {
                h.min(self.step(level + 1))
            } else {
                self.step(level + 1)
            };
            Err(h)
        } else {
            Ok(l as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dyadic_controller_steps_by_powers_of_two() {
        let mut c = DyadicController::default();
        // e = 2⁻³ with q = 1.5: s = 0.9 · 4 = 3.6 → grow by 2 (max_growth).
        let d = c.adapt(0.25, 0.125, 1.5);
        assert!(d.accept && d.h_next == 0.5);
        // Accepted with s < 2: keep h.
        assert_eq!(c.adapt(0.25, 0.9, 1.5).h_next, 0.25);
        // Rejected with s = 0.9 · 64^{−2/3} = 0.05625 → shrink by 2^⌈4.15⌉ = 32.
        let d = c.adapt(1.0, 64.0, 1.5);
        assert!(!d.accept && d.h_next == 1.0 / 32.0);
        // A non-finite error: shrink by 16.
        assert_eq!(c.adapt(1.0, f64::INFINITY, 1.5).h_next, 1.0 / 16.0);
        assert_eq!(c.adapt(1.0, f64::NAN, 1.5).h_next, 1.0 / 16.0);
        let wide = DyadicController::new(0.9, 5.0).unwrap();
        assert_eq!(wide.max_growth_levels, 2);
        assert!(DyadicController::new(0.0, 2.0).is_err());
        assert!(DyadicController::new(0.9, 0.5).is_err());
    }

    #[test]
    fn quantiser_rounds_down_to_the_grid_and_stops_at_the_depth() {
        let opts = AdaptiveOptions::default();
        // Span 1, depth 3: h0 = 1/64 is below the finest step 1/8: start at level 3.
        let (q, start) = DyadicLevels::new(1.0, 3, &opts, 0.0, 1.0);
        assert_eq!(start, 3);
        assert_eq!(q.after_accept(0.3), 2); // 1/4 ≤ 0.3 < 1/2
        assert_eq!(q.after_accept(0.25), 2);
        assert_eq!(q.after_accept(f64::INFINITY), 0);
        // A rejection refines by at least one level, even if the controller asks for more.
        assert_eq!(q.after_reject(1, 10.0), Ok(2));
        // The default controller's retry after e = 10 at the finest level is finer than the
        // tree: the driver reports a step-size underflow with this step (its time and
        // component are the driver's, tested in `tests/sde_errors.rs`).
        let d = DyadicController::default().adapt(q.step(3), 10.0, 1.5);
        match q.after_reject(3, d.h_next) {
            Err(h) => assert!(h < 1.0 / 8.0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn worst_component_is_the_largest_scaled_error() {
        // The driver names the component by `Tolerance::worst_component`.
        // Scaled errors 0.5, 2, 1 (atol 1, rtol 0): component 1.
        let tol = Tolerance::new(0.0, 1.0);
        assert_eq!(
            tol.worst_component(&[0.5, -2.0, 1.0], &[0.0; 3], &[0.0; 3]),
            1
        );
        // With rtol, a large state shrinks its scaled error: 3 / (1 + 10) < 1 / 1.
        let tol = Tolerance::new(1.0, 1.0);
        assert_eq!(
            tol.worst_component(&[3.0, 1.0], &[10.0, 0.0], &[0.0, 0.0]),
            1
        );
        let tol = Tolerance::new(0.0, 1.0);
        assert_eq!(
            tol.worst_component(&[1.0, f64::NAN], &[0.0; 2], &[0.0; 2]),
            1
        );
    }
}
