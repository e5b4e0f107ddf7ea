//! Shared helpers of the inference tests: Gaussian targets with known moments and
//! moment checks whose tolerances come from Monte Carlo standard errors.
#![allow(dead_code)]

use mechml_engine::Result;
use mechml_engine::ad::Real;
use mechml_engine::infer::diagnostics::mcse_mean;
use mechml_engine::infer::{LogDensity, Posterior, RealLogDensity};

/// `Σ_ij = s_i s_j ρ^|i−j|` (AR(1) correlation with scales `s`).
pub fn ar1_cov(scales: &[f64], rho: f64) -> Vec<f64> {
    let d = scales.len();
    let mut c = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            c[i * d + j] = scales[i] * scales[j] * rho.powi((i as i32 - j as i32).abs());
        }
    }
    c
}

/// Inverse of an SPD matrix by Gauss–Jordan elimination (independent of the engine).
pub fn inverse(a: &[f64], d: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; d * d];
    for i in 0..d {
        inv[i * d + i] = 1.0;
    }
    for c in 0..d {
        let p = m[c * d + c];
        for k in 0..d {
            m[c * d + k] /= p;
            inv[c * d + k] /= p;
        }
        for r in 0..d {
            if r != c {
                let f = m[r * d + c];
                for k in 0..d {
                    m[r * d + k] -= f * m[c * d + k];
                    inv[r * d + k] -= f * inv[c * d + k];
                }
            }
        }
    }
    inv
}

/// `N(μ, P⁻¹)` written over `Real` (scalar tape operations).
#[derive(Clone)]
pub struct Gaussian {
    pub mean: Vec<f64>,
    pub prec: Vec<f64>,
}

impl RealLogDensity for Gaussian {
    fn dim(&self) -> usize {
        self.mean.len()
    }
    fn log_density<R: Real>(&self, x: &[R]) -> Result<R> {
        let d = self.mean.len();
        let r: Vec<R> = x.iter().zip(&self.mean).map(|(&xi, &m)| xi - m).collect();
        let mut q = R::zero();
        for (i, &ri) in r.iter().enumerate() {
            let mut row = R::zero();
            for (&rj, &p) in r.iter().zip(&self.prec[i * d..(i + 1) * d]) {
                row += rj * p;
            }
            q += ri * row;
        }
        Ok(q * -0.5)
    }
}

/// `N(0, P⁻¹)` with its gradient `−P x` written by hand (for d = 100, where a scalar
/// tape would spend its time on 10⁴ products).
#[derive(Clone)]
pub struct GaussianByHand {
    pub prec: Vec<f64>,
    pub d: usize,
}

impl LogDensity for GaussianByHand {
    fn dim(&self) -> usize {
        self.d
    }
    fn log_density_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        let d = self.d;
        let mut q = 0.0;
        for i in 0..d {
            let row: f64 = self.prec[i * d..(i + 1) * d]
                .iter()
                .zip(x)
                .map(|(p, v)| p * v)
                .sum();
            grad[i] = -row;
            q += x[i] * row;
        }
        Ok(-0.5 * q)
    }
}

/// Checks `E[g(θ)] = expected` within `z` Monte Carlo standard errors of the mean of
/// `g` over the draws (MCSE from the chains' ESS).
pub fn check_expectation(
    post: &Posterior,
    what: &str,
    g: impl Fn(&[f64]) -> f64,
    expected: f64,
    z: f64,
) {
    let n = post.n_params();
    let chains: Vec<Vec<f64>> = post
        .chains
        .iter()
        .map(|c| c.draws.chunks_exact(n).map(&g).collect())
        .collect();
    let refs: Vec<&[f64]> = chains.iter().map(|c| c.as_slice()).collect();
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let mcse = mcse_mean(&refs).unwrap();
    assert!(
        mcse.is_finite() && (mean - expected).abs() <= z * mcse,
        "{what}: estimate {mean}, expected {expected}, mcse {mcse} (z = {z})"
    );
}
