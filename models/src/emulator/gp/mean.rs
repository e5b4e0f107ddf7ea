//! Mean functions `m(x) = h(x)ᵀ β`, linear in unknown coefficients `β` that are estimated
//! by generalised least squares given the covariance parameters (O'Hagan 1978; Sacks,
//! Welch, Mitchell & Wynn 1989, Stat. Sci. 4(4), §3), with a flat prior on `β` so that
//! predictions carry the uncertainty of `β̂`.

use std::fmt::Debug;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A user basis `h(x) ∈ ℝ^q` with its Jacobian (for gradients through the emulator).
pub trait MeanBasis: Debug + Send + Sync {
    /// Number of basis functions `q` for inputs of dimension `d`.
    fn n_basis(&self, d: usize) -> usize;
    /// Writes `h(x)` (length `q`).
    fn eval(&self, x: &[f64], out: &mut [f64]);
    /// Writes `∂h_j/∂x_k`, row-major `q × d`.
    fn jacobian(&self, x: &[f64], out: &mut [f64]);
}

/// The regression part of an emulator's mean.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeanFunction {
    /// `m(x) = 0`.
    Zero,
    /// `m(x) = β₀`.
    #[default]
    Constant,
    /// `m(x) = β₀ + Σ_k β_k x_k`.
    Linear,
    /// A user basis (not serialisable).
    #[serde(skip)]
    Basis(Arc<dyn MeanBasis>),
}

impl MeanFunction {
    /// Number of coefficients for inputs of dimension `d`.
    pub fn n_basis(&self, d: usize) -> usize {
        match self {
            Self::Zero => 0,
            Self::Constant => 1,
            Self::Linear => 1 + d,
            Self::Basis(b) => b.n_basis(d),
        }
    }

    /// `h(x)` into `out`.
    pub fn eval(&self, x: &[f64], out: &mut [f64]) {
        match self {
            Self::Zero => {}
            Self::Constant => out[0] = 1.0,
            Self::Linear => {
                out[0] = 1.0;
                out[1..].copy_from_slice(x);
            }
            Self::Basis(b) => b.eval(x, out),
        }
    }

    /// `∂h_j/∂x_k` (row-major `q × d`) into `out`.
    pub fn jacobian(&self, x: &[f64], out: &mut [f64]) {
        let d = x.len();
        match self {
            Self::Zero => {}
            Self::Constant => out[..d].iter_mut().for_each(|v| *v = 0.0),
            Self::Linear => {
                out.iter_mut().for_each(|v| *v = 0.0);
                for k in 0..d {
                    out[(1 + k) * d + k] = 1.0;
                }
            }
            Self::Basis(b) => b.jacobian(x, out),
        }
    }

    /// The `n × q` design matrix of the points (point-major `x`, dimension `d`),
    /// column-major.
    pub fn design_matrix(&self, x: &[f64], d: usize) -> Vec<f64> {
        let q = self.n_basis(d);
        let n = x.len().checked_div(d).unwrap_or(0);
        let mut h = vec![0.0; n * q];
        let mut row = vec![0.0; q];
        for i in 0..n {
            self.eval(&x[i * d..(i + 1) * d], &mut row);
            for j in 0..q {
                h[i + j * n] = row[j];
            }
        }
        h
    }
}
