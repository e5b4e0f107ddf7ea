//! Element-wise activation functions, over [`Real`] and with their `f64` derivatives for
//! the fused layer block.

use serde::{Deserialize, Serialize};

use crate::ad::Real;

/// An element-wise activation `σ`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `σ(z) = z` (output layers).
    Identity,
    /// `tanh z`.
    #[default]
    Tanh,
    /// `ln(1 + eᶻ)`.
    Softplus,
    /// `max(z, 0)`, with derivative 0 at 0.
    Relu,
    /// The exact GELU `z Φ(z)` (Hendrycks & Gimpel 2016, arXiv:1606.08415, eq. (1)).
    Gelu,
    /// Swish / SiLU `z · sigmoid(z)` (Ramachandran et al. 2017, arXiv:1710.05941).
    Swish,
}

impl Activation {
    /// `σ(z)` over any [`Real`].
    #[inline]
    pub fn apply<R: Real>(self, z: R) -> R {
        match self {
            Activation::Identity => z,
            Activation::Tanh => z.tanh(),
            Activation::Softplus => z.softplus(),
            Activation::Relu => {
                if z.value() > 0.0 {
                    z
                } else {
                    R::zero()
                }
            }
            Activation::Gelu => z * z.normal_cdf(),
            Activation::Swish => z * z.sigmoid(),
        }
    }

    /// `σ(z)` on the networks' `f64` paths (the solve, the layer block, the `f64`
    /// pullback): [`Activation::apply`], except tanh by [`tanh_f64`] (within 3 ulp of the
    /// exact value, and several times cheaper than the library call). Dual numbers and
    /// scalar tapes take [`Activation::apply`]; the two agree to rounding.
    #[inline]
    pub fn value_f64(self, z: f64) -> f64 {
        match self {
            Activation::Tanh => tanh_f64(z),
            _ => self.apply(z),
        }
    }

    /// `(σ(z), σ'(z))` in `f64`; the value is bitwise [`Activation::value_f64`].
    #[inline]
    pub fn value_and_derivative(self, z: f64) -> (f64, f64) {
        let a = self.value_f64(z);
        let d = match self {
            Activation::Identity => 1.0,
            Activation::Tanh => 1.0 - a * a,
            Activation::Softplus => z.sigmoid(),
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Gelu => {
                let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
                z.normal_cdf() + z * pdf
            }
            Activation::Swish => {
                let s = z.sigmoid();
                s + z * s * (1.0 - s)
            }
        };
        (a, d)
    }

    /// Every activation, for tests and option parsing.
    pub const ALL: [Activation; 6] = [
        Activation::Identity,
        Activation::Tanh,
        Activation::Softplus,
        Activation::Relu,
        Activation::Gelu,
        Activation::Swish,
    ];
}

/// `tanh z` in `f64`: for `|z| < 0.625` Lambert's continued fraction
/// `tanh z = z/(1 + z²/(3 + z²/(5 + …)))` (Lambert 1768; e.g. Cuyt et al. 2008, *Handbook
/// of Continued Fractions for Special Functions*, ch. 11) truncated after the partial
/// denominator 17, which is the rational `z P(z²)/Q(z²)` below (truncation error below
/// 1e-19 there); for `0.625 ≤ |z| < 20`, `1 − 2/(e^{2|z|} + 1)` with the sign of `z` (no
/// cancellation: the result is at least 0.55); `±1` beyond (`1 − tanh 20 < 1e-17`).
/// Within 3 ulp of the exact value (tested against the library `tanh`); odd bit for bit.
#[inline]
pub fn tanh_f64(z: f64) -> f64 {
    let a = z.abs();
    if a < 0.625 {
        let s = z * z;
        let p = (((s + 990.0) * s + 135_135.0) * s + 4_729_725.0) * s + 34_459_425.0;
        let q = (((45.0 * s + 13_860.0) * s + 945_945.0) * s + 16_216_200.0) * s + 34_459_425.0;
        z * p / q
    } else if a < 20.0 {
        (1.0 - 2.0 / ((2.0 * a).exp() + 1.0)).copysign(z)
    } else if a.is_nan() {
        z
    } else {
        1.0f64.copysign(z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_f64_matches_the_library_within_3_ulp() {
        let mut z = -25.0f64;
        while z < 25.0 {
            for v in [z, z * 1e-3, z * 1e-9] {
                let (t, e) = (tanh_f64(v), v.tanh());
                assert!(
                    (t - e).abs() <= 4.0 * f64::EPSILON * e.abs(),
                    "{v}: {t} vs {e}"
                );
                assert_eq!(tanh_f64(-v), -t);
            }
            z += 0.000_731;
        }
        assert_eq!(tanh_f64(0.0), 0.0);
        assert!(tanh_f64(f64::NAN).is_nan());
        assert_eq!(tanh_f64(f64::INFINITY), 1.0);
        assert_eq!(tanh_f64(f64::NEG_INFINITY), -1.0);
    }

    #[test]
    fn derivatives_match_central_differences() {
        for act in Activation::ALL {
            for &z in &[-2.3, -0.4, 0.3, 1.7] {
                let h = 1e-6;
                let fd = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let (_, d) = act.value_and_derivative(z);
                assert!((fd - d).abs() < 1e-8, "{act:?} at {z}: {d} vs {fd}");
            }
        }
    }
}
