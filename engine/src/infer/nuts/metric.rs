//! The Euclidean metric: kinetic energy `K(p) = ½ pᵀ M⁻¹ p`, momentum draws
//! `p ~ N(0, M)`, and the velocity `dq/dt = M⁻¹ p`.
//!
//! The adapted quantity is `M⁻¹`, an estimate of the posterior covariance `Σ`. With
//! `Σ = L Lᵀ` (Cholesky), `p = L⁻ᵀ z` for `z ~ N(0, I)` has covariance `Σ⁻¹ = M`.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use crate::error::{Error, Result};

/// `M⁻¹` and what momentum draws need.
#[derive(Clone, Debug)]
pub(crate) enum Metric {
    /// Diagonal `M⁻¹` and `√M` per coordinate.
    Diag { inv: Vec<f64>, sqrt_mass: Vec<f64> },
    /// Dense `M⁻¹ = Σ` (row-major) and its lower Cholesky factor `L` (row-major).
    Dense {
        n: usize,
        inv: Vec<f64>,
        chol: Vec<f64>,
    },
}

/// Dot product in four partial sums (vectorises).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

impl Metric {
    /// The unit metric of dimension `n` (diagonal form).
    pub fn unit_diag(n: usize) -> Self {
        Metric::Diag {
            inv: vec![1.0; n],
            sqrt_mass: vec![1.0; n],
        }
    }

    /// The unit metric in dense form.
    pub fn unit_dense(n: usize) -> Self {
        let mut inv = vec![0.0; n * n];
        for i in 0..n {
            inv[i * n + i] = 1.0;
        }
        Metric::Dense {
            n,
            chol: inv.clone(),
            inv,
        }
    }

    /// A diagonal metric from variances (all > 0 and finite).
    pub fn from_variances(var: Vec<f64>) -> Self {
        let sqrt_mass = var.iter().map(|v| 1.0 / v.sqrt()).collect();
        Metric::Diag {
            inv: var,
            sqrt_mass,
        }
    }

    /// A dense metric from a covariance (row-major, symmetric); an error if it is not
    /// positive definite.
    pub fn from_covariance(n: usize, cov: Vec<f64>) -> Result<Self> {
        let mut l = vec![0.0; n * n];
        for j in 0..n {
            let mut d = cov[j * n + j];
            for k in 0..j {
                d -= l[j * n + k] * l[j * n + k];
            }
            if !(d > 0.0 && d.is_finite()) {
                return Err(Error::NotPositiveDefinite {
                    op: "nuts dense metric",
                    pivot: j,
                    value: d,
                });
            }
            let d = d.sqrt();
            l[j * n + j] = d;
            for i in j + 1..n {
                let mut s = cov[i * n + j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = s / d;
            }
        }
        Ok(Metric::Dense {
            n,
            inv: cov,
            chol: l,
        })
    }

    /// `M⁻¹` as stored: the diagonal, or the dense matrix row-major.
    pub fn inverse(&self) -> &[f64] {
        match self {
            Metric::Diag { inv, .. } | Metric::Dense { inv, .. } => inv,
        }
    }

    /// Draws `p ~ N(0, M)` into `p`.
    pub fn sample_momentum<G: Rng + ?Sized>(&self, rng: &mut G, p: &mut [f64]) {
        match self {
            Metric::Diag { sqrt_mass, .. } => {
                for (pi, s) in p.iter_mut().zip(sqrt_mass) {
                    let z: f64 = rng.sample(StandardNormal);
                    *pi = z * s;
                }
            }
            Metric::Dense { n, chol, .. } => {
                for pi in p.iter_mut() {
                    *pi = rng.sample(StandardNormal);
                }
                // Solve Lᵀ p = z by back substitution (Lᵀ is upper triangular).
                for i in (0..*n).rev() {
                    let mut s = p[i];
                    for k in i + 1..*n {
                        s -= chol[k * n + i] * p[k];
                    }
                    p[i] = s / chol[i * n + i];
                }
            }
        }
    }

    /// `v = M⁻¹ p`.
    #[inline]
    pub fn velocity(&self, p: &[f64], v: &mut [f64]) {
        match self {
            Metric::Diag { inv, .. } => {
                for ((vi, pi), m) in v.iter_mut().zip(p).zip(inv) {
                    *vi = m * pi;
                }
            }
            Metric::Dense { n, inv, .. } => {
                for (i, vi) in v.iter_mut().enumerate() {
                    *vi = dot(&inv[i * n..(i + 1) * n], p);
                }
            }
        }
    }
}
