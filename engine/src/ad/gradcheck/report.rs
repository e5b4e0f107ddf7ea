//! [`GradCheckReport`]: the outcome of a gradient check, and the component-wise comparison
//! that makes one.

/// The outcome of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// The analytic gradient that was checked.
    pub analytic: Vec<f64>,
    /// The finite-difference gradient.
    pub numeric: Vec<f64>,
    /// `|aᵢ − nᵢ| / max(|aᵢ|, |nᵢ|, tiny)` per component.
    pub rel_errors: Vec<f64>,
    /// The estimated error of each finite-difference component (from
    /// [`check_gradient_estimated`](super::check_gradient_estimated) and its siblings;
    /// empty for the fixed-step checks).
    pub numeric_errors: Vec<f64>,
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
            "gradient check {}: worst component {w}: analytic {:e}, finite difference {:e}",
            if self.passed { "passed" } else { "FAILED" },
            self.analytic.get(w).copied().unwrap_or(f64::NAN),
            self.numeric.get(w).copied().unwrap_or(f64::NAN),
        )?;
        if let Some(e) = self.numeric_errors.get(w) {
            write!(f, " (estimated error {e:e})")?;
        }
        write!(
            f,
            ", relative error {:e}",
            self.rel_errors.get(w).copied().unwrap_or(f64::NAN)
        )
    }
}

/// Compares component-wise, component `i` of size `scale` within `tol(i, scale)`.
pub(super) fn compare_with(
    analytic: Vec<f64>,
    numeric: Vec<f64>,
    numeric_errors: Vec<f64>,
    tol: impl Fn(usize, f64) -> f64,
) -> GradCheckReport {
    let mut worst = 0;
    let mut worst_ratio = -1.0;
    let mut passed = true;
    let mut rel_errors = Vec::with_capacity(analytic.len());
    for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
        let diff = (a - n).abs();
        let scale = a.abs().max(n.abs());
        let tol = tol(i, scale);
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
        numeric_errors,
        worst,
        passed,
    }
}
