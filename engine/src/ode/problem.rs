//! The problem: a right-hand side written once over [`Real`], the interval, the initial
//! state and the parameters.

use faer::MatMut;

use super::system::{VjpAt, VjpOut, VjpWork};

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

    /// A hand-written vector–Jacobian product: adds `wᵀ ∂f/∂y` at `at` into `out.gy` and
    /// `wᵀ ∂f/∂p` into `out.gp` (skipped when `out.gp` is empty), and returns `true`.
    ///
    /// The default returns `false`, and the adjoints differentiate [`OdeRhs::rhs`] (dual
    /// numbers for `n + n_p ≤ 8`, a reusable local tape otherwise;
    /// [`RhsVjp`](super::system::RhsVjp), which asks this method first). Override it where
    /// a product is much cheaper by hand, e.g. a network's pullback in plain `f64`
    /// (`models::de::UdeRhs`); `work` is scratch space kept between calls, so an override
    /// need not allocate. It must agree with the derivative of `rhs` (test it against
    /// `RhsVjp` on a right-hand side that does not override it). Explicit discrete adjoints
    /// of systems with `n + n_p ≤ 8` form their products by dual numbers directly and do
    /// not call it.
    fn vjp(&self, at: &VjpAt<'_>, out: &mut VjpOut<'_>, work: &mut VjpWork) -> bool
    where
        Self: Sized,
    {
        let _ = (at, out, work);
        false
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
            return Err(Error::invalid_option(
                "ode",
                "(t0, t1)",
                format!("({}, {})", self.t0, self.t1),
                "finite with t1 > t0 (for a backward solve substitute s = −t)",
            ));
        }
        crate::error::check_finite("ode", "y0", &self.y0)?;
        crate::error::check_finite("ode", "p", &self.p)?;
        Ok(())
    }
}

impl<F> OdeProblem<F> {
    /// The interval and initial state, as the time loop takes them.
    pub(crate) fn span(&self) -> super::driver::Span<'_, f64> {
        super::driver::Span {
            t0: self.t0,
            t1: self.t1,
            y0: &self.y0,
        }
    }
}
