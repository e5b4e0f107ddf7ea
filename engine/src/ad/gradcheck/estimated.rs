//! The error-estimating checks: two steps, Richardson extrapolation, and a comparison
//! within the difference's own error estimate (see the [module docs](super)).

use super::fixed::{GradCheckOptions, central4, step};
use super::report::{GradCheckReport, compare_with};
use super::tape_fn::{tape_gradient, tape_value};
use crate::ad::{Tape, Var};
use crate::error::{Error, Result};

/// A finite-difference derivative with an estimate of its own error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FdEstimate {
    /// The extrapolated derivative `R = D(h) + (D(h) − D(2h))/15`.
    pub value: f64,
    /// Estimated error: truncation `|D(h) − D(2h)|/15` plus rounding `1.65 δ/h` (see the
    /// [module docs](crate::ad::gradcheck)).
    pub error: f64,
    /// The step `h` it was computed with.
    pub step: f64,
}

/// The derivative of a function of one variable at 0 along the step `h` (evaluated at
/// `±h, ±2h, ±4h`), with its error estimate; `f_accuracy` is the relative accuracy of one
/// evaluation (for the rounding term).
pub fn finite_diff_estimate<F>(mut eval: F, h: f64, f_accuracy: f64) -> Result<FdEstimate>
where
    F: FnMut(f64) -> Result<f64>,
{
    let (m4, m2, m1) = (eval(-4.0 * h)?, eval(-2.0 * h)?, eval(-h)?);
    let (p1, p2, p4) = (eval(h)?, eval(2.0 * h)?, eval(4.0 * h)?);
    let d1 = central4(m2, m1, p1, p2, h);
    let d2 = central4(m4, m2, p2, p4, 2.0 * h);
    let f_max = [m4, m2, m1, p1, p2, p4]
        .iter()
        .fold(0.0f64, |a, v| a.max(v.abs()));
    let truncation = (d1 - d2).abs() / 15.0;
    let rounding = 1.65 * f_accuracy * f_max / h;
    Ok(FdEstimate {
        value: d1 + (d1 - d2) / 15.0,
        error: truncation + rounding,
        step: h,
    })
}

/// Options of the error-estimating checks ([`check_gradient_estimated`],
/// [`check_tape_gradient_estimated`]): component `i` passes when
/// `|aᵢ − Rᵢ| ≤ atol + rtol · max(|aᵢ|, |Rᵢ|) + safety · eᵢ`, with `eᵢ` the estimated
/// error of the finite difference `Rᵢ`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EstimatedCheckOptions {
    /// Relative tolerance (a floor under the estimate).
    pub rtol: f64,
    /// Absolute tolerance (a floor under the estimate).
    pub atol: f64,
    /// First step relative to `max(|xᵢ|, 1)`; `None` picks ε^{1/5} ≈ 7.4e-4.
    pub rel_step: Option<f64>,
    /// Factor on the estimated error.
    pub safety: f64,
    /// Relative accuracy of one evaluation of `f` (the rounding term of the estimate).
    pub f_accuracy: f64,
}

impl Default for EstimatedCheckOptions {
    /// `rtol = 1e-6`, `atol = 1e-8` (as [`GradCheckOptions::default`]), `safety = 4`,
    /// `f_accuracy = 64 ε`.
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-8,
            rel_step: None,
            safety: 4.0,
            f_accuracy: 64.0 * f64::EPSILON,
        }
    }
}

impl EstimatedCheckOptions {
    /// The tolerances of a fixed-step check, with the default safety factor and accuracy.
    pub fn from_fixed(opts: GradCheckOptions) -> Self {
        Self {
            rtol: opts.rtol,
            atol: opts.atol,
            rel_step: opts.rel_step,
            ..Self::default()
        }
    }

    /// Checks that every field is finite and non-negative and the step positive.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let op = "EstimatedCheckOptions";
        for (name, v) in [
            ("rtol", self.rtol),
            ("atol", self.atol),
            ("safety", self.safety),
            ("f_accuracy", self.f_accuracy),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid_option(op, name, v, "finite and ≥ 0"));
            }
        }
        if let Some(h) = self.rel_step
            && !(h.is_finite() && h > 0.0)
        {
            return Err(Error::invalid_option(op, "rel_step", h, "finite and > 0"));
        }
        Ok(())
    }

    /// The fixed part of the tolerance for a component of size `scale`.
    fn floor(&self, scale: f64) -> f64 {
        self.atol + self.rtol * scale
    }
}

/// Finite-difference gradient of `f` at `x`, each component with an estimate of its error
/// ([`finite_diff_estimate`]). The first step is `rel_step · max(|xᵢ|, 1)`; while the
/// estimate dominates the tolerance `atol + rtol |Rᵢ|` of `opts`, the step is divided by 4
/// (at most twice) and the finer estimate kept if its error is smaller.
pub fn finite_diff_gradient_estimated<F>(
    f: F,
    x: &[f64],
    opts: &EstimatedCheckOptions,
) -> Result<Vec<FdEstimate>>
where
    F: Fn(&[f64]) -> Result<f64>,
{
    opts.validate()?;
    let mut xp = x.to_vec();
    let mut g = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let mut eval = |d: f64| -> Result<f64> {
            xp[i] = x[i] + d;
            let v = f(&xp);
            xp[i] = x[i];
            v
        };
        g.push(refined_estimate(
            &mut eval,
            step(x[i], opts.rel_step),
            opts,
        )?);
    }
    Ok(g)
}

/// [`finite_diff_estimate`] from step `h`, the step divided by 4 (at most twice) while the
/// estimate dominates the tolerance floor of `opts` and keeps falling.
fn refined_estimate<F>(mut eval: F, h: f64, opts: &EstimatedCheckOptions) -> Result<FdEstimate>
where
    F: FnMut(f64) -> Result<f64>,
{
    let mut h = h;
    let mut best = finite_diff_estimate(&mut eval, h, opts.f_accuracy)?;
    for _ in 0..2 {
        let dominates = opts.safety * best.error > opts.floor(best.value.abs());
        if !dominates {
            break;
        }
        h /= 4.0;
        match finite_diff_estimate(&mut eval, h, opts.f_accuracy) {
            Ok(e) if e.error < best.error => best = e,
            _ => break,
        }
    }
    Ok(best)
}

/// Compares `analytic` with the finite-difference gradient of `f` at `x`, within the
/// estimated error of the differences (see the [module docs](crate::ad::gradcheck)).
///
/// ```
/// use mechml_engine::ad::gradcheck::{EstimatedCheckOptions, check_gradient_estimated};
/// // f = sin(5x): steep enough that a fixed tolerance needs a hand-picked step.
/// let x = [0.3];
/// let report = check_gradient_estimated(
///     |z| Ok((5.0 * z[0]).sin()),
///     &x,
///     &[5.0 * (5.0 * x[0]).cos()],
///     EstimatedCheckOptions::default(),
/// )?;
/// assert!(report.passed, "{report}");
/// # Ok::<(), mechml_engine::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if `analytic` and `x` differ in length,
/// [`Error::InvalidOption`] for invalid options, and any error of `f`.
pub fn check_gradient_estimated<F>(
    f: F,
    x: &[f64],
    analytic: &[f64],
    opts: EstimatedCheckOptions,
) -> Result<GradCheckReport>
where
    F: Fn(&[f64]) -> Result<f64>,
{
    crate::error::check_len(
        "check_gradient_estimated",
        "analytic",
        analytic.len(),
        x.len(),
    )?;
    let numeric = finite_diff_gradient_estimated(f, x, &opts)?;
    Ok(compare_estimated(analytic.to_vec(), &numeric, &opts))
}

/// Compares an analytic gradient with finite differences that carry their own error
/// estimates: component `i` passes within `atol + rtol · scale + safety · eᵢ`.
pub fn compare_estimated(
    analytic: Vec<f64>,
    numeric: &[FdEstimate],
    opts: &EstimatedCheckOptions,
) -> GradCheckReport {
    let errors: Vec<f64> = numeric.iter().map(|e| e.error).collect();
    let values = numeric.iter().map(|e| e.value).collect();
    let tol_errors = errors.clone();
    compare_with(analytic, values, errors, |i, scale| {
        opts.floor(scale) + opts.safety * tol_errors[i]
    })
}

/// [`check_tape_gradient`](super::check_tape_gradient) within the estimated error of the
/// finite differences (see the [module docs](crate::ad::gradcheck)).
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::ad::gradcheck::{EstimatedCheckOptions, check_tape_gradient_estimated};
/// let opts = EstimatedCheckOptions::default();
/// let report = check_tape_gradient_estimated(&[0.3, 1.2], opts, |_, x| Ok((x[0] * x[1]).exp()))?;
/// assert!(report.passed, "{report}");
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn check_tape_gradient_estimated<F>(
    x: &[f64],
    opts: EstimatedCheckOptions,
    f: F,
) -> Result<GradCheckReport>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Result<Var<'t>>,
{
    let analytic = tape_gradient(x, &f)?;
    check_gradient_estimated(
        |p| tape_value(&f, p, "check_tape_gradient_estimated"),
        x,
        &analytic,
        opts,
    )
}

/// Checks the directional derivative `⟨∇f(x), v⟩` of a tape closure (one reverse sweep)
/// against the finite difference of `t ↦ f(x + t v)` at 0, within its estimated error
/// (see the [module docs](crate::ad::gradcheck)): one difference instead of one per
/// component, for cheap checks of many inputs (fuzzing). The first step is
/// `rel_step · max(‖x‖∞, 1) / ‖v‖∞`.
///
/// A direction with every component away from zero (say `|vᵢ| ≥ 1/2`) makes an error in
/// any single component of the gradient show in the directional derivative; errors in
/// several components could cancel only for special directions.
///
/// The report has one component (the directional derivative).
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::ad::gradcheck::{EstimatedCheckOptions, check_tape_directional_estimated};
/// let report = check_tape_directional_estimated(
///     &[0.3, 1.2],
///     &[0.7, -0.9],
///     EstimatedCheckOptions::default(),
///     |_, x| Ok((x[0] * x[1]).exp()),
/// )?;
/// assert!(report.passed, "{report}");
/// # Ok::<(), mechml_engine::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if `v` and `x` differ in length, [`Error::InvalidOption`] for
/// invalid options or a direction that is zero or not finite, and any error of `f`.
pub fn check_tape_directional_estimated<F>(
    x: &[f64],
    v: &[f64],
    opts: EstimatedCheckOptions,
    f: F,
) -> Result<GradCheckReport>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Result<Var<'t>>,
{
    let op = "check_tape_directional_estimated";
    crate::error::check_len(op, "v", v.len(), x.len())?;
    opts.validate()?;
    let v_max = v.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    if !(v_max > 0.0 && v_max.is_finite()) {
        return Err(Error::invalid_option(
            op,
            "v",
            format!("{v:?}"),
            "a finite, non-zero direction",
        ));
    }
    let g = tape_gradient(x, &f)?;
    let analytic: f64 = g.iter().zip(v).map(|(a, b)| a * b).sum();
    let x_max = x.iter().fold(1.0f64, |a, b| a.max(b.abs()));
    let h = opts.rel_step.unwrap_or(f64::EPSILON.powf(0.2)) * x_max / v_max;
    let mut xp = x.to_vec();
    let eval = |t: f64| -> Result<f64> {
        for ((p, &a), &b) in xp.iter_mut().zip(x).zip(v) {
            *p = a + t * b;
        }
        tape_value(&f, &xp, op)
    };
    let numeric = refined_estimate(eval, h, &opts)?;
    Ok(compare_estimated(vec![analytic], &[numeric], &opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::gradcheck::{check_gradient, finite_diff_gradient};
    use crate::ad::{BlockOp, InputAdjoints, Real, VarVec};

    /// A program the fuzz target's former fixed-step check rejected though the tape is
    /// right (found by a search over smooth programs; `testing::expr` has its bytes): a
    /// composition of `exp_m1`, `cosh(a) − a` and `cos(a) · b` whose fifth derivative at
    /// x = 1.407 is large enough that the fourth-order difference at relative step 1e-4 is
    /// off by 3.4e-3 (relative).
    fn composition<R: Real>(x: R) -> R {
        let r1 = x.exp_m1();
        let r2 = r1.cosh() - r1;
        let r3 = r2.cos() * r2;
        let r4 = r3.cos() * r3;
        let r5 = r1.cos() * r4;
        let r6 = r5.cos() * r5;
        let r7 = r6.cos() * r1;
        let r9 = r4.cos() * r7;
        let r10 = r9.cos() * r9;
        let r11 = r10.cos() * x;
        r11.cos() * r11
    }

    fn composition_tape_gradient(x: f64) -> f64 {
        let tape = Tape::new();
        let v = tape.var(x);
        let y = composition(v);
        tape.gradient(&y).unwrap().wrt(&v)
    }

    /// The fuzz target's tolerances (`testing::expr::check_bytes`).
    fn fuzz_fixed() -> GradCheckOptions {
        GradCheckOptions {
            rtol: 1e-5,
            atol: 1e-6,
            rel_step: Some(1e-4),
        }
    }

    #[test]
    fn false_alarm_of_the_fixed_check_passes_the_estimated_one() {
        let x = [1.407];
        let g = composition_tape_gradient(x[0]);
        let f = |z: &[f64]| Ok(composition(z[0]));
        // The tape is right: forward mode agrees to rounding, and a difference at a ten
        // times smaller step agrees to 1e-6.
        let d = composition(crate::ad::Dual::dual(x[0], 1.0)).d[0];
        assert!((g - d).abs() <= 1e-12 * g.abs(), "{g} vs {d}");
        let fine = finite_diff_gradient(f, &x, Some(1e-5)).unwrap()[0];
        assert!((fine - g).abs() <= 1e-6 * g.abs(), "{g} vs {fine}");
        let fixed = check_gradient(f, &x, &[g], fuzz_fixed()).unwrap();
        assert!(!fixed.passed, "the false alarm is reproduced: {fixed}");
        assert!(fixed.rel_errors[0] > 1e-3);
        let est =
            check_gradient_estimated(f, &x, &[g], EstimatedCheckOptions::from_fixed(fuzz_fixed()))
                .unwrap();
        assert!(est.passed, "{est}");
        // The estimate covers the actual error of the extrapolated difference.
        assert!((est.numeric[0] - g).abs() <= est.numeric_errors[0]);
    }

    #[test]
    fn a_derivative_off_by_1e_3_fails() {
        let opts = EstimatedCheckOptions::from_fixed(fuzz_fixed());
        // On the hard composition ...
        let x = [1.407];
        let g = composition_tape_gradient(x[0]);
        let f = |z: &[f64]| Ok(composition(z[0]));
        let r = check_gradient_estimated(f, &x, &[g * (1.0 + 1e-3)], opts).unwrap();
        assert!(!r.passed, "{r}");
        // ... and on an easy function, where the estimate is tiny.
        let x = [0.7, -0.4];
        let f = |z: &[f64]| Ok(z[0].sin() * z[1].exp());
        let good = [x[0].cos() * x[1].exp(), x[0].sin() * x[1].exp()];
        assert!(check_gradient_estimated(f, &x, &good, opts).unwrap().passed);
        let bad = [good[0], good[1] * (1.0 + 1e-3)];
        let r = check_gradient_estimated(f, &x, &bad, opts).unwrap();
        assert!(!r.passed && r.worst == 1, "{r}");
    }

    /// `y = sin(x)` as a block whose pullback is off by `1 + rel`.
    struct OffSin {
        x: f64,
        rel: f64,
    }

    impl BlockOp for OffSin {
        fn name(&self) -> &'static str {
            "off_sin"
        }
        fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
            if let Some(mut a) = inputs.arg(0) {
                a[0] += g[0] * self.x.cos() * (1.0 + self.rel);
            }
            Ok(())
        }
    }

    #[test]
    fn a_tape_op_with_a_wrong_partial_fails() {
        let check = |rel: f64| {
            check_tape_gradient_estimated(&[0.8, 1.3], EstimatedCheckOptions::default(), |t, v| {
                let s = t.stack(&v[..1])?;
                let y = s.values()[0].sin();
                let start = t.push_block(
                    OffSin {
                        x: s.values()[0],
                        rel,
                    },
                    &[s.arg()],
                    1,
                )?;
                let y = VarVec::from_block(t, start, vec![y]).get(0).unwrap();
                Ok(y * v[1].exp())
            })
            .unwrap()
        };
        assert!(check(0.0).passed);
        let r = check(1e-3);
        assert!(!r.passed && r.worst == 0, "{r}");
        assert!(r.to_string().contains("estimated error"));
    }

    #[test]
    fn the_directional_check_catches_a_wrong_partial() {
        let check = |rel: f64, v: &[f64]| {
            check_tape_directional_estimated(
                &[0.8, 1.3],
                v,
                EstimatedCheckOptions::default(),
                |t, x| {
                    let s = t.stack(&x[..1])?;
                    let y = s.values()[0].sin();
                    let start = t.push_block(
                        OffSin {
                            x: s.values()[0],
                            rel,
                        },
                        &[s.arg()],
                        1,
                    )?;
                    let y = VarVec::from_block(t, start, vec![y]).get(0).unwrap();
                    Ok(y * x[1].exp())
                },
            )
        };
        for v in [[0.6, -0.9], [-1.0, 0.5]] {
            assert!(check(0.0, &v).unwrap().passed);
            let r = check(1e-3, &v).unwrap();
            assert!(!r.passed, "{r}");
        }
        let zero = check(0.0, &[0.0, 0.0]);
        assert!(matches!(zero, Err(Error::InvalidOption { ref name, .. }) if name == "v"));
        assert!(matches!(
            check(0.0, &[1.0]),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn estimate_covers_the_error_of_plain_functions() {
        for (x, f, df) in [
            (0.3, f64::exp as fn(f64) -> f64, f64::exp as fn(f64) -> f64),
            (1.1, f64::sin, f64::cos),
            (2.5, f64::ln, |x: f64| 1.0 / x),
        ] {
            for h in [1e-1, 1e-2, 1e-3] {
                let e = finite_diff_estimate(|d| Ok(f(x + d)), h, 64.0 * f64::EPSILON).unwrap();
                assert!(
                    (e.value - df(x)).abs() <= e.error,
                    "x = {x}, h = {h}: {e:?}"
                );
            }
        }
    }

    #[test]
    fn bad_options_are_named() {
        let opts = EstimatedCheckOptions {
            safety: f64::NAN,
            ..EstimatedCheckOptions::default()
        };
        let r = check_gradient_estimated(|z| Ok(z[0]), &[1.0], &[1.0], opts);
        assert!(matches!(r, Err(Error::InvalidOption { ref name, .. }) if name == "safety"));
        let opts = EstimatedCheckOptions {
            rel_step: Some(0.0),
            ..EstimatedCheckOptions::default()
        };
        let r = check_gradient_estimated(|z| Ok(z[0]), &[1.0], &[1.0], opts);
        assert!(matches!(r, Err(Error::InvalidOption { ref name, .. }) if name == "rel_step"));
    }
}
