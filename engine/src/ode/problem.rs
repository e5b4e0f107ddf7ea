//! The problem: a right-hand side written once over [`Real`], the interval, the initial
//! state and the parameters; and the options of a solve.

use faer::MatMut;
use serde::{Deserialize, Serialize};

use super::controller::PiController;
use crate::ad::Real;
use crate::error::{Error, Result};

/// The right-hand side `f(t, y, p)` of `y' = f(t, y, p)`.
///
/// `rhs` is written once, generic over [`Real`], so the same code runs on `f64` (the
/// solve), on dual numbers (Jacobians for stiff methods, forward sensitivities) and on a
/// tape (vector–Jacobian products for adjoints).
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::ode::OdeRhs;
///
/// /// Lotka–Volterra: x' = αx − βxy, y' = δxy − γy.
/// struct LotkaVolterra;
/// impl OdeRhs for LotkaVolterra {
///     fn n_states(&self) -> usize { 2 }
///     fn n_params(&self) -> usize { 4 }
///     fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
///         dy[0] = p[0] * y[0] - p[1] * y[0] * y[1];
///         dy[1] = p[3] * y[0] * y[1] - p[2] * y[1];
///     }
/// }
/// ```
pub trait OdeRhs {
    /// Number of states `n`.
    fn n_states(&self) -> usize;

    /// Number of parameters (default 0).
    fn n_params(&self) -> usize {
        0
    }

    /// Writes `f(t, y, p)` into `dy` (all slices have the lengths above).
    fn rhs<R: Real>(&self, t: R, y: &[R], p: &[R], dy: &mut [R]);

    /// Writes the Jacobian `∂f/∂y` (n × n) into `jac`.
    ///
    /// The default differentiates [`OdeRhs::rhs`] with dual numbers (forward mode, eight
    /// columns per pass). Override it with an analytic Jacobian where one is cheaper.
    fn jacobian(&self, t: f64, y: &[f64], p: &[f64], jac: MatMut<'_, f64>)
    where
        Self: Sized,
    {
        super::system::jacobian_by_duals(self, t, y, p, jac);
    }
}

/// An initial-value problem `y' = f(t, y, p)`, `y(t0) = y0`, on `[t0, t1]`.
#[derive(Clone, Debug)]
pub struct OdeProblem<F> {
    /// The right-hand side.
    pub rhs: F,
    /// Start time.
    pub t0: f64,
    /// End time (`t1 > t0`).
    pub t1: f64,
    /// Initial state.
    pub y0: Vec<f64>,
    /// Parameters.
    pub p: Vec<f64>,
}

impl<F: OdeRhs> OdeProblem<F> {
    /// A problem, checked: lengths match `rhs`, every number is finite, `t1 > t0`.
    pub fn new(rhs: F, t0: f64, t1: f64, y0: Vec<f64>, p: Vec<f64>) -> Result<Self> {
        let prob = Self { rhs, t0, t1, y0, p };
        prob.validate()?;
        Ok(prob)
    }

    /// Checks lengths, finiteness and the interval.
    pub fn validate(&self) -> Result<()> {
        crate::error::check_len("ode", "y0", self.y0.len(), self.rhs.n_states())?;
        crate::error::check_len("ode", "p", self.p.len(), self.rhs.n_params())?;
        if !(self.t0.is_finite() && self.t1.is_finite()) || self.t1 <= self.t0 {
            return Err(Error::InvalidArgument {
                op: "ode",
                message: format!(
                    "the interval must be finite with t1 > t0, got t0 = {}, t1 = {} \
                     (for a backward solve substitute s = -t)",
                    self.t0, self.t1
                ),
            });
        }
        crate::error::check_finite("ode", "y0", &self.y0)?;
        crate::error::check_finite("ode", "p", &self.p)?;
        Ok(())
    }
}

/// Absolute tolerance: one value for all components or one per component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Tolerance {
    /// The same for every component.
    Scalar(f64),
    /// One per component.
    PerComponent(Vec<f64>),
}

impl Tolerance {
    /// The tolerance of component `i`.
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Tolerance::Scalar(a) => *a,
            Tolerance::PerComponent(v) => v[i],
        }
    }
}

impl From<f64> for Tolerance {
    fn from(a: f64) -> Self {
        Tolerance::Scalar(a)
    }
}

/// Which states a solve returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SaveAt {
    /// Only `y(t1)`.
    Final,
    /// `y` at these times (sorted, inside `[t0, t1]`), by the method's dense output
    /// between steps.
    Times(Vec<f64>),
    /// `y` after every accepted step (and at `t0`).
    Steps,
}

/// Options of a solve: tolerances, step-size limits, what to save, the step-size
/// controller.
///
/// The error of a step is the RMS norm of `errᵢ / (atolᵢ + rtol · max(|y_oldᵢ|, |y_newᵢ|))`,
/// accepted when below 1 (Hairer, Nørsett & Wanner 1993, II.4, eq. (4.11)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OdeOptions {
    /// Relative tolerance (> 0).
    pub rtol: f64,
    /// Absolute tolerance (≥ 0 each; rtol and atol may not both be 0).
    pub atol: Tolerance,
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
            rtol: 1e-6,
            atol: Tolerance::Scalar(1e-9),
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
    /// Options with these tolerances and defaults elsewhere.
    pub fn with_tol(rtol: f64, atol: f64) -> Self {
        Self {
            rtol,
            atol: Tolerance::Scalar(atol),
            ..Self::default()
        }
    }

    /// The same options, saving at `times`.
    pub fn saving(mut self, save_at: SaveAt) -> Self {
        self.save_at = save_at;
        self
    }

    /// Checks the options against a problem with `n` states on `[t0, t1]`: an `Err` before
    /// any work.
    pub fn validate(&self, n: usize, t0: f64, t1: f64) -> Result<()> {
        let bad = |message: String| Err(Error::InvalidArgument { op: "ode", message });
        if !(self.rtol.is_finite() && self.rtol >= 0.0) {
            return bad(format!("rtol must be finite and ≥ 0, got {}", self.rtol));
        }
        match &self.atol {
            Tolerance::Scalar(a) => {
                if !(a.is_finite() && *a >= 0.0) {
                    return bad(format!("atol must be finite and ≥ 0, got {a}"));
                }
                if *a == 0.0 && self.rtol == 0.0 {
                    return bad("rtol and atol are both 0".into());
                }
            }
            Tolerance::PerComponent(v) => {
                crate::error::check_len("ode", "atol", v.len(), n)?;
                if let Some(i) = v.iter().position(|a| !(a.is_finite() && *a >= 0.0)) {
                    return bad(format!("atol[{i}] must be finite and ≥ 0, got {}", v[i]));
                }
                if self.rtol == 0.0 && v.contains(&0.0) {
                    return bad("rtol is 0 and some atol is 0".into());
                }
            }
        }
        if self.rtol > 0.0 && self.rtol < 1e-15 {
            return bad(format!(
                "rtol = {:e} is below what f64 can deliver (use ≥ 1e-14)",
                self.rtol
            ));
        }
        if let Some(h0) = self.h0
            && !(h0.is_finite() && h0 > 0.0)
        {
            return bad(format!("h0 must be finite and > 0, got {h0}"));
        }
        if self.h_max.is_nan() || self.h_max <= 0.0 {
            return bad(format!("h_max must be > 0, got {}", self.h_max));
        }
        if !(self.h_min >= 0.0 && self.h_min.is_finite() && self.h_min < self.h_max) {
            return bad(format!(
                "h_min must be finite, ≥ 0 and below h_max, got {}",
                self.h_min
            ));
        }
        if let Some(h0) = self.h0
            && h0 < self.h_min
        {
            return bad(format!("h0 = {h0:e} is below h_min = {:e}", self.h_min));
        }
        if let Some(dt) = self.fixed_step
            && !(dt.is_finite() && dt > 0.0)
        {
            return bad(format!("fixed_step must be finite and > 0, got {dt}"));
        }
        if self.max_steps == 0 {
            return bad("max_steps must be ≥ 1".into());
        }
        if let SaveAt::Times(ts) = &self.save_at {
            if ts.is_empty() {
                return bad("SaveAt::Times needs at least one time".into());
            }
            for (i, &t) in ts.iter().enumerate() {
                if !(t.is_finite() && t >= t0 && t <= t1) {
                    return bad(format!("save time {i} = {t} is outside [{t0}, {t1}]"));
                }
                if i > 0 && t < ts[i - 1] {
                    return bad(format!(
                        "save times must be sorted: time {i} = {t} < its predecessor"
                    ));
                }
            }
        }
        self.controller.validate()?;
        Ok(())
    }
}
