//! Step-size control on the dyadic grid of a Brownian tree.
//!
//! Adaptive SDE solvers must not resample the noise of a rejected step: the retried,
//! smaller steps have to see the *same* Brownian path, conditioned on what was already
//! drawn, or the solution is biased (Gaines & Lyons 1997, "Variable step size control in
//! the numerical solution of stochastic differential equations", SIAM J. Appl. Math. 57(5);
//! Rackauckas & Nie 2017, "Adaptive methods for SDEs via natural embeddings and rejection
//! sampling with memory", DCDS-B 22(7)). Following Gaines & Lyons, steps here are the
//! cells of the dyadic grids of a [`VirtualBrownianTree`](super::VirtualBrownianTree): a
//! step at level `k` goes from `t` to the next grid point of spacing `span/2^k`. A rejected
//! step is retried at a finer level, whose increments the tree produces by Brownian-bridge
//! refinement of the one just rejected; the path is never resampled.
//!
//! The level follows the usual controller on the scaled error
//! `e = RMS_i(errᵢ / (atol + rtol·max(|xᵢ|, |x̃ᵢ|)))`: the ideal step is
//! `h · safety · e^{−1/q}` for an error estimate of order `q`, rounded down to a power of 2
//! (and growing by at most `max_growth` per accepted step).
//!
//! Every loop is bounded: at most `max_steps` attempts (accepted + rejected) and no level
//! beyond the tree's depth; either bound is an error naming the time.
//!
//! This controller is local to `sde`; the ODE solvers have their own `StepController`.
//! The two could share one trait if the dyadic constraint were expressed as a step
//! quantiser.

use crate::error::{Error, Result};

/// Options of adaptive stepping.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveOptions {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Initial step (rounded down to the grid); default `(t1 − t0) / 64`.
    pub h0: Option<f64>,
    /// Largest step (rounded down to the grid); default `t1 − t0`.
    pub h_max: Option<f64>,
    /// Bound on attempted steps (accepted + rejected).
    pub max_steps: usize,
    /// Safety factor on the ideal step.
    pub safety: f64,
    /// Largest growth of the step per accepted step (rounded down to a power of 2).
    pub max_growth: f64,
}

impl Default for AdaptiveOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-3,
            atol: 1e-6,
            h0: None,
            h_max: None,
            max_steps: 1_000_000,
            safety: 0.9,
            max_growth: 2.0,
        }
    }
}

impl AdaptiveOptions {
    /// Checks the tolerances and bounds.
    pub fn check(&self) -> Result<()> {
        let bad = |message: String| {
            Err(Error::InvalidArgument {
                op: "AdaptiveOptions",
                message,
            })
        };
        if !(self.rtol >= 0.0 && self.atol >= 0.0 && self.rtol + self.atol > 0.0) {
            return bad(format!(
                "need rtol, atol >= 0 with rtol + atol > 0, got rtol = {}, atol = {}",
                self.rtol, self.atol
            ));
        }
        if !(self.safety > 0.0 && self.safety <= 1.0 && self.max_growth >= 1.0) {
            return bad(format!(
                "need 0 < safety <= 1 and max_growth >= 1, got {} and {}",
                self.safety, self.max_growth
            ));
        }
        if self.max_steps == 0 {
            return bad("max_steps must be at least 1".into());
        }
        Ok(())
    }
}

/// The scaled RMS error norm `√(mean_i (errᵢ / (atol + rtol·max(|xᵢ|, |x̃ᵢ|)))²)`.
pub fn error_norm(err: &[f64], x: &[f64], x_new: &[f64], rtol: f64, atol: f64) -> f64 {
    let n = err.len().max(1) as f64;
    let s: f64 = err
        .iter()
        .zip(x)
        .zip(x_new)
        .map(|((e, a), b)| {
            let sc = atol + rtol * a.abs().max(b.abs());
            (e / sc) * (e / sc)
        })
        .sum();
    (s / n).sqrt()
}

/// Dyadic step-level controller (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct DyadicController {
    /// Current level (step `span / 2^level`).
    pub level: u32,
    min_level: u32,
    max_level: u32,
    order: f64,
    safety: f64,
    max_growth_levels: u32,
}

impl DyadicController {
    /// A controller for an error estimate of order `order` on grids `span / 2^k`,
    /// `k ≤ max_level`, for `[t0, t1]`.
    pub fn new(
        opts: &AdaptiveOptions,
        order: f64,
        span: f64,
        max_level: u32,
        t0: f64,
        t1: f64,
    ) -> Self {
        let level_for = |h: f64| -> u32 {
            // The smallest level whose step is at most h.
            let l = (span / h).log2().ceil();
            if l.is_finite() {
                l.clamp(0.0, max_level as f64) as u32
            } else {
                max_level
            }
        };
        let min_level = level_for(opts.h_max.unwrap_or(t1 - t0));
        let level = level_for(opts.h0.unwrap_or((t1 - t0) / 64.0)).max(min_level);
        Self {
            level,
            min_level,
            max_level,
            order,
            safety: opts.safety,
            max_growth_levels: opts.max_growth.log2().floor().max(0.0) as u32,
        }
    }

    /// After an accepted step with scaled error `e ≤ 1`: possibly coarsen.
    pub fn accept(&mut self, e: f64) {
        let factor = if e > 0.0 {
            self.safety * e.powf(-1.0 / self.order)
        } else {
            f64::INFINITY
        };
        let up = if factor >= 2.0 {
            (factor.log2().floor() as u32).min(self.max_growth_levels)
        } else {
            0
        };
        self.level = self.level.saturating_sub(up).max(self.min_level);
    }

    /// After a rejected step with scaled error `e > 1` (or NaN): refine by at least one
    /// level. Errors when the tree cannot be refined further, naming the time `t` and the
    /// `component` with the largest scaled error of the rejected step.
    pub fn reject(&mut self, e: f64, t: f64, span: f64, component: Option<usize>) -> Result<()> {
        let factor = self.safety * e.powf(-1.0 / self.order);
        let down = if factor.is_finite() && factor > 0.0 {
            ((-factor.log2()).ceil() as u32).clamp(1, 16)
        } else {
            4
        };
        let level = self.level + down;
        if level > self.max_level {
            return Err(Error::StepSizeUnderflow {
                op: "sde::solve (adaptive)",
                t,
                h: span / 2f64.powi(level as i32),
                component,
                path: None,
            });
        }
        self.level = level;
        Ok(())
    }
}

/// The component with the largest scaled error `|errᵢ| / (atol + rtol·max(|xᵢ|, |x̃ᵢ|))`
/// (the first one if several tie; NaN errors count as largest).
pub fn worst_component(err: &[f64], x: &[f64], x_new: &[f64], rtol: f64, atol: f64) -> usize {
    let mut worst = (0, f64::NEG_INFINITY);
    for (i, ((e, a), b)) in err.iter().zip(x).zip(x_new).enumerate() {
        let s = e.abs() / (atol + rtol * a.abs().max(b.abs()));
        let s = if s.is_nan() { f64::INFINITY } else { s };
        if s > worst.1 {
            worst = (i, s);
        }
    }
    worst.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_component_is_the_largest_scaled_error() {
        // Scaled errors 0.5, 2, 1 (atol 1, rtol 0): component 1.
        assert_eq!(
            worst_component(&[0.5, -2.0, 1.0], &[0.0; 3], &[0.0; 3], 0.0, 1.0),
            1
        );
        // With rtol, a large state shrinks its scaled error: 3 / (1 + 10) < 1 / 1.
        assert_eq!(
            worst_component(&[3.0, 1.0], &[10.0, 0.0], &[0.0, 0.0], 1.0, 1.0),
            1
        );
        assert_eq!(
            worst_component(&[1.0, f64::NAN], &[0.0; 2], &[0.0; 2], 0.0, 1.0),
            1
        );
    }

    #[test]
    fn underflow_names_time_and_component() {
        let opts = AdaptiveOptions::default();
        let mut c = DyadicController::new(&opts, 1.5, 1.0, 3, 0.0, 1.0);
        // h0 = 1/64 is below the finest step 1/8: the controller starts at level 3.
        assert_eq!(c.level, 3);
        match c.reject(10.0, 0.25, 1.0, Some(2)) {
            Err(Error::StepSizeUnderflow {
                t, h, component, ..
            }) => {
                assert_eq!((t, component), (0.25, Some(2)));
                assert!(h < 1.0 / 8.0);
            }
            other => panic!("{other:?}"),
        }
    }
}
