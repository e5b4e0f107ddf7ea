//! The fixed-step checks: the fourth-order stencil at one step, within fixed tolerances.

use super::report::{GradCheckReport, compare_with};
use super::tape_fn::{tape_gradient, tape_value};
use crate::ad::{Tape, Var};
use crate::error::Result;

/// Tolerances of a gradient check: component `i` passes when
/// `|aᵢ − nᵢ| ≤ atol + rtol · max(|aᵢ|, |nᵢ|)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheckOptions {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Step relative to `max(|xᵢ|, 1)`; `None` picks ε^{1/5} ≈ 7.4e-4.
    pub rel_step: Option<f64>,
}

impl Default for GradCheckOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-8,
            rel_step: None,
        }
    }
}

impl GradCheckOptions {
    /// Relative and absolute tolerances with the default step.
    pub const fn tol(rtol: f64, atol: f64) -> Self {
        Self {
            rtol,
            atol,
            rel_step: None,
        }
    }
}

/// The step `rel · max(|x|, 1)` (`rel` = ε^{1/5} by default).
pub(super) fn step(x: f64, rel: Option<f64>) -> f64 {
    rel.unwrap_or(f64::EPSILON.powf(0.2)) * x.abs().max(1.0)
}

/// The fourth-order central stencil `D(h)` from `f(x−2h), f(x−h), f(x+h), f(x+2h)`.
#[inline]
pub(super) fn central4(m2: f64, m1: f64, p1: f64, p2: f64, h: f64) -> f64 {
    (m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * h)
}

/// Finite-difference gradient of `f` at `x` (fourth-order central differences).
pub fn finite_diff_gradient<F>(f: F, x: &[f64], rel_step: Option<f64>) -> Result<Vec<f64>>
where
    F: Fn(&[f64]) -> Result<f64>,
{
    let mut xp = x.to_vec();
    let mut g = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let h = step(x[i], rel_step);
        let mut eval = |d: f64| -> Result<f64> {
            xp[i] = x[i] + d;
            let v = f(&xp);
            xp[i] = x[i];
            v
        };
        let (m2, m1, p1, p2) = (eval(-2.0 * h)?, eval(-h)?, eval(h)?, eval(2.0 * h)?);
        g.push(central4(m2, m1, p1, p2, h));
    }
    Ok(g)
}

/// Finite-difference Jacobian (rows = outputs) of `f` at `x`.
pub fn finite_diff_jacobian<F>(f: F, x: &[f64], rel_step: Option<f64>) -> Result<Vec<Vec<f64>>>
where
    F: Fn(&[f64]) -> Result<Vec<f64>>,
{
    let m = f(x)?.len();
    let mut cols = Vec::with_capacity(x.len());
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let h = step(x[i], rel_step);
        let mut eval = |d: f64| -> Result<Vec<f64>> {
            xp[i] = x[i] + d;
            let v = f(&xp);
            xp[i] = x[i];
            v
        };
        let (m2, m1, p1, p2) = (eval(-2.0 * h)?, eval(-h)?, eval(h)?, eval(2.0 * h)?);
        cols.push(
            (0..m)
                .map(|r| central4(m2[r], m1[r], p1[r], p2[r], h))
                .collect::<Vec<_>>(),
        );
    }
    Ok((0..m)
        .map(|r| cols.iter().map(|c| c[r]).collect())
        .collect())
}

/// Compares `analytic` with the finite-difference gradient of `f` at `x`.
pub fn check_gradient<F>(
    f: F,
    x: &[f64],
    analytic: &[f64],
    opts: GradCheckOptions,
) -> Result<GradCheckReport>
where
    F: Fn(&[f64]) -> Result<f64>,
{
    crate::error::check_len("check_gradient", "analytic", analytic.len(), x.len())?;
    let numeric = finite_diff_gradient(f, x, opts.rel_step)?;
    Ok(compare(analytic.to_vec(), numeric, opts))
}

/// Compares two gradients component-wise.
pub fn compare(analytic: Vec<f64>, numeric: Vec<f64>, opts: GradCheckOptions) -> GradCheckReport {
    compare_with(analytic, numeric, Vec::new(), |_, scale| {
        opts.atol + opts.rtol * scale
    })
}

/// Checks the reverse-mode gradient of a closure recorded on a tape against finite
/// differences of the same closure evaluated on constant inputs.
///
/// ```
/// use mechml_engine::ad::{Real, gradcheck::{check_tape_gradient, GradCheckOptions}};
/// let report = check_tape_gradient(&[0.3, 1.2], GradCheckOptions::default(), |_, x| Ok((x[0] * x[1]).exp()))?;
/// assert!(report.passed, "{report}");
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn check_tape_gradient<F>(x: &[f64], opts: GradCheckOptions, f: F) -> Result<GradCheckReport>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Result<Var<'t>>,
{
    let analytic = tape_gradient(x, &f)?;
    check_gradient(
        |p| tape_value(&f, p, "check_tape_gradient"),
        x,
        &analytic,
        opts,
    )
}
