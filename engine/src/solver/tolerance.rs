//! Error tolerances and the one scaled error norm of every adaptive solver.
//!
//! A step with error estimate `err` from `y` to `y_new` is measured by
//!
//! $$\varepsilon = \sqrt{\frac{1}{n}\sum_{i=1}^n \left(\frac{\mathrm{err}_i}{\mathrm{atol}_i + \mathrm{rtol}_i \max(|y_i|, |y^{new}_i|)}\right)^2}$$
//!
//! and accepted when `ε < 1` (Hairer, Nørsett & Wanner 1993, II.4, eq. (4.11)). Newton
//! iterations of implicit methods measure their updates with the weights
//! `1 / (atolᵢ + rtolᵢ |yᵢ|)` ([`Tolerance::weighted_rms`]). Explicit, Rosenbrock, ESDIRK,
//! BDF and adaptive SDE methods all read their tolerances through this type, so they share
//! one validation rule ([`Tolerance::validate`]) and one norm.

use serde::{Deserialize, Serialize};

use crate::ad::Real;
use crate::error::{Error, Result};

/// Smallest non-zero relative tolerance accepted: below it the round-off of `f64` (about
/// `1.1e-16` per operation) dominates any error estimate.
pub const RTOL_MIN: f64 = 1e-15;

/// A tolerance for every component: one value for all, or one per component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ComponentTol {
    /// The same for every component.
    Scalar(f64),
    /// One per component.
    PerComponent(Vec<f64>),
}

impl ComponentTol {
    /// The tolerance of component `i`.
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        match self {
            ComponentTol::Scalar(a) => *a,
            ComponentTol::PerComponent(v) => v[i],
        }
    }

    /// The value if it is the same for every component.
    #[inline]
    pub fn as_scalar(&self) -> Option<f64> {
        match self {
            ComponentTol::Scalar(a) => Some(*a),
            ComponentTol::PerComponent(_) => None,
        }
    }

    /// The largest value over the components (0 for an empty list).
    pub fn max(&self) -> f64 {
        match self {
            ComponentTol::Scalar(a) => *a,
            ComponentTol::PerComponent(v) => v.iter().copied().fold(0.0, f64::max),
        }
    }
}

impl From<f64> for ComponentTol {
    fn from(a: f64) -> Self {
        ComponentTol::Scalar(a)
    }
}

impl From<Vec<f64>> for ComponentTol {
    fn from(v: Vec<f64>) -> Self {
        ComponentTol::PerComponent(v)
    }
}

impl From<&[f64]> for ComponentTol {
    fn from(v: &[f64]) -> Self {
        ComponentTol::PerComponent(v.to_vec())
    }
}

/// Relative and absolute tolerances of an adaptive solve, each scalar or per component.
///
/// ```
/// use mechml_engine::solver::Tolerance;
/// let tol = Tolerance::new(1e-6, 1e-9);
/// tol.validate("ode", 3)?;
/// // One step's scaled error: accepted when below 1.
/// let e = tol.error_norm(&[1e-7, 0.0, 0.0], &[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
/// assert!((e - 1e-7 / (1e-9 + 1e-6) / 3f64.sqrt()).abs() < 1e-12);
/// // Per-component absolute tolerances:
/// let tol = Tolerance::new(1e-6, vec![1e-9, 1e-12, 1e-9]);
/// assert!(tol.validate("ode", 2).is_err()); // three values for two states
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Relative tolerance: each component finite, 0 or in `[1e-15, ∞)`.
    pub rtol: ComponentTol,
    /// Absolute tolerance: each component finite and ≥ 0.
    pub atol: ComponentTol,
}

impl Default for Tolerance {
    /// `rtol = 1e-6`, `atol = 1e-9`.
    fn default() -> Self {
        Self::new(1e-6, 1e-9)
    }
}

impl Tolerance {
    /// Tolerances `rtol`, `atol` (scalars, or per-component lists).
    pub fn new(rtol: impl Into<ComponentTol>, atol: impl Into<ComponentTol>) -> Self {
        Self {
            rtol: rtol.into(),
            atol: atol.into(),
        }
    }

    /// The relative tolerance of component `i`.
    #[inline]
    pub fn rtol(&self, i: usize) -> f64 {
        self.rtol.get(i)
    }

    /// The absolute tolerance of component `i`.
    #[inline]
    pub fn atol(&self, i: usize) -> f64 {
        self.atol.get(i)
    }

    /// `atolᵢ + rtolᵢ · max(|a|, |b|)`: the scale of component `i`.
    #[inline]
    pub fn scale(&self, i: usize, a: f64, b: f64) -> f64 {
        self.atol(i) + self.rtol(i) * a.abs().max(b.abs())
    }

    /// The one validation rule: for a problem with `n` components, per-component lists
    /// have length `n`; every `rtolᵢ` is finite and either 0 or at least
    /// [`RTOL_MIN`]; every `atolᵢ` is finite and ≥ 0; and `rtolᵢ + atolᵢ > 0` for every
    /// component (a component with both 0 could never pass the error test).
    pub fn validate(&self, op: &'static str, n: usize) -> Result<()> {
        for (which, tol) in [("rtol", &self.rtol), ("atol", &self.atol)] {
            if let ComponentTol::PerComponent(v) = tol
                && v.len() != n
            {
                return Err(Error::ShapeMismatch {
                    op,
                    arg: which,
                    expected: format!("len {n} (one per component) or a scalar"),
                    found: format!("len {}", v.len()),
                });
            }
        }
        let name = |which: &str, tol: &ComponentTol, i: usize| match tol {
            ComponentTol::Scalar(_) => which.to_string(),
            ComponentTol::PerComponent(_) => format!("{which}[{i}]"),
        };
        let len = |tol: &ComponentTol| match tol {
            ComponentTol::Scalar(_) => 1,
            ComponentTol::PerComponent(v) => v.len(),
        };
        for i in 0..len(&self.rtol) {
            let r = self.rtol.get(i);
            if !(r.is_finite() && r >= 0.0) {
                return Err(Error::invalid_option(
                    op,
                    name("rtol", &self.rtol, i),
                    r,
                    "finite and ≥ 0",
                ));
            }
            if r > 0.0 && r < RTOL_MIN {
                return Err(Error::invalid_option(
                    op,
                    name("rtol", &self.rtol, i),
                    format!("{r:e}"),
                    "0 or ≥ 1e-15 (below that f64 round-off dominates; use ≥ 1e-14)",
                ));
            }
        }
        for i in 0..len(&self.atol) {
            let a = self.atol.get(i);
            if !(a.is_finite() && a >= 0.0) {
                return Err(Error::invalid_option(
                    op,
                    name("atol", &self.atol, i),
                    a,
                    "finite and ≥ 0",
                ));
            }
        }
        // Lists have length n here, so component i is defined for every i < n.
        let per_component = len(&self.rtol) > 1 || len(&self.atol) > 1;
        for i in 0..n {
            if self.rtol.get(i) == 0.0 && self.atol.get(i) == 0.0 {
                return Err(Error::invalid_option(
                    op,
                    if per_component {
                        format!("rtol[{i}] + atol[{i}]")
                    } else {
                        "rtol + atol".to_string()
                    },
                    0,
                    "> 0 (rtol and atol are both 0, so no step could pass the error test)",
                ));
            }
        }
        Ok(())
    }

    /// The scaled RMS error norm `ε` of the module docs for the error estimate `err` of a
    /// step from `a` to `b`; a non-finite error gives `∞`, an empty state 0.
    #[inline(always)]
    pub fn error_norm<T: Real>(&self, err: &[f64], a: &[T], b: &[T]) -> f64 {
        let n = err.len();
        if n == 0 {
            return 0.0;
        }
        let mut sum = 0.0;
        match (&self.rtol, &self.atol) {
            (ComponentTol::Scalar(rt), ComponentTol::Scalar(at)) => {
                for ((e, x), y) in err.iter().zip(a).zip(b) {
                    let v = e / (at + rt * x.value().abs().max(y.value().abs()));
                    sum += v * v;
                }
            }
            (ComponentTol::Scalar(rt), ComponentTol::PerComponent(at)) => {
                for (((e, x), y), at) in err.iter().zip(a).zip(b).zip(at) {
                    let v = e / (at + rt * x.value().abs().max(y.value().abs()));
                    sum += v * v;
                }
            }
            _ => {
                for (i, ((e, x), y)) in err.iter().zip(a).zip(b).enumerate() {
                    let v = e / self.scale(i, x.value(), y.value());
                    sum += v * v;
                }
            }
        }
        let norm = (sum / n as f64).sqrt();
        if norm.is_finite() {
            norm
        } else {
            f64::INFINITY
        }
    }

    /// The component with the largest scaled error (the first non-finite one if any), for
    /// error messages.
    pub fn worst_component<T: Real>(&self, err: &[f64], a: &[T], b: &[T]) -> usize {
        let mut worst = 0;
        let mut worst_v = -1.0;
        for i in 0..err.len() {
            let v = (err[i] / self.scale(i, a[i].value(), b[i].value())).abs();
            if !v.is_finite() {
                return i;
            }
            if v > worst_v {
                worst_v = v;
                worst = i;
            }
        }
        worst
    }

    /// The RMS norm of `xᵢ / (atolᵢ + rtolᵢ |yᵢ|)`: Newton updates and starting-step
    /// estimates.
    pub fn weighted_rms(&self, x: &[f64], y: &[f64]) -> f64 {
        let n = x.len().max(1);
        let s: f64 = x
            .iter()
            .zip(y)
            .enumerate()
            .map(|(i, (xi, yi))| {
                let v = xi / (self.atol(i) + self.rtol(i) * yi.abs());
                v * v
            })
            .sum();
        (s / n as f64).sqrt()
    }

    /// Writes the weights `wᵢ = 1 / (atolᵢ + rtolᵢ |yᵢ|)` into `w`, so that a weighted
    /// RMS norm is `‖w ∘ x‖_RMS`.
    pub fn weights_into(&self, y: &[f64], w: &mut [f64]) {
        for (i, (wi, yi)) in w.iter_mut().zip(y).enumerate() {
            *wi = 1.0 / (self.atol(i) + self.rtol(i) * yi.abs());
        }
    }

    /// Writes the scales `sᵢ = atolᵢ + rtolᵢ |yᵢ|` into `out` (the reciprocals of
    /// [`Tolerance::weights_into`]): implicit methods compute them once per step and
    /// measure every Newton update against them with [`Tolerance::rms_scaled`].
    #[inline(always)]
    pub fn scales_into(&self, y: &[f64], out: &mut [f64]) {
        match (&self.rtol, &self.atol) {
            (ComponentTol::Scalar(rt), ComponentTol::Scalar(at)) => {
                for (o, yi) in out.iter_mut().zip(y) {
                    *o = at + rt * yi.abs();
                }
            }
            (ComponentTol::Scalar(rt), ComponentTol::PerComponent(at)) => {
                for ((o, yi), at) in out.iter_mut().zip(y).zip(at) {
                    *o = at + rt * yi.abs();
                }
            }
            _ => {
                for (i, (o, yi)) in out.iter_mut().zip(y).enumerate() {
                    *o = self.atol(i) + self.rtol(i) * yi.abs();
                }
            }
        }
    }

    /// The RMS norm of `c · xᵢ / sᵢ` over scales `s` from [`Tolerance::scales_into`]: the
    /// norm of Newton updates and of multistep error estimates. A non-finite norm is `∞`;
    /// an empty `x` gives 0.
    #[inline(always)]
    pub fn rms_scaled(x: &[f64], scales: &[f64], c: f64) -> f64 {
        let mut sum = 0.0;
        for (xi, si) in x.iter().zip(scales) {
            let v = c * xi / si;
            sum += v * v;
        }
        let r = (sum / x.len().max(1) as f64).sqrt();
        if r.is_finite() { r } else { f64::INFINITY }
    }

    /// The component with the largest `|c · xᵢ / sᵢ|` in [`Tolerance::rms_scaled`] (the last
    /// NaN one if any), for error messages.
    pub fn worst_scaled(x: &[f64], scales: &[f64], c: f64) -> usize {
        let mut worst = (0.0, 0);
        for (i, (xi, si)) in x.iter().zip(scales).enumerate() {
            let v = c * xi / si;
            if v.abs() > worst.0 || v.is_nan() {
                worst = (v.abs(), i);
            }
        }
        worst.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_matches_definition() {
        let tol = Tolerance::new(vec![1e-3, 1e-4], vec![1e-6, 1e-5]);
        let (err, a, b) = ([2e-4, -3e-5], [1.0, -2.0], [1.5, -1.0]);
        let s0 = 2e-4 / (1e-6 + 1e-3 * 1.5);
        let s1 = 3e-5 / (1e-5 + 1e-4 * 2.0);
        let e = tol.error_norm(&err, &a, &b);
        assert!((e - ((s0 * s0 + s1 * s1) / 2.0).sqrt()).abs() < 1e-14 * e);
        // The scalar fast paths agree with the per-component path.
        let scalar = Tolerance::new(1e-3, 1e-6);
        let lists = Tolerance::new(vec![1e-3; 2], vec![1e-6; 2]);
        let mixed = Tolerance::new(1e-3, vec![1e-6; 2]);
        let e1 = scalar.error_norm(&err, &a, &b);
        assert_eq!(e1, lists.error_norm(&err, &a, &b));
        assert_eq!(e1, mixed.error_norm(&err, &a, &b));
        assert_eq!(tol.worst_component(&err, &a, &b), 1); // s1 > s0
        assert_eq!(scalar.error_norm(&[f64::NAN, 0.0], &a, &b), f64::INFINITY);
        assert_eq!(scalar.worst_component(&[0.0, f64::NAN], &a, &b), 1);
    }

    #[test]
    fn one_validation_rule() {
        let ok =
            |r: ComponentTol, a: ComponentTol, n| Tolerance { rtol: r, atol: a }.validate("t", n);
        assert!(ok(1e-6.into(), 1e-9.into(), 3).is_ok());
        assert!(ok(0.0.into(), 1e-9.into(), 3).is_ok()); // pure absolute control
        assert!(ok(1e-6.into(), 0.0.into(), 3).is_ok()); // pure relative control
        assert!(ok((-1e-6).into(), 1e-9.into(), 3).is_err());
        assert!(ok(f64::NAN.into(), 1e-9.into(), 3).is_err());
        assert!(ok(1e-16.into(), 1e-9.into(), 3).is_err());
        assert!(ok(1e-6.into(), f64::INFINITY.into(), 3).is_err());
        assert!(ok(0.0.into(), 0.0.into(), 3).is_err());
        assert!(ok(vec![1e-6, 0.0].into(), vec![1e-9, 0.0].into(), 2).is_err());
        assert!(ok(vec![1e-6, 0.0].into(), vec![1e-9, 1e-9].into(), 2).is_ok());
        let e = ok(1e-6.into(), vec![1e-9, -1.0].into(), 2).unwrap_err();
        assert!(e.to_string().contains("atol[1]"), "{e}");
        assert!(matches!(
            ok(1e-6.into(), vec![1e-9].into(), 2),
            Err(Error::ShapeMismatch { arg: "atol", .. })
        ));
    }

    #[test]
    fn weights_and_weighted_rms_agree() {
        let tol = Tolerance::new(1e-3, vec![1e-6, 1e-2]);
        let (x, y) = ([0.1, -0.2], [3.0, -4.0]);
        let mut w = [0.0; 2];
        tol.weights_into(&y, &mut w);
        let rms = (((x[0] * w[0]).powi(2) + (x[1] * w[1]).powi(2)) / 2.0).sqrt();
        assert!((tol.weighted_rms(&x, &y) - rms).abs() < 1e-14 * rms);
        // Scales are the reciprocal weights; the scaled RMS over them is the weighted RMS.
        let mut s = [0.0; 2];
        tol.scales_into(&y, &mut s);
        assert!((s[0] * w[0] - 1.0).abs() < 1e-15 && (s[1] * w[1] - 1.0).abs() < 1e-15);
        let r = Tolerance::rms_scaled(&x, &s, 1.0);
        assert!((r - rms).abs() < 1e-14 * rms);
        assert_eq!(Tolerance::worst_scaled(&x, &s, 1.0), 0);
        let r2 = Tolerance::rms_scaled(&x, &s, 2.0);
        assert!((r2 - 2.0 * rms).abs() < 1e-14 * rms);
        assert_eq!(
            Tolerance::rms_scaled(&[1.0, f64::NAN], &s, 1.0),
            f64::INFINITY
        );
        assert_eq!(Tolerance::worst_scaled(&[1.0, f64::NAN], &s, 1.0), 1);
        // The scalar fast path agrees with the per-component one.
        let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
        Tolerance::new(1e-3, 1e-6).scales_into(&y, &mut a);
        Tolerance::new(vec![1e-3; 2], vec![1e-6; 2]).scales_into(&y, &mut b);
        assert_eq!(a, b);
    }
}
