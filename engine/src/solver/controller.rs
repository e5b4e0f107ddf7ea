//! Step-size control: the [`StepController`] extension point, the PI controller
//! [`PiController`] (an I-controller by default), the scaled error norm and Hairer's
//! starting step.
//!
//! With the scaled error `ε = ‖err / (atol + rtol · max(|y|, |y_new|))‖_RMS` of a step of size
//! `h` from a method whose local error is `O(h^q)`, a step is accepted when `ε < 1`, and
//! the next step is
//!
//! $$h_{new} = h \cdot \mathrm{clip}\big(s\, ε_n^{-(k_I + k_P)/q}\, ε_{n-1}^{k_P/q},\ f_{min}, f_{max}\big)$$
//!
//! (Söderlind 2002, "Automatic control and adaptive time-stepping", Numer. Algorithms 31;
//! Hairer & Wanner 1996, IV.2, eq. (2.43c)). With `k_P = 0`, `k_I = 1` this is the
//! classical I-controller of Hairer, Nørsett & Wanner (1993), II.4, eq. (4.13).
//! The controller is independent of the integrator: every adaptive ODE and SDE method
//! takes its step sizes from a [`StepController`], and gradient paths replay the same one.

use serde::{Deserialize, Serialize};

use super::tolerance::Tolerance;
use crate::error::{Error, Result};

/// The outcome of [`StepController::adapt`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecision {
    /// Whether the step is accepted.
    pub accept: bool,
    /// The next step size to try (after an accepted step: the next step; after a rejected
    /// one: the retry).
    pub h_next: f64,
}

/// Decides whether a step is accepted and the size of the next one from its scaled error.
pub trait StepController {
    /// Forgets the history (called before a solve).
    fn reset(&mut self);

    /// `h` is the step just attempted, `err` its scaled error norm (accept when `< 1`;
    /// `∞` or NaN for a failed attempt), `q` the order of the local error estimate
    /// (`h^q`).
    fn adapt(&mut self, h: f64, err: f64, q: f64) -> StepDecision;

    /// Checks the controller's settings before a solve (the default accepts any).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// A PI step-size controller in the form used by diffrax's `PIDController`: factors
/// are applied to `1/ε`; accepted steps never shrink below `accept_factor_min` × h.
///
/// The default is the I-controller with safety 0.9 and factor limits 0.2 and 10 (the
/// settings of scipy's `RK45` and diffrax's `PIDController` defaults).
///
/// Two controllers compare equal when their settings do (their history is not compared).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PiController {
    /// Proportional coefficient `k_P` (0 for an I-controller).
    pub pcoeff: f64,
    /// Integral coefficient `k_I`.
    pub icoeff: f64,
    /// Safety factor `s`.
    pub safety: f64,
    /// Smallest factor after a rejected step.
    pub factor_min: f64,
    /// Largest factor.
    pub factor_max: f64,
    /// Smallest factor after an accepted step (1: accepted steps do not shrink, as in
    /// diffrax).
    pub accept_factor_min: f64,
    #[serde(skip)]
    prev_inv_err: f64,
    /// `(q, inv_lo, inv_hi)`: the error thresholds below/above which an accepted step's
    /// factor is clipped (I-controller).
    #[serde(skip)]
    cache: (f64, f64, f64),
}

impl Default for PiController {
    fn default() -> Self {
        Self {
            pcoeff: 0.0,
            icoeff: 1.0,
            safety: 0.9,
            factor_min: 0.2,
            factor_max: 10.0,
            accept_factor_min: 1.0,
            prev_inv_err: 1.0,
            cache: (f64::NAN, 0.0, 0.0),
        }
    }
}

impl PartialEq for PiController {
    fn eq(&self, o: &Self) -> bool {
        self.pcoeff == o.pcoeff
            && self.icoeff == o.icoeff
            && self.safety == o.safety
            && self.factor_min == o.factor_min
            && self.factor_max == o.factor_max
            && self.accept_factor_min == o.accept_factor_min
    }
}

impl PiController {
    /// A PI controller with coefficients `k_P`, `k_I` and the default limits (e.g.
    /// `(0.3, 0.3)` for mildly stiff problems, as diffrax's documentation suggests).
    pub fn pi(pcoeff: f64, icoeff: f64) -> Self {
        Self {
            pcoeff,
            icoeff,
            ..Self::default()
        }
    }

    /// Checks the coefficients.
    pub fn validate(&self) -> Result<()> {
        let ok = self.icoeff > 0.0
            && self.pcoeff >= 0.0
            && self.safety > 0.0
            && self.safety <= 1.0
            && self.factor_min > 0.0
            && self.factor_min < 1.0
            && self.factor_max > 1.0
            && self.accept_factor_min > 0.0
            && self.accept_factor_min <= 1.0
            && [self.pcoeff, self.icoeff, self.safety, self.factor_max]
                .iter()
                .all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument {
                op: "PiController",
                message: format!(
                    "need icoeff > 0, pcoeff ≥ 0, 0 < safety ≤ 1, 0 < factor_min < 1 < \
                     factor_max, 0 < accept_factor_min ≤ 1; got {self:?}"
                ),
            })
        }
    }
}

impl StepController for PiController {
    fn reset(&mut self) {
        self.prev_inv_err = 1.0;
    }

    fn validate(&self) -> Result<()> {
        PiController::validate(self)
    }

    fn adapt(&mut self, h: f64, err: f64, q: f64) -> StepDecision {
        let accept = err < 1.0;
        let inv = if err.is_nan() { 0.0 } else { 1.0 / err };
        let expo = (self.icoeff + self.pcoeff) / q;
        if self.pcoeff == 0.0 && accept {
            // I-controller on an accepted step: skip the power where the factor is
            // clipped anyway (safety · inv^e ≤ accept_factor_min, or ≥ factor_max).
            if self.cache.0 != q {
                self.cache = (
                    q,
                    (self.accept_factor_min / self.safety).powf(1.0 / expo),
                    (self.factor_max / self.safety).powf(1.0 / expo),
                );
            }
            let (_, lo_inv, hi_inv) = self.cache;
            if inv <= lo_inv {
                return StepDecision {
                    accept,
                    h_next: h * self.accept_factor_min,
                };
            }
            if inv >= hi_inv {
                return StepDecision {
                    accept,
                    h_next: h * self.factor_max,
                };
            }
        }
        let mut factor = self.safety * inv.powf(expo);
        if self.pcoeff != 0.0 {
            factor *= self.prev_inv_err.powf(-self.pcoeff / q);
        }
        let lo = if accept {
            self.accept_factor_min
        } else {
            self.factor_min
        };
        let factor = if factor.is_nan() {
            lo
        } else {
            factor.clamp(lo, self.factor_max)
        };
        if accept {
            // A failed attempt (inv = 0 or ∞) must not bias the next P term.
            self.prev_inv_err = if inv == 0.0 || inv.is_infinite() {
                1.0
            } else {
                inv
            };
        }
        StepDecision {
            accept,
            h_next: h * factor,
        }
    }
}

/// Hairer's starting step (HNW I, II.4, "Starting step size"; as in diffrax and scipy):
/// `h₀ = 0.01 d₀/d₁` from `d₀ = ‖y₀/sc‖`, `d₁ = ‖f₀/sc‖`, an explicit Euler step to
/// estimate `d₂ = ‖(f₁ − f₀)/sc‖/h₀`, then
/// `h = min(100 h₀, (0.01 / max(d₁, d₂))^{1/q})`, with `sc = atol + rtol |y₀|`
/// ([`Tolerance::weighted_rms`]).
///
/// `f` evaluates the right-hand side at `(t0 + h₀, y₀ + h₀ f₀)` into its third argument
/// (one evaluation).
pub fn initial_step(
    t0: f64,
    y0: &[f64],
    f0: &[f64],
    q: f64,
    tol: &Tolerance,
    mut f: impl FnMut(f64, &[f64], &mut [f64]),
) -> f64 {
    let n = y0.len();
    let d0 = tol.weighted_rms(y0, y0);
    let d1 = tol.weighted_rms(f0, y0);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    let y1: Vec<f64> = y0.iter().zip(f0).map(|(y, f)| y + h0 * f).collect();
    let mut f1 = vec![0.0; n];
    f(t0 + h0, &y1, &mut f1);
    let diff: Vec<f64> = f1.iter().zip(f0).map(|(a, b)| a - b).collect();
    let d2 = tol.weighted_rms(&diff, y0) / h0;
    let m = d1.max(d2);
    let h1 = if m <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / m).powf(1.0 / q)
    };
    let h = (100.0 * h0).min(h1);
    if h.is_finite() && h > 0.0 { h } else { 1e-6 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i_controller_factors() {
        let mut c = PiController::default();
        // ε = 2^-5 with q = 5: factor 0.9 · 2 = 1.8.
        let d = c.adapt(1.0, 1.0 / 32.0, 5.0);
        assert!(d.accept && (d.h_next - 1.8).abs() < 1e-12);
        // Tiny error: clipped at 10.
        assert_eq!(c.adapt(1.0, 1e-30, 5.0).h_next, 10.0);
        // Accepted with ε = 0.99: would shrink, but accepted steps keep h.
        assert_eq!(c.adapt(1.0, 0.99, 5.0).h_next, 1.0);
        // Rejected: ε = 32 → 0.45; ε = ∞ → factor_min.
        let d = c.adapt(1.0, 32.0, 5.0);
        assert!(!d.accept && (d.h_next - 0.45).abs() < 1e-12);
        assert_eq!(c.adapt(1.0, f64::INFINITY, 5.0).h_next, 0.2);
        assert_eq!(c.adapt(1.0, f64::NAN, 5.0).h_next, 0.2);
    }

    #[test]
    fn pi_term_uses_previous_error() {
        let mut c = PiController::pi(0.3, 0.3);
        c.adapt(1.0, 0.5, 4.0);
        // factor = 0.9 · (1/0.25)^{0.6/4} · (1/0.5)^{-0.3/4}
        let d = c.adapt(1.0, 0.25, 4.0);
        let f = 0.9 * 4f64.powf(0.15) * 2f64.powf(-0.075);
        assert!((d.h_next - f).abs() < 1e-12);
    }

    #[test]
    fn starting_step_for_exponential() {
        // y' = -y, y0 = 1: d0 = d1 = 1/(atol + rtol), d2 ≈ d1 → h = min(100 h0, (0.01/d1)^{1/q}).
        let (rtol, atol) = (1e-6, 1e-6);
        let h = initial_step(
            0.0,
            &[1.0],
            &[-1.0],
            5.0,
            &Tolerance::new(rtol, atol),
            |_, y, f| f[0] = -y[0],
        );
        let d1 = 1.0 / (atol + rtol);
        let expected = (100.0 * 0.01_f64).min((0.01 / d1).powf(0.2));
        assert!((h - expected).abs() < 1e-3 * expected, "{h} vs {expected}");
    }
}
