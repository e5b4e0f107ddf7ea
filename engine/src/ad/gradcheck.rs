//! A gradient checker: finite differences against an analytic gradient, with a report of
//! the relative error of each component.
//!
//! Differences use the fourth-order central stencil
//! `f'(x) ≈ [f(x−2h) − 8 f(x−h) + 8 f(x+h) − f(x+2h)] / (12 h)` (truncation error O(h⁴)),
//! with `h = ε^{1/5} max(|xᵢ|, 1)`, which balances truncation against rounding.

use crate::ad::{Tape, Var};
use crate::error::{Error, Result};

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

/// The outcome of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// The analytic gradient that was checked.
    pub analytic: Vec<f64>,
    /// The finite-difference gradient.
    pub numeric: Vec<f64>,
    /// `|aᵢ − nᵢ| / max(|aᵢ|, |nᵢ|, tiny)` per component.
    pub rel_errors: Vec<f64>,
    /// Index of the component with the largest ratio of error to tolerance.
    pub worst: usize,
    /// Whether every component passed.
    pub passed: bool,
}

impl std::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.worst;
        write!(
            f,
            "gradient check {}: worst component {w}: analytic {:e}, finite difference {:e}, relative error {:e}",
            if self.passed { "passed" } else { "FAILED" },
            self.analytic.get(w).copied().unwrap_or(f64::NAN),
            self.numeric.get(w).copied().unwrap_or(f64::NAN),
            self.rel_errors.get(w).copied().unwrap_or(f64::NAN),
        )
    }
}

fn step(x: f64, rel: Option<f64>) -> f64 {
    rel.unwrap_or(f64::EPSILON.powf(0.2)) * x.abs().max(1.0)
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
        g.push((m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * h));
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
                .map(|r| (m2[r] - 8.0 * m1[r] + 8.0 * p1[r] - p2[r]) / (12.0 * h))
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
    let mut worst = 0;
    let mut worst_ratio = -1.0;
    let mut passed = true;
    let mut rel_errors = Vec::with_capacity(analytic.len());
    for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
        let diff = (a - n).abs();
        let scale = a.abs().max(n.abs());
        let tol = opts.atol + opts.rtol * scale;
        let ratio = if diff.is_nan() {
            f64::INFINITY
        } else {
            diff / tol
        };
        if ratio.is_nan() || ratio > 1.0 {
            passed = false;
        }
        if ratio > worst_ratio {
            worst_ratio = ratio;
            worst = i;
        }
        rel_errors.push(diff / scale.max(f64::MIN_POSITIVE));
    }
    GradCheckReport {
        analytic,
        numeric,
        rel_errors,
        worst,
        passed,
    }
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
    let tape = Tape::new();
    let xs = tape.vars(x);
    let y = f(&tape, &xs)?;
    let analytic = tape.gradient(&y)?.wrt_slice(&xs);
    let value = |p: &[f64]| -> Result<f64> {
        let t = Tape::new();
        let v: Vec<Var<'_>> = p.iter().map(|&a| Var::constant(a)).collect();
        let y = f(&t, &v)?;
        if y.val().is_finite() {
            Ok(y.val())
        } else {
            Err(Error::NonFinite {
                op: "check_tape_gradient",
                index: 0,
                value: y.val(),
                context: "function value".into(),
            })
        }
    };
    check_gradient(value, x, &analytic, opts)
}
