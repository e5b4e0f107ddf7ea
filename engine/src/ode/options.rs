//! The options of a solve: tolerances, step-size limits, what to save, the step-size
//! controller, fixed steps.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::solver::{ComponentTol, PiController, SaveAt, Tolerance};

/// Options of a solve: tolerances, step-size limits, what to save, the step-size
/// controller.
///
/// The error of a step is the RMS norm of
/// `errᵢ / (atolᵢ + rtolᵢ · max(|y_oldᵢ|, |y_newᵢ|))`, accepted when below 1 (Hairer,
/// Nørsett & Wanner 1993, II.4, eq. (4.11); [`Tolerance::error_norm`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OdeOptions {
    /// Relative and absolute tolerances, scalar or per component; checked by
    /// [`Tolerance::validate`] (each `rtolᵢ` finite and 0 or ≥ 1e-15, each `atolᵢ` finite
    /// and ≥ 0, never both 0).
    pub tol: Tolerance,
    /// Initial step; `None` picks it by Hairer's algorithm (HNW I, II.4).
    pub h0: Option<f64>,
    /// Largest step allowed.
    pub h_max: f64,
    /// Smallest step allowed before [`Error::StepSizeUnderflow`]; 0 means the resolution
    /// of the time grid (a few ulps of t).
    pub h_min: f64,
    /// Most steps (accepted plus rejected) before [`Error::TooManySteps`].
    pub max_steps: usize,
    /// What to save.
    pub save_at: SaveAt,
    /// Whether to keep the dense output of every step ([`OdeSolution::evaluate`](super::OdeSolution::evaluate)).
    pub dense: bool,
    /// The step-size controller of one-step methods (BDF has its own order and step
    /// selection).
    pub controller: PiController,
    /// Take fixed steps of this size without error control (one-step methods only; the
    /// last step is clipped to end at `t1`). `Method::Rk4 { dt }` and `Method::Euler { dt }`
    /// set it themselves.
    pub fixed_step: Option<f64>,
}

impl Default for OdeOptions {
    fn default() -> Self {
        Self {
            tol: Tolerance::new(1e-6, 1e-9),
            h0: None,
            h_max: f64::INFINITY,
            h_min: 0.0,
            max_steps: 100_000,
            save_at: SaveAt::Final,
            dense: false,
            controller: PiController::default(),
            fixed_step: None,
        }
    }
}

impl OdeOptions {
    /// Options with these tolerances (each a scalar or one value per component) and
    /// defaults elsewhere.
    pub fn with_tol(rtol: impl Into<ComponentTol>, atol: impl Into<ComponentTol>) -> Self {
        Self {
            tol: Tolerance::new(rtol, atol),
            ..Self::default()
        }
    }

    /// The same options, saving at `save_at`.
    pub fn saving(mut self, save_at: SaveAt) -> Self {
        self.save_at = save_at;
        self
    }

    /// Checks the options against a problem with `n` states on `[t0, t1]`: an `Err` before
    /// any work.
    pub fn validate(&self, n: usize, t0: f64, t1: f64) -> Result<()> {
        const OP: &str = "ode";
        self.tol.validate(OP, n)?;
        if let Some(h0) = self.h0
            && !(h0.is_finite() && h0 > 0.0)
        {
            return Err(Error::invalid_option(OP, "h0", h0, "finite and > 0"));
        }
        if self.h_max.is_nan() || self.h_max <= 0.0 {
            return Err(Error::invalid_option(OP, "h_max", self.h_max, "> 0"));
        }
        if !(self.h_min >= 0.0 && self.h_min.is_finite() && self.h_min < self.h_max) {
            return Err(Error::invalid_option(
                OP,
                "h_min",
                self.h_min,
                format!("finite, ≥ 0 and below h_max = {}", self.h_max),
            ));
        }
        if let Some(h0) = self.h0
            && h0 < self.h_min
        {
            return Err(Error::invalid_option(
                OP,
                "h0",
                format!("{h0:e}"),
                format!("≥ h_min = {:e}", self.h_min),
            ));
        }
        if let Some(dt) = self.fixed_step
            && !(dt.is_finite() && dt > 0.0)
        {
            return Err(Error::invalid_option(
                OP,
                "fixed_step",
                dt,
                "finite and > 0",
            ));
        }
        if self.max_steps == 0 {
            return Err(Error::invalid_option(OP, "max_steps", 0, "≥ 1"));
        }
        if let SaveAt::Times(ts) = &self.save_at
            && ts.is_empty()
        {
            return Err(Error::invalid_option(
                OP,
                "save_at",
                "Times([])",
                "at least one save time (or SaveAt::Final)",
            ));
        }
        self.save_at.validate(OP, t0, t1)?;
        self.controller.validate()?;
        Ok(())
    }
}
