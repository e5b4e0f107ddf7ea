//! [`DiffuseInit`]: the diffuse part `P∞` of the prior.

use super::OP;
use crate::error::{Error, Result};

/// The diffuse part `P∞` of the prior `x₁ ~ N(m₁, κ P∞ + P₁)`, `κ → ∞` (see the
/// [module docs](super)).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiffuseInit {
    n: usize,
    p_inf: Vec<f64>,
    tol: f64,
}

impl DiffuseInit {
    /// Default relative tolerance below which `F∞` and `P∞` count as zero.
    pub const DEFAULT_TOL: f64 = 1e-8;

    /// `P∞` (`n x n`, column-major, symmetric positive semi-definite: checked for symmetry,
    /// finiteness and a non-negative diagonal).
    ///
    /// # Errors
    /// A wrong length, or a matrix that is not symmetric with a non-negative diagonal.
    pub fn new(n: usize, p_inf: Vec<f64>) -> Result<Self> {
        crate::error::check_len("DiffuseInit", "p_inf", p_inf.len(), n * n)?;
        crate::error::check_finite("DiffuseInit", "p_inf", &p_inf)?;
        let scale = p_inf.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for j in 0..n {
            if p_inf[j + j * n] < 0.0 {
                return Err(Error::invalid_option(
                    "DiffuseInit",
                    format!("p_inf[({j}, {j})]"),
                    p_inf[j + j * n],
                    "≥ 0 (a covariance direction)",
                ));
            }
            for i in 0..j {
                let (a, b) = (p_inf[i + j * n], p_inf[j + i * n]);
                if (a - b).abs() > 1e-12 * scale {
                    return Err(Error::invalid_option(
                        "DiffuseInit",
                        format!("p_inf[({i}, {j})]"),
                        a,
                        format!("= p_inf[({j}, {i})] = {b} (symmetric)"),
                    ));
                }
            }
        }
        Ok(Self {
            n,
            p_inf,
            tol: Self::DEFAULT_TOL,
        })
    }

    /// Every state diffuse: `P∞ = I`.
    pub fn all(n: usize) -> Self {
        let mut p_inf = vec![0.0; n * n];
        for i in 0..n {
            p_inf[i + i * n] = 1.0;
        }
        Self {
            n,
            p_inf,
            tol: Self::DEFAULT_TOL,
        }
    }

    /// The states `which` diffuse: `P∞ = Σ_{i ∈ which} eᵢ eᵢᵀ`.
    ///
    /// # Errors
    /// An index `≥ n`.
    pub fn states(n: usize, which: &[usize]) -> Result<Self> {
        let mut p_inf = vec![0.0; n * n];
        for &i in which {
            if i >= n {
                return Err(Error::invalid_option(
                    "DiffuseInit::states",
                    "which",
                    i,
                    format!("a state index < {n}"),
                ));
            }
            p_inf[i + i * n] = 1.0;
        }
        Ok(Self {
            n,
            p_inf,
            tol: Self::DEFAULT_TOL,
        })
    }

    /// The same with another relative tolerance (`> 0` and `< 1`).
    ///
    /// # Errors
    /// A tolerance outside `(0, 1)`.
    pub fn with_tolerance(mut self, tol: f64) -> Result<Self> {
        if !(tol > 0.0 && tol < 1.0) {
            return Err(Error::invalid_option(
                "DiffuseInit",
                "tol",
                tol,
                "finite, > 0 and < 1",
            ));
        }
        self.tol = tol;
        Ok(self)
    }

    /// The state dimension.
    pub fn n_state(&self) -> usize {
        self.n
    }

    /// `P∞` (column-major).
    pub fn p_inf(&self) -> &[f64] {
        &self.p_inf
    }

    /// The absolute tolerance: `tol` times the largest entry of `P∞` (at least `tol`).
    pub(super) fn abs_tol(&self) -> f64 {
        self.tol * self.p_inf.iter().fold(1.0f64, |a, b| a.max(b.abs()))
    }

    pub(super) fn check(&self, model_n: usize) -> Result<()> {
        if self.n != model_n {
            return Err(Error::ShapeMismatch {
                op: OP,
                arg: "diffuse",
                expected: format!("state dimension {model_n}"),
                found: format!("state dimension {}", self.n),
            });
        }
        Ok(())
    }
}
