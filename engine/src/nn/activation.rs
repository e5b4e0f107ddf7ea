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

    /// `(σ(z), σ'(z))` in `f64`; the value is bitwise [`Activation::apply`] on `f64`.
    #[inline]
    pub fn value_and_derivative(self, z: f64) -> (f64, f64) {
        let a = self.apply(z);
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

#[cfg(test)]
mod tests {
    use super::*;

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
