//! Gauss–Hermite quadrature for Gaussian expectations:
//! `E_{N(f | μ, v)}[g(f)] ≈ Σ_k (w_k / √π) g(μ + √(2v) x_k)`, exact for polynomials of
//! degree `≤ 2n − 1` (Abramowitz & Stegun 1972, 25.4.46).
//!
//! Nodes start from the eigenvalues of the Jacobi matrix (Golub & Welsch 1969, Math.
//! Comp. 23) and are polished by Newton's method on the orthonormal Hermite recurrence
//! (Press et al. 2007, *Numerical Recipes*, 3rd ed., §4.6.1), which also gives the weights
//! to full relative accuracy; every iteration is bounded and failure is an error.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Gauss–Hermite nodes `x_k` and weights `w_k` for the weight `e^{−x²}` (`Σ w_k = √π`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussHermite {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl GaussHermite {
    /// The `n`-point rule (`1 ≤ n ≤ 300`; beyond that the weights underflow).
    pub fn new(n: usize) -> Result<Self> {
        if n == 0 || n > 300 {
            return Err(Error::invalid_option(
                "GaussHermite::new",
                "n",
                n,
                "between 1 and 300 points",
            ));
        }
        const PIM4: f64 = 0.751_125_544_464_942_5; // π^{−1/4}
        const MAX_IT: usize = 20;
        let nf = n as f64;
        // Starting values: eigenvalues of the Jacobi matrix (Golub & Welsch 1969), whose
        // off-diagonal entries are √(k/2).
        let jac = faer::Mat::<f64>::from_fn(n, n, |i, j| {
            if i == j + 1 || j == i + 1 {
                (i.max(j) as f64 / 2.0).sqrt()
            } else {
                0.0
            }
        });
        let mut guess = jac
            .self_adjoint_eigenvalues(faer::Side::Lower)
            .map_err(|e| Error::NoConvergence {
                op: "GaussHermite::new",
                iterations: 0,
                detail: format!("eigenvalues of the Jacobi matrix: {e:?}"),
            })?;
        guess.sort_by(|a, b| b.total_cmp(a));
        let mut x = vec![0.0; n];
        let mut w = vec![0.0; n];
        for i in 0..n.div_ceil(2) {
            // Newton on the orthonormal recurrence (Press et al. 2007, §4.6.1) polishes the
            // node and gives the weight 2 / p'_n(x)² to full relative accuracy.
            let mut z = guess[i];
            let mut converged = false;
            let mut pp = 0.0;
            for _ in 0..MAX_IT {
                let (mut p1, mut p2) = (PIM4, 0.0);
                for j in 0..n {
                    let p3 = p2;
                    p2 = p1;
                    let jf = j as f64;
                    p1 = z * (2.0 / (jf + 1.0)).sqrt() * p2 - (jf / (jf + 1.0)).sqrt() * p3;
                }
                pp = (2.0 * nf).sqrt() * p2;
                let z1 = z;
                z = z1 - p1 / pp;
                if (z - z1).abs() <= 4.0 * f64::EPSILON * z.abs().max(1.0) {
                    converged = true;
                    break;
                }
            }
            if !converged || !z.is_finite() {
                return Err(Error::NoConvergence {
                    op: "GaussHermite::new",
                    iterations: MAX_IT,
                    detail: format!("Newton polish of root {i} of H_{n}"),
                });
            }
            x[i] = z;
            x[n - 1 - i] = -z;
            w[i] = 2.0 / (pp * pp);
            w[n - 1 - i] = w[i];
        }
        if n % 2 == 1 {
            x[n / 2] = 0.0;
        }
        Ok(Self {
            nodes: x,
            weights: w,
        })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the rule is empty (never, for a constructed rule).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The nodes `x_k` (descending).
    pub fn nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// The weights `w_k` (for the weight function `e^{−x²}`).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// `E_{N(f | μ, v)}[g(f)]`.
    ///
    /// ```
    /// use mechml_engine::gp::GaussHermite;
    /// let gh = GaussHermite::new(20)?;
    /// // E[exp(f)] = exp(μ + v/2) for f ~ N(μ, v).
    /// let e = gh.expect(0.3, 0.5, |f| f.exp());
    /// assert!((e - (0.3f64 + 0.25).exp()).abs() < 1e-12);
    /// # Ok::<(), mechml_engine::Error>(())
    /// ```
    pub fn expect(&self, mu: f64, var: f64, mut g: impl FnMut(f64) -> f64) -> f64 {
        let s = (2.0 * var.max(0.0)).sqrt();
        let mut acc = 0.0;
        for (x, w) in self.nodes.iter().zip(&self.weights) {
            acc += w * g(mu + s * x);
        }
        acc * std::f64::consts::FRAC_2_SQRT_PI * 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_gaussian_moments_exactly() {
        // E[z^{2k}] = (2k − 1)!! for z ~ N(0, 1); the n-point rule is exact to degree 2n − 1.
        for n in [1usize, 2, 5, 10, 20, 40, 100, 150, 200, 300] {
            let gh = GaussHermite::new(n).unwrap();
            let sw: f64 = gh.weights().iter().sum();
            assert!((sw - std::f64::consts::PI.sqrt()).abs() < 1e-13, "n = {n}");
            let mut dfact = 1.0;
            for k in 0..n.min(12) {
                if 2 * k > 2 * n - 1 {
                    break;
                }
                let m = gh.expect(0.0, 1.0, |z| z.powi(2 * k as i32));
                assert!(
                    (m - dfact).abs() < 1e-11 * dfact,
                    "n = {n}, k = {k}: {m} vs {dfact}"
                );
                dfact *= (2 * k + 1) as f64;
            }
            let odd = gh.expect(0.0, 1.0, |z| z.powi(3));
            assert!(odd.abs() < 1e-12);
        }
        assert!(GaussHermite::new(0).is_err());
    }
}
