//! Noise structure and stochastic calculus of an SDE.
//!
//! The diffusion `g(t, x)` multiplies an `m`-dimensional Brownian increment `dW`. How it is
//! stored, and which methods reach which order, depends on its structure:
//!
//! | [`NoiseType`] | storage of `g` | contribution to `dx` |
//! |---|---|---|
//! | `Scalar` (`m = 1`) | `d` values | `gᵢ dW` |
//! | `Diagonal` (`m = d`, `gᵢ` depends on `xᵢ` only) | `d` values | `gᵢ dWᵢ` |
//! | `Additive` (`g` independent of `x`) | `d × m`, column-major | `Σⱼ gᵢⱼ dWⱼ` |
//! | `General` | `d × m`, column-major | `Σⱼ gᵢⱼ dWⱼ` |

use crate::ad::Real;
use crate::error::{Error, Result};

/// The structure of the diffusion (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoiseType {
    /// One Brownian motion (`m = 1`) shared by all components; `g` has `d` entries.
    Scalar,
    /// One independent Brownian motion per component (`m = d`); `g` has `d` entries and
    /// `gᵢ` depends on `xᵢ` only.
    Diagonal,
    /// `g(t)` does not depend on the state; `d × m`, column-major. Itô and Stratonovich
    /// interpretations coincide.
    Additive,
    /// Any `d × m` diffusion, column-major.
    General,
}

impl NoiseType {
    /// Number of stored entries of `g` for `d` states and `m` noises.
    pub fn diffusion_len(self, d: usize, m: usize) -> usize {
        match self {
            NoiseType::Scalar | NoiseType::Diagonal => d,
            NoiseType::Additive | NoiseType::General => d * m,
        }
    }

    /// Checks that `m` noises are consistent with `d` states for this noise type.
    pub fn check_dims(self, d: usize, m: usize) -> Result<()> {
        let bad = |expected: String| {
            Err(Error::ShapeMismatch {
                op: "sde",
                arg: "n_noise",
                expected,
                found: format!("{m} (with {d} states, {self:?} noise)"),
            })
        };
        if d == 0 {
            return Err(Error::invalid_option(
                "sde",
                "n_states()",
                0,
                "≥ 1 (an SDE needs at least one state)",
            ));
        }
        match self {
            NoiseType::Scalar if m != 1 => bad("1 for scalar noise".into()),
            NoiseType::Diagonal if m != d => bad(format!("{d} (= n_states) for diagonal noise")),
            _ if m == 0 => bad("at least 1".into()),
            _ => Ok(()),
        }
    }

    /// `out += g · dw` for one path.
    #[inline(always)]
    pub fn apply<R: Real>(self, d: usize, m: usize, g: &[R], dw: &[f64], out: &mut [R]) {
        match self {
            NoiseType::Scalar => {
                let w = dw[0];
                for (o, &gi) in out[..d].iter_mut().zip(g) {
                    *o += gi * w;
                }
            }
            NoiseType::Diagonal => {
                for ((o, &gi), &w) in out[..d].iter_mut().zip(g).zip(dw) {
                    *o += gi * w;
                }
            }
            NoiseType::Additive | NoiseType::General => {
                for j in 0..m {
                    let w = dw[j];
                    for (o, &gij) in out[..d].iter_mut().zip(&g[j * d..(j + 1) * d]) {
                        *o += gij * w;
                    }
                }
            }
        }
    }

    /// `out += g · dw` for `lanes` paths in structure-of-arrays layout: entry `e` of lane
    /// `l` at `e * lanes + l` (for `g`, `out`) and noise `j` of lane `l` at `j * lanes + l`
    /// (for `dw`). With `shared_g`, `g` holds one diffusion for all lanes (additive noise).
    // The inner kernel of every batched step (once per step per block of paths): plain
    // arguments, so that the loop bounds stay local values in the hot loop.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_batch(
        self,
        d: usize,
        m: usize,
        lanes: usize,
        g: &[f64],
        shared_g: bool,
        dw: &[f64],
        out: &mut [f64],
    ) {
        let gl = |e: usize| -> &[f64] {
            if shared_g {
                &g[e..e + 1]
            } else {
                &g[e * lanes..(e + 1) * lanes]
            }
        };
        for i in 0..d {
            let o = &mut out[i * lanes..(i + 1) * lanes];
            let mut add = |e: usize, j: usize| {
                let w = &dw[j * lanes..(j + 1) * lanes];
                let ge = gl(e);
                if shared_g {
                    // Additive noise often has structural zeros (e.g. unforced components).
                    let c = ge[0];
                    if c == 0.0 {
                        return;
                    }
                    for (o, &w) in o.iter_mut().zip(w) {
                        *o += c * w;
                    }
                } else {
                    for ((o, &gg), &w) in o.iter_mut().zip(ge).zip(w) {
                        *o += gg * w;
                    }
                }
            };
            match self {
                NoiseType::Scalar => add(i, 0),
                NoiseType::Diagonal => add(i, i),
                NoiseType::Additive | NoiseType::General => {
                    for j in 0..m {
                        add(j * d + i, j);
                    }
                }
            }
        }
    }
}

/// The stochastic integral an SDE is written in.
///
/// An Itô SDE `dx = f dt + g dW` and the Stratonovich SDE `dx = f̃ dt + g ∘ dW` have the same
/// solution when `f̃ᵢ = fᵢ − ½ Σⱼ Σₖ gₖⱼ ∂ₖ gᵢⱼ` (Kloeden & Platen 1992, *Numerical Solution
/// of Stochastic Differential Equations*, eq. (4.9.10)); see
/// [`StratonovichForm`](super::StratonovichForm) and [`ItoForm`](super::ItoForm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Calculus {
    /// `∫ g dW` with the integrand at the left end of each interval.
    Ito,
    /// `∫ g ∘ dW` with the integrand at the midpoint (ordinary chain rule).
    Stratonovich,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_matches_single() {
        let (d, m, lanes) = (3, 2, 4);
        for noise in [
            NoiseType::Scalar,
            NoiseType::Diagonal,
            NoiseType::Additive,
            NoiseType::General,
        ] {
            let m = match noise {
                NoiseType::Scalar => 1,
                NoiseType::Diagonal => d,
                _ => m,
            };
            let gl = noise.diffusion_len(d, m);
            let g: Vec<f64> = (0..gl * lanes).map(|k| (k as f64 * 0.37).sin()).collect();
            let dw: Vec<f64> = (0..m * lanes).map(|k| (k as f64 * 0.91).cos()).collect();
            let mut out = vec![0.5; d * lanes];
            noise.apply_batch(d, m, lanes, &g, false, &dw, &mut out);
            for l in 0..lanes {
                let gs: Vec<f64> = (0..gl).map(|e| g[e * lanes + l]).collect();
                let ws: Vec<f64> = (0..m).map(|j| dw[j * lanes + l]).collect();
                let mut o = vec![0.5; d];
                noise.apply(d, m, &gs, &ws, &mut o);
                for i in 0..d {
                    assert!((o[i] - out[i * lanes + l]).abs() < 1e-15);
                }
            }
        }
    }

    #[test]
    fn dims_are_checked() {
        assert!(NoiseType::Scalar.check_dims(3, 2).is_err());
        assert!(NoiseType::Diagonal.check_dims(3, 2).is_err());
        assert!(NoiseType::General.check_dims(3, 0).is_err());
        assert!(NoiseType::General.check_dims(0, 1).is_err());
        assert!(NoiseType::Additive.check_dims(2, 1).is_ok());
    }
}
