//! Strong-Wolfe line search: Nocedal & Wright (2006), *Numerical Optimization*, 2nd ed.,
//! Alg. 3.5 (bracketing) and Alg. 3.6 (zoom), with safeguarded cubic interpolation
//! (eq. 3.59).
//!
//! Along `φ(α) = f(x + αp)` with `φ'(0) = ∇f(x)ᵀp < 0`, an accepted step satisfies
//! (eq. 3.7)
//!
//! ```text
//! φ(α) ≤ φ(0) + c₁ α φ'(0)        (sufficient decrease)
//! |φ'(α)| ≤ c₂ |φ'(0)|            (curvature, strong form)
//! ```
//!
//! A trial point where the objective reports [`Error::NonFinite`] or
//! [`Error::NotPositiveDefinite`] is treated as outside the objective's domain
//! (`φ = +∞`), and the step is shortened; every other error is passed on.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Parameters of the strong-Wolfe line search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineSearchOptions {
    /// Sufficient-decrease constant `c₁ ∈ (0, c₂)`.
    pub c1: f64,
    /// Curvature constant `c₂ ∈ (c₁, 1)` (0.9 for quasi-Newton methods).
    pub c2: f64,
    /// Most objective evaluations in one search (≥ 1).
    pub max_evals: usize,
    /// Largest step length tried.
    pub alpha_max: f64,
}

impl Default for LineSearchOptions {
    fn default() -> Self {
        Self {
            c1: 1e-4,
            c2: 0.9,
            max_evals: 30,
            alpha_max: 1e10,
        }
    }
}

impl LineSearchOptions {
    /// Checks `0 < c₁ < c₂ < 1`, `max_evals ≥ 1`, `alpha_max > 0`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let op = "LineSearchOptions";
        if !(self.c1 > 0.0 && self.c1 < 1.0) {
            return Err(Error::invalid_option(op, "c1", self.c1, "0 < c1 < c2 < 1"));
        }
        if !(self.c2 > self.c1 && self.c2 < 1.0) {
            return Err(Error::invalid_option(
                op,
                "c2",
                self.c2,
                format!("c1 = {} < c2 < 1", self.c1),
            ));
        }
        if self.max_evals == 0 {
            return Err(Error::invalid_option(op, "max_evals", 0, "≥ 1"));
        }
        if self.alpha_max.is_nan() || self.alpha_max <= 0.0 {
            return Err(Error::invalid_option(
                op,
                "alpha_max",
                self.alpha_max,
                "> 0",
            ));
        }
        Ok(())
    }
}

/// A point on the search line.
#[derive(Clone, Debug, PartialEq)]
pub struct LineSearchStep {
    /// Step length `α`.
    pub alpha: f64,
    /// `x + α p`.
    pub x: Vec<f64>,
    /// `f(x + αp)`.
    pub value: f64,
    /// `∇f(x + αp)`.
    pub gradient: Vec<f64>,
    /// `φ'(α) = ∇f(x + αp)ᵀ p`.
    pub slope: f64,
}

/// What the line search found.
#[derive(Clone, Debug, PartialEq)]
pub enum LineSearchOutcome {
    /// A step satisfying both strong-Wolfe conditions.
    Accepted {
        /// The step.
        step: LineSearchStep,
        /// Objective evaluations used.
        evaluations: usize,
    },
    /// No such step within the evaluation budget (or `p` is not a descent direction).
    Failed {
        /// Why.
        reason: String,
        /// Objective evaluations used.
        evaluations: usize,
        /// The best trial with sufficient decrease, if any.
        best: Option<LineSearchStep>,
        /// Whether the evaluation budget ran out.
        budget_exhausted: bool,
    },
}

struct Search<'a, F> {
    f: &'a mut F,
    x: &'a [f64],
    p: &'a [f64],
    phi0: f64,
    dphi0: f64,
    evals: usize,
    max_evals: usize,
}

impl<F> Search<'_, F>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    /// Evaluates φ and φ' at `alpha`; `None` for a point outside the domain.
    fn eval(&mut self, alpha: f64) -> Result<Option<LineSearchStep>> {
        self.evals += 1;
        let xt: Vec<f64> = self
            .x
            .iter()
            .zip(self.p)
            .map(|(xi, pi)| xi + alpha * pi)
            .collect();
        match (self.f)(&xt) {
            Ok((v, g)) => {
                crate::error::check_len("strong_wolfe", "objective gradient", g.len(), xt.len())?;
                if !v.is_finite() || g.iter().any(|gi| !gi.is_finite()) {
                    return Ok(None);
                }
                let slope = super::dot(&g, self.p);
                Ok(Some(LineSearchStep {
                    alpha,
                    x: xt,
                    value: v,
                    gradient: g,
                    slope,
                }))
            }
            Err(Error::NonFinite { .. } | Error::NotPositiveDefinite { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn armijo(&self, s: &LineSearchStep, c1: f64) -> bool {
        s.value <= self.phi0 + c1 * s.alpha * self.dphi0
    }
}

/// Safeguarded cubic minimiser of the Hermite interpolant through `(a, fa, da)` and
/// `(b, fb, db)` (Nocedal & Wright eq. 3.59), kept inside the middle 80 % of `[a, b]`;
/// bisection where the cubic has no minimiser.
fn cubic_step(a: f64, fa: f64, da: f64, b: f64, fb: f64, db: f64) -> f64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let width = hi - lo;
    let mid = 0.5 * (a + b);
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    if disc.is_nan() || disc < 0.0 || !d1.is_finite() {
        return mid;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let denom = db - da + 2.0 * d2;
    if denom == 0.0 || !denom.is_finite() {
        return mid;
    }
    let t = b - (b - a) * (db + d2 - d1) / denom;
    if !t.is_finite() {
        return mid;
    }
    t.clamp(lo + 0.1 * width, hi - 0.1 * width)
}

/// Finds a step along `p` from `x` (where `f(x) = fx`, `∇f(x) = gx`) satisfying the strong
/// Wolfe conditions, starting from the trial step `alpha_init`.
///
/// Alg. 3.5 grows the trial step (doubling, capped by `alpha_max`) until it brackets an
/// acceptable step; Alg. 3.6 then shrinks the bracket `[α_lo, α_hi]`, keeping
/// `φ(α_lo)` the lowest value with sufficient decrease and `φ'(α_lo)(α_hi − α_lo) < 0`.
///
/// ```
/// use mechml_engine::optim::{LineSearchOptions, LineSearchOutcome, strong_wolfe};
/// // f(x) = x², from x = 1 along p = -1: the exact minimiser is α = 1.
/// let mut f = |x: &[f64]| Ok((x[0] * x[0], vec![2.0 * x[0]]));
/// let out = strong_wolfe(&mut f, &[1.0], 1.0, &[2.0], &[-1.0], 0.1, &LineSearchOptions::default())?;
/// let LineSearchOutcome::Accepted { step, .. } = out else { panic!("search failed") };
/// assert!(step.value <= 1.0 + 1e-4 * step.alpha * -2.0);
/// assert!(step.slope.abs() <= 0.9 * 2.0);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
///
/// # Errors
/// Invalid options, mismatched lengths, or an error from the objective other than
/// non-finite / not-positive-definite (those shorten the step).
pub fn strong_wolfe<F>(
    f: &mut F,
    x: &[f64],
    fx: f64,
    gx: &[f64],
    p: &[f64],
    alpha_init: f64,
    opts: &LineSearchOptions,
) -> Result<LineSearchOutcome>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    opts.validate()?;
    crate::error::check_len("strong_wolfe", "gradient", gx.len(), x.len())?;
    crate::error::check_len("strong_wolfe", "direction", p.len(), x.len())?;
    let dphi0 = super::dot(gx, p);
    if dphi0.is_nan() || dphi0 >= 0.0 || !fx.is_finite() {
        return Ok(LineSearchOutcome::Failed {
            reason: format!("not a descent direction: ∇fᵀp = {dphi0:e}"),
            evaluations: 0,
            best: None,
            budget_exhausted: false,
        });
    }
    let alpha_init = if alpha_init.is_finite() && alpha_init > 0.0 {
        alpha_init.min(opts.alpha_max)
    } else {
        1.0_f64.min(opts.alpha_max)
    };
    let mut s = Search {
        f,
        x,
        p,
        phi0: fx,
        dphi0,
        evals: 0,
        max_evals: opts.max_evals,
    };
    let (c1, c2) = (opts.c1, opts.c2);
    let curvature_ok = |st: &LineSearchStep| st.slope.abs() <= -c2 * dphi0;

    // The previous trial (α₀ = 0 initially).
    let mut prev = LineSearchStep {
        alpha: 0.0,
        x: x.to_vec(),
        value: fx,
        gradient: gx.to_vec(),
        slope: dphi0,
    };
    let mut alpha = alpha_init;
    let mut first = true;
    // Bracketing (Alg. 3.5).
    let (lo, hi) = loop {
        if s.evals >= s.max_evals {
            return Ok(failed(
                &s,
                "evaluation budget exhausted while bracketing",
                Some(prev),
                true,
            ));
        }
        match s.eval(alpha)? {
            None => {
                // Outside the domain: the acceptable step lies in (prev, alpha).
                break (prev, Trial::Infinite(alpha));
            }
            Some(cur) => {
                if !s.armijo(&cur, c1) || (!first && cur.value >= prev.value) {
                    break (prev, Trial::Finite(cur));
                }
                if curvature_ok(&cur) {
                    return Ok(LineSearchOutcome::Accepted {
                        step: cur,
                        evaluations: s.evals,
                    });
                }
                if cur.slope >= 0.0 {
                    break (cur, Trial::Finite(prev));
                }
                if alpha >= opts.alpha_max {
                    let evals = s.evals;
                    return Ok(LineSearchOutcome::Failed {
                        reason: format!(
                            "step reached alpha_max = {:e} (objective unbounded below along p?)",
                            opts.alpha_max
                        ),
                        evaluations: evals,
                        best: Some(cur),
                        budget_exhausted: false,
                    });
                }
                first = false;
                alpha = (2.0 * alpha).min(opts.alpha_max);
                prev = cur;
            }
        }
    };
    zoom(&mut s, lo, hi, c1, c2)
}

/// The high end of a bracket: a finite trial, or a point outside the domain.
enum Trial {
    Finite(LineSearchStep),
    Infinite(f64),
}

impl Trial {
    fn alpha(&self) -> f64 {
        match self {
            Trial::Finite(s) => s.alpha,
            Trial::Infinite(a) => *a,
        }
    }
}

fn failed<F>(
    s: &Search<'_, F>,
    reason: &str,
    best: Option<LineSearchStep>,
    budget_exhausted: bool,
) -> LineSearchOutcome {
    LineSearchOutcome::Failed {
        reason: reason.to_string(),
        evaluations: s.evals,
        best: best.filter(|b| b.alpha > 0.0),
        budget_exhausted,
    }
}

/// Alg. 3.6: `lo` satisfies sufficient decrease with the lowest value so far and
/// `φ'(lo)(hi − lo) < 0`.
fn zoom<F>(
    s: &mut Search<'_, F>,
    mut lo: LineSearchStep,
    mut hi: Trial,
    c1: f64,
    c2: f64,
) -> Result<LineSearchOutcome>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    loop {
        if s.evals >= s.max_evals {
            return Ok(failed(
                s,
                "evaluation budget exhausted while zooming",
                Some(lo),
                true,
            ));
        }
        let a_hi = hi.alpha();
        let width = (a_hi - lo.alpha).abs();
        if width <= f64::EPSILON * a_hi.abs().max(lo.alpha.abs()).max(f64::MIN_POSITIVE) {
            return Ok(failed(
                s,
                "bracket shrank to machine precision (gradient inaccurate, or f at its resolution)",
                Some(lo),
                false,
            ));
        }
        let alpha = match &hi {
            Trial::Finite(h) => cubic_step(lo.alpha, lo.value, lo.slope, h.alpha, h.value, h.slope),
            Trial::Infinite(a) => 0.5 * (lo.alpha + a),
        };
        match s.eval(alpha)? {
            None => hi = Trial::Infinite(alpha),
            Some(cur) => {
                if !s.armijo(&cur, c1) || cur.value >= lo.value {
                    hi = Trial::Finite(cur);
                } else {
                    if cur.slope.abs() <= -c2 * s.dphi0 {
                        return Ok(LineSearchOutcome::Accepted {
                            step: cur,
                            evaluations: s.evals,
                        });
                    }
                    if cur.slope * (a_hi - lo.alpha) >= 0.0 {
                        hi = Trial::Finite(std::mem::replace(&mut lo, cur));
                    } else {
                        lo = cur;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_step_is_exact_for_a_cubic() {
        // φ(α) = (α − 0.3)² (α + 2) has a local minimiser at 0.3; the Hermite cubic through
        // any two points of a cubic is the cubic itself.
        let phi = |a: f64| (a - 0.3) * (a - 0.3) * (a + 2.0);
        let dphi = |a: f64| 2.0 * (a - 0.3) * (a + 2.0) + (a - 0.3) * (a - 0.3);
        let t = cubic_step(0.0, phi(0.0), dphi(0.0), 1.0, phi(1.0), dphi(1.0));
        assert!((t - 0.3).abs() < 1e-12, "{t}");
    }
}
