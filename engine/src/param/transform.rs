//! Maps between a parameter's natural (constrained) scale and the unconstrained real line
//! on which optimisers and samplers move, with the log-Jacobian a density needs.
//!
//! For `θ = T(z)` a density `p(θ)` on the natural scale becomes
//! `p(T(z)) |T'(z)|` on the unconstrained one (Stan Reference Manual, "Constraint
//! Transforms"; Carpenter et al. 2017, J. Stat. Softw. 76(1), §3). The transforms here
//! are those of Stan's scalar constraints:
//!
//! | transform | `θ = T(z)` | `ln |T'(z)|` |
//! |---|---|---|
//! | identity | `z` | `0` |
//! | log (θ > 0) | `e^z` | `z` |
//! | lower bound `a` | `a + e^z` | `z` |
//! | upper bound `b` | `b − e^z` | `z` |
//! | interval `(a, b)` (logit) | `a + (b − a) σ(z)` | `ln(b − a) − softplus(−z) − softplus(z)` |

use serde::{Deserialize, Serialize};

use crate::ad::Real;
use crate::error::{Error, Result};

/// How a scalar parameter maps to the unconstrained scale: `θ = T(z)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// `θ = z` (any real).
    Identity,
    /// `θ = e^z` (positive).
    Log,
    /// `θ = lo + e^z` (above `lo`).
    LowerBound(f64),
    /// `θ = hi − e^z` (below `hi`).
    UpperBound(f64),
    /// `θ = lo + (hi − lo) σ(z)` (inside `(lo, hi)`; the scaled logit).
    Interval {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
}

impl Transform {
    /// Checks the bounds themselves (finite; `lo < hi`).
    pub fn validate(&self, op: &'static str, name: &str) -> Result<()> {
        match *self {
            Transform::Identity | Transform::Log => Ok(()),
            Transform::LowerBound(b) | Transform::UpperBound(b) if !b.is_finite() => Err(
                Error::invalid_option(op, format!("{name}.bound"), b, "a finite bound"),
            ),
            Transform::Interval { lo, hi } if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
                Err(Error::invalid_option(
                    op,
                    format!("{name}.interval"),
                    format!("({lo}, {hi})"),
                    "finite ends with lo < hi",
                ))
            }
            _ => Ok(()),
        }
    }

    /// `θ = T(z)`, generic over the scalar type (so gradients flow through it).
    #[inline]
    pub fn to_natural<R: Real>(&self, z: R) -> R {
        match *self {
            Transform::Identity => z,
            Transform::Log => z.exp(),
            Transform::LowerBound(lo) => z.exp() + lo,
            Transform::UpperBound(hi) => -z.exp() + hi,
            Transform::Interval { lo, hi } => z.sigmoid() * (hi - lo) + lo,
        }
    }

    /// `z = T⁻¹(θ)`; an error naming `name` when `θ` is outside the support (or not
    /// finite).
    pub fn to_unconstrained(&self, op: &'static str, name: &str, x: f64) -> Result<f64> {
        let bad = |expected: String| Err(Error::invalid_option(op, name, x, expected));
        if !x.is_finite() {
            return bad("a finite value".into());
        }
        match *self {
            Transform::Identity => Ok(x),
            Transform::Log if x > 0.0 => Ok(x.ln()),
            Transform::Log => bad("> 0 (the parameter is positive)".into()),
            Transform::LowerBound(lo) if x > lo => Ok((x - lo).ln()),
            Transform::LowerBound(lo) => bad(format!("> {lo} (its lower bound)")),
            Transform::UpperBound(hi) if x < hi => Ok((hi - x).ln()),
            Transform::UpperBound(hi) => bad(format!("< {hi} (its upper bound)")),
            Transform::Interval { lo, hi } if x > lo && x < hi => {
                let u = (x - lo) / (hi - lo);
                Ok(u.ln() - (-u).ln_1p())
            }
            Transform::Interval { lo, hi } => bad(format!("inside ({lo}, {hi})")),
        }
    }

    /// `ln |T'(z)|`, the log-Jacobian a density on the natural scale needs on the
    /// unconstrained one.
    #[inline]
    pub fn log_jacobian<R: Real>(&self, z: R) -> R {
        match *self {
            Transform::Identity => R::zero(),
            Transform::Log | Transform::LowerBound(_) | Transform::UpperBound(_) => z,
            Transform::Interval { lo, hi } => -(-z).softplus() - z.softplus() + (hi - lo).ln(),
        }
    }

    /// `dθ/dz = T'(z)` in `f64` (for chain rules on gradients computed on the natural scale).
    #[inline]
    pub fn derivative(&self, z: f64) -> f64 {
        match *self {
            Transform::Identity => 1.0,
            Transform::Log | Transform::LowerBound(_) => z.exp(),
            Transform::UpperBound(_) => -z.exp(),
            Transform::Interval { lo, hi } => {
                let s = 1.0 / (1.0 + (-z).exp());
                (hi - lo) * s * (1.0 - s)
            }
        }
    }

    /// Whether `x` is inside the support (open bounds).
    pub fn contains(&self, x: f64) -> bool {
        x.is_finite()
            && match *self {
                Transform::Identity => true,
                Transform::Log => x > 0.0,
                Transform::LowerBound(lo) => x > lo,
                Transform::UpperBound(hi) => x < hi,
                Transform::Interval { lo, hi } => x > lo && x < hi,
            }
    }

    /// The support as `(lower, upper)` (infinite where unbounded).
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Transform::Identity => (f64::NEG_INFINITY, f64::INFINITY),
            Transform::Log => (0.0, f64::INFINITY),
            Transform::LowerBound(lo) => (lo, f64::INFINITY),
            Transform::UpperBound(hi) => (f64::NEG_INFINITY, hi),
            Transform::Interval { lo, hi } => (lo, hi),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::Dual;

    const ALL: [Transform; 5] = [
        Transform::Identity,
        Transform::Log,
        Transform::LowerBound(-2.0),
        Transform::UpperBound(3.0),
        Transform::Interval { lo: -1.0, hi: 4.0 },
    ];

    #[test]
    fn round_trip_and_support() {
        for t in ALL {
            for z in [-3.0, -0.5, 0.0, 0.7, 2.5] {
                let x = t.to_natural(z);
                assert!(t.contains(x), "{t:?} {z} -> {x}");
                let z2 = t.to_unconstrained("t", "x", x).unwrap();
                assert!((z2 - z).abs() < 1e-10, "{t:?}: {z} -> {x} -> {z2}");
            }
        }
        assert!(Transform::Log.to_unconstrained("t", "x", 0.0).is_err());
        assert!(
            Transform::Interval { lo: 0.0, hi: 1.0 }
                .to_unconstrained("t", "x", 1.0)
                .is_err()
        );
        assert!(
            Transform::Identity
                .to_unconstrained("t", "x", f64::NAN)
                .is_err()
        );
        assert!(
            Transform::Interval { lo: 1.0, hi: 1.0 }
                .validate("t", "x")
                .is_err()
        );
    }

    #[test]
    fn jacobian_against_finite_differences_and_duals() {
        for t in ALL {
            for z in [-2.0, -0.3, 0.4, 1.9] {
                let h = 1e-6;
                let fd = (t.to_natural(z + h) - t.to_natural(z - h)) / (2.0 * h);
                assert!(
                    (t.derivative(z) - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                    "{t:?} {z}"
                );
                assert!(
                    (t.log_jacobian(z) - fd.abs().ln()).abs() < 1e-6,
                    "{t:?} {z}"
                );
                let d = t.to_natural(Dual::dual(z, 1.0));
                assert!((d.tangent() - t.derivative(z)).abs() < 1e-12 * (1.0 + fd.abs()));
            }
        }
    }
}
