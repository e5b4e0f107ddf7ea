//! Seeded weight initialisation (Glorot & Bengio 2010; He et al. 2015).

use rand_distr::{Distribution, StandardNormal, StandardUniform};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// How to draw a layer's weights (biases start at zero).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Uniform on `±√(6/(n_in + n_out))`: variance `2/(n_in + n_out)` (Glorot & Bengio
    /// 2010, eq. (16)).
    GlorotUniform,
    /// `N(0, 2/(n_in + n_out))`.
    GlorotNormal,
    /// `N(0, 2/n_in)` (He et al. 2015, eq. (10)), for ReLU-like activations.
    HeNormal,
    /// Uniform on `±√(6/n_in)`: variance `2/n_in`.
    HeUniform,
    /// `N(0, std²)`.
    Normal {
        /// Standard deviation.
        std: f64,
    },
}

impl Init {
    /// The variance of one weight of an `n_in → n_out` layer.
    pub fn variance(self, n_in: usize, n_out: usize) -> f64 {
        match self {
            Init::GlorotUniform | Init::GlorotNormal => 2.0 / (n_in + n_out) as f64,
            Init::HeNormal | Init::HeUniform => 2.0 / n_in as f64,
            Init::Normal { std } => std * std,
        }
    }

    /// Fills `w` with weights for an `n_in → n_out` layer, drawn from `rng`.
    pub fn fill(self, n_in: usize, n_out: usize, rng: &mut Xoshiro256PlusPlus, w: &mut [f64]) {
        let sd = self.variance(n_in, n_out).sqrt();
        match self {
            Init::GlorotUniform | Init::HeUniform => {
                let a = sd * 3f64.sqrt();
                for v in w {
                    let u: f64 = StandardUniform.sample(rng);
                    *v = a * (2.0 * u - 1.0);
                }
            }
            Init::GlorotNormal | Init::HeNormal | Init::Normal { .. } => {
                for v in w {
                    let z: f64 = StandardNormal.sample(rng);
                    *v = sd * z;
                }
            }
        }
    }
}
