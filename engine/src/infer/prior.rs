//! Prior distributions with log densities generic over [`Real`] (so gradients flow
//! through them on the tape), and the free log-density functions they are built from,
//! which also take [`Real`] hyperparameters for hierarchical models.
//!
//! Every density is normalised (the constants matter for model comparison and for the
//! closed-form tests):
//!
//! | prior | support | `ln p(x)` |
//! |---|---|---|
//! | Normal(μ, σ) | ℝ | `−½ ((x−μ)/σ)² − ln σ − ½ ln 2π` |
//! | LogNormal(μ, σ) | x > 0 | `−ln x − ½ ((ln x−μ)/σ)² − ln σ − ½ ln 2π` |
//! | HalfNormal(σ) | x ≥ 0 | `ln 2 − ½ (x/σ)² − ln σ − ½ ln 2π` |
//! | HalfCauchy(s) | x ≥ 0 | `ln 2 − ln π − ln s − ln(1 + (x/s)²)` |
//! | StudentT(ν, μ, σ) | ℝ | `ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln νπ − ln σ − (ν+1)/2 · ln(1 + ((x−μ)/σ)²/ν)` |
//! | Gamma(α, β) (rate) | x > 0 | `α ln β − ln Γ(α) + (α−1) ln x − β x` |
//! | InverseGamma(α, β) (scale) | x > 0 | `α ln β − ln Γ(α) − (α+1) ln x − β / x` |
//! | Beta(a, b) | 0 < x < 1 | `ln Γ(a+b) − ln Γ(a) − ln Γ(b) + (a−1) ln x + (b−1) ln(1−x)` |
//! | Uniform(lo, hi) | lo < x < hi | `−ln(hi − lo)` |
//! | Flat | ℝ | `0` (improper) |
//!
//! (Forms as in the Stan Functions Reference, "Continuous Distributions".) Outside the
//! support the log density is `−∞`.

use std::f64::consts::{LN_2, PI};

use rand::{Rng, RngExt};
use rand_distr::{Beta, Cauchy, Distribution, Gamma, StandardNormal, StudentT};
use serde::{Deserialize, Serialize};

use crate::ad::Real;
use crate::error::{Error, Result};
use crate::param::Transform;

/// ½ ln 2π.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Normal log density with [`Real`] arguments.
pub fn normal_lpdf<R: Real>(x: R, mu: R, sigma: R) -> R {
    let z = (x - mu) / sigma;
    -(z * z) * 0.5 - sigma.ln() - HALF_LN_2PI
}

/// Log-normal log density (`−∞` for x ≤ 0).
pub fn lognormal_lpdf<R: Real>(x: R, mu: R, sigma: R) -> R {
    if x.value() <= 0.0 {
        return R::from_f64(f64::NEG_INFINITY);
    }
    let lx = x.ln();
    normal_lpdf(lx, mu, sigma) - lx
}

/// Half-normal log density on x ≥ 0.
pub fn half_normal_lpdf<R: Real>(x: R, sigma: R) -> R {
    if x.value() < 0.0 {
        return R::from_f64(f64::NEG_INFINITY);
    }
    normal_lpdf(x, R::zero(), sigma) + LN_2
}

/// Half-Cauchy log density on x ≥ 0.
pub fn half_cauchy_lpdf<R: Real>(x: R, scale: R) -> R {
    if x.value() < 0.0 {
        return R::from_f64(f64::NEG_INFINITY);
    }
    -((x / scale).square() + 1.0).ln() - scale.ln() + (LN_2 - PI.ln())
}

/// Student-t log density with `nu` degrees of freedom, location `mu`, scale `sigma`.
pub fn student_t_lpdf<R: Real>(x: R, nu: R, mu: R, sigma: R) -> R {
    let z = (x - mu) / sigma;
    let half_nu1 = (nu + 1.0) * 0.5;
    half_nu1.lgamma()
        - (nu * 0.5).lgamma()
        - (nu * PI).ln() * 0.5
        - sigma.ln()
        - half_nu1 * (z * z / nu).ln_1p()
}

/// Gamma log density with shape `alpha` and rate `beta`.
pub fn gamma_lpdf<R: Real>(x: R, alpha: R, beta: R) -> R {
    if x.value() <= 0.0 {
        return R::from_f64(f64::NEG_INFINITY);
    }
    alpha * beta.ln() - alpha.lgamma() + (alpha - 1.0) * x.ln() - beta * x
}

/// Inverse-gamma log density with shape `alpha` and scale `beta`.
pub fn inv_gamma_lpdf<R: Real>(x: R, alpha: R, beta: R) -> R {
    if x.value() <= 0.0 {
        return R::from_f64(f64::NEG_INFINITY);
    }
    alpha * beta.ln() - alpha.lgamma() - (alpha + 1.0) * x.ln() - beta / x
}

/// Beta log density.
pub fn beta_lpdf<R: Real>(x: R, a: R, b: R) -> R {
    if x.value() <= 0.0 || x.value() >= 1.0 {
        return R::from_f64(f64::NEG_INFINITY);
    }
    (a + b).lgamma() - a.lgamma() - b.lgamma() + (a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p()
}

/// Dirichlet log density of a point `x` of the simplex with concentrations `alpha`.
pub fn dirichlet_lpdf<R: Real>(x: &[R], alpha: &[f64]) -> R {
    let mut lp = R::from_f64(
        crate::ad::special::lgamma(alpha.iter().sum())
            - alpha
                .iter()
                .map(|&a| crate::ad::special::lgamma(a))
                .sum::<f64>(),
    );
    for (&xi, &a) in x.iter().zip(alpha) {
        lp += xi.ln() * (a - 1.0);
    }
    lp
}

/// A prior on one scalar parameter (hyperparameters fixed numbers).
///
/// ```
/// use mechml_engine::infer::Prior;
/// let p = Prior::LogNormal { mu: 8f64.ln(), sigma: 0.5 };
/// p.validate("C1")?;
/// let lp: f64 = p.log_pdf(8.0);
/// let expected = -(8f64.ln()) - 0.5f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
/// assert!((lp - expected).abs() < 1e-14);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Prior {
    /// Improper flat prior (log density 0 everywhere).
    Flat,
    /// Normal(μ, σ).
    Normal {
        /// Mean.
        mu: f64,
        /// Standard deviation (> 0).
        sigma: f64,
    },
    /// LogNormal(μ, σ): `ln x ~ Normal(μ, σ)`.
    LogNormal {
        /// Mean of `ln x`.
        mu: f64,
        /// Standard deviation of `ln x` (> 0).
        sigma: f64,
    },
    /// HalfNormal(σ): `|y|` for `y ~ Normal(0, σ)`.
    HalfNormal {
        /// Scale (> 0).
        sigma: f64,
    },
    /// HalfCauchy(s): `|y|` for `y ~ Cauchy(0, s)`.
    HalfCauchy {
        /// Scale (> 0).
        scale: f64,
    },
    /// Student-t with `nu` degrees of freedom, location `mu` and scale `sigma`.
    StudentT {
        /// Degrees of freedom (> 0).
        nu: f64,
        /// Location.
        mu: f64,
        /// Scale (> 0).
        sigma: f64,
    },
    /// Gamma with shape α and rate β (mean α/β).
    Gamma {
        /// Shape (> 0).
        shape: f64,
        /// Rate (> 0).
        rate: f64,
    },
    /// Inverse gamma with shape α and scale β (`1/x ~ Gamma(α, rate β)`).
    InverseGamma {
        /// Shape (> 0).
        shape: f64,
        /// Scale (> 0).
        scale: f64,
    },
    /// Beta(a, b) on (0, 1).
    Beta {
        /// First shape (> 0).
        a: f64,
        /// Second shape (> 0).
        b: f64,
    },
    /// Uniform on (lo, hi).
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end (> lo).
        hi: f64,
    },
}

impl Prior {
    /// Checks the hyperparameters (finite; scales and shapes > 0; lo < hi); errors name
    /// the parameter `name` the prior belongs to.
    pub fn validate(&self, name: &str) -> Result<()> {
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid_option(
                    "Prior",
                    format!("{name}.{field}"),
                    v,
                    "finite and > 0",
                ))
            }
        };
        let finite = |field: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid_option(
                    "Prior",
                    format!("{name}.{field}"),
                    v,
                    "finite",
                ))
            }
        };
        match *self {
            Prior::Flat => Ok(()),
            Prior::Normal { mu, sigma } | Prior::LogNormal { mu, sigma } => {
                finite("mu", mu)?;
                positive("sigma", sigma)
            }
            Prior::HalfNormal { sigma } => positive("sigma", sigma),
            Prior::HalfCauchy { scale } => positive("scale", scale),
            Prior::StudentT { nu, mu, sigma } => {
                positive("nu", nu)?;
                finite("mu", mu)?;
                positive("sigma", sigma)
            }
            Prior::Gamma { shape, rate } => {
                positive("shape", shape)?;
                positive("rate", rate)
            }
            Prior::InverseGamma { shape, scale } => {
                positive("shape", shape)?;
                positive("scale", scale)
            }
            Prior::Beta { a, b } => {
                positive("a", a)?;
                positive("b", b)
            }
            Prior::Uniform { lo, hi } => {
                finite("lo", lo)?;
                finite("hi", hi)?;
                if lo < hi {
                    Ok(())
                } else {
                    Err(Error::invalid_option(
                        "Prior",
                        format!("{name}.hi"),
                        hi,
                        format!("> lo = {lo}"),
                    ))
                }
            }
        }
    }

    /// The normalised log density at `x` (`−∞` outside the support), generic over
    /// [`Real`].
    pub fn log_pdf<R: Real>(&self, x: R) -> R {
        let c = R::from_f64;
        match *self {
            Prior::Flat => R::zero(),
            Prior::Normal { mu, sigma } => normal_lpdf(x, c(mu), c(sigma)),
            Prior::LogNormal { mu, sigma } => lognormal_lpdf(x, c(mu), c(sigma)),
            Prior::HalfNormal { sigma } => half_normal_lpdf(x, c(sigma)),
            Prior::HalfCauchy { scale } => half_cauchy_lpdf(x, c(scale)),
            Prior::StudentT { nu, mu, sigma } => student_t_lpdf(x, c(nu), c(mu), c(sigma)),
            Prior::Gamma { shape, rate } => gamma_lpdf(x, c(shape), c(rate)),
            Prior::InverseGamma { shape, scale } => inv_gamma_lpdf(x, c(shape), c(scale)),
            Prior::Beta { a, b } => beta_lpdf(x, c(a), c(b)),
            Prior::Uniform { lo, hi } => {
                if x.value() > lo && x.value() < hi {
                    c(-(hi - lo).ln())
                } else {
                    c(f64::NEG_INFINITY)
                }
            }
        }
    }

    /// The support `(lower, upper)`.
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Prior::Flat | Prior::Normal { .. } | Prior::StudentT { .. } => {
                (f64::NEG_INFINITY, f64::INFINITY)
            }
            Prior::LogNormal { .. }
            | Prior::HalfNormal { .. }
            | Prior::HalfCauchy { .. }
            | Prior::Gamma { .. }
            | Prior::InverseGamma { .. } => (0.0, f64::INFINITY),
            Prior::Beta { .. } => (0.0, 1.0),
            Prior::Uniform { lo, hi } => (lo, hi),
        }
    }

    /// The transform to the unconstrained scale that matches the support: identity on ℝ,
    /// log on (0, ∞), the scaled logit on a bounded interval.
    pub fn default_transform(&self) -> Transform {
        match self.support() {
            (lo, hi) if lo.is_finite() && hi.is_finite() => Transform::Interval { lo, hi },
            (0.0, _) => Transform::Log,
            (lo, _) if lo.is_finite() => Transform::LowerBound(lo),
            _ => Transform::Identity,
        }
    }

    /// Whether the prior is proper (integrates to one); only [`Prior::Flat`] is not.
    pub fn is_proper(&self) -> bool {
        !matches!(self, Prior::Flat)
    }

    /// One draw from the prior; an error for [`Prior::Flat`] (improper).
    pub fn sample<G: Rng + ?Sized>(&self, rng: &mut G) -> Result<f64> {
        let z = |rng: &mut G| -> f64 { rng.sample(StandardNormal) };
        let bad = |what: &str| Error::InvalidArgument {
            op: "Prior::sample",
            message: format!("invalid hyperparameters for {what}: {self:?}"),
        };
        Ok(match *self {
            Prior::Flat => {
                return Err(Error::InvalidArgument {
                    op: "Prior::sample",
                    message: "a flat prior is improper and cannot be sampled".into(),
                });
            }
            Prior::Normal { mu, sigma } => mu + sigma * z(rng),
            Prior::LogNormal { mu, sigma } => (mu + sigma * z(rng)).exp(),
            Prior::HalfNormal { sigma } => (sigma * z(rng)).abs(),
            Prior::HalfCauchy { scale } => Cauchy::new(0.0, scale)
                .map_err(|_| bad("HalfCauchy"))?
                .sample(rng)
                .abs(),
            Prior::StudentT { nu, mu, sigma } => {
                mu + sigma * StudentT::new(nu).map_err(|_| bad("StudentT"))?.sample(rng)
            }
            Prior::Gamma { shape, rate } => Gamma::new(shape, 1.0 / rate)
                .map_err(|_| bad("Gamma"))?
                .sample(rng),
            Prior::InverseGamma { shape, scale } => {
                1.0 / Gamma::new(shape, 1.0 / scale)
                    .map_err(|_| bad("InverseGamma"))?
                    .sample(rng)
            }
            Prior::Beta { a, b } => Beta::new(a, b).map_err(|_| bad("Beta"))?.sample(rng),
            Prior::Uniform { lo, hi } => lo + (hi - lo) * rng.random::<f64>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_integrate_to_one() {
        // Trapezoidal quadrature on the support (tails cut where negligible).
        let cases: [(Prior, f64, f64); 9] = [
            (
                Prior::Normal {
                    mu: 1.0,
                    sigma: 2.0,
                },
                -20.0,
                22.0,
            ),
            (
                Prior::LogNormal {
                    mu: 0.2,
                    sigma: 0.5,
                },
                1e-9,
                30.0,
            ),
            (Prior::HalfNormal { sigma: 1.5 }, 0.0, 15.0),
            (
                Prior::StudentT {
                    nu: 5.0,
                    mu: 0.0,
                    sigma: 1.0,
                },
                -400.0,
                400.0,
            ),
            (
                Prior::Gamma {
                    shape: 3.0,
                    rate: 2.0,
                },
                1e-9,
                30.0,
            ),
            (
                Prior::InverseGamma {
                    shape: 3.0,
                    scale: 2.0,
                },
                1e-6,
                400.0,
            ),
            (Prior::Beta { a: 2.0, b: 3.0 }, 1e-9, 1.0 - 1e-9),
            (Prior::Uniform { lo: -1.0, hi: 3.0 }, -0.999_999, 2.999_999),
            (Prior::HalfCauchy { scale: 1.0 }, 0.0, 1e6),
        ];
        for (p, a, b) in cases {
            // Integrate in u = ln(x − a + 1) for the long-tailed ones to keep the grid small.
            let n = 400_000;
            let (ua, ub) = (0.0_f64, (b - a + 1.0).ln());
            let h = (ub - ua) / n as f64;
            let mut s = 0.0;
            for i in 0..=n {
                let u = ua + h * i as f64;
                let x = a + u.exp() - 1.0;
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                s += w * p.log_pdf(x).exp() * u.exp();
            }
            s *= h;
            let tol = if matches!(p, Prior::HalfCauchy { .. } | Prior::StudentT { .. }) {
                2e-3
            } else {
                1e-5
            };
            assert!((s - 1.0).abs() < tol, "{p:?}: {s}");
        }
    }
}
