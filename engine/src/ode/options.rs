//! The options of a solve: tolerances, step-size limits, what to save, the step-size
//! controller, fixed steps.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::solver::{AnyController, ComponentTol, SaveAt, StepController, Tolerance};

/// Options of a solve: tolerances, step-size limits, what to save, the step-size
/// controller.
///
/// The error of a step is the RMS norm of
/// `errᵢ / (atolᵢ + rtolᵢ · max(|y_oldᵢ|, |y_newᵢ|))`, accepted when below 1 (Hairer,
/// Nørsett & Wanner 1993, II.4, eq. (4.11); [`Tolerance::error_norm`]).
///
/// Built from the defaults by chained setters:
///
/// ```
/// use mechml_engine::ode::{OdeOptions, PiController, SaveAt};
///
/// let opts = OdeOptions::with_tol(1e-8, vec![1e-10, 1e-12]) // per-component atol
///     .saving(SaveAt::Times(vec![0.5, 1.0]))
///     .h0(1e-4)
///     .h_max(0.1)
///     .max_steps(10_000)
///     .dense(true)
///     .controller(PiController::pi(0.3, 0.3));
/// opts.validate(2, 0.0, 1.0)?;
/// assert_eq!(opts.tol.atol(1), 1e-12);
/// // A negative first step is rejected before any work, naming the option.
/// let e = OdeOptions::default().h0(-1.0).validate(2, 0.0, 1.0).unwrap_err();
/// assert!(e.to_string().contains("h0"));
/// # Ok::<(), mechml_engine::Error>(())
/// ```
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
    /// The step-size controller of one-step methods, used by every solve of an operation
    /// (the primal, each pass of forward sensitivities, the forward and backward solves of
    /// the adjoints). BDF selects its own steps and orders and takes none (a controller
    /// other than the default is [`Error::Unsupported`] with BDF).
    pub controller: AnyController,
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
            controller: AnyController::default(),
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

    /// The same options with tolerances `tol`.
    pub fn tol(mut self, tol: Tolerance) -> Self {
        self.tol = tol;
        self
    }

    /// The same options with the first step `h0` (instead of Hairer's starting step).
    pub fn h0(mut self, h0: f64) -> Self {
        self.h0 = Some(h0);
        self
    }

    /// The same options with the largest step `h_max`.
    pub fn h_max(mut self, h_max: f64) -> Self {
        self.h_max = h_max;
        self
    }

    /// The same options with the smallest step `h_min`.
    pub fn h_min(mut self, h_min: f64) -> Self {
        self.h_min = h_min;
        self
    }

    /// The same options with at most `max_steps` steps.
    pub fn max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps;
        self
    }

    /// The same options, keeping the dense output of every step (or not).
    pub fn dense(mut self, dense: bool) -> Self {
        self.dense = dense;
        self
    }

    /// The same options with the step-size controller `c`: a [`PiController`](crate::solver::PiController),
    /// an [`AnyController`] or any type implementing [`StepController`].
    pub fn controller<C>(mut self, c: C) -> Self
    where
        C: StepController + Clone + Send + Sync + fmt::Debug + 'static,
    {
        self.controller = AnyController::custom(c);
        self
    }

    /// The same options with fixed steps of size `dt` and no error control.
    pub fn fixed_step(mut self, dt: f64) -> Self {
        self.fixed_step = Some(dt);
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
