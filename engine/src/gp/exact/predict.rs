//! Posterior predictions of an exact GP (Rasmussen & Williams 2006, Alg. 2.1 and
//! eqs. 2.23–2.24): with `K_y = L Lᵀ`, `A = K_y⁻¹ Y`, `K_* = K(X, X_*)`, `V = L⁻¹ K_*`,
//!
//! ```text
//! mean = K_*ᵀ A,   cov = K(X_*, X_*) − Vᵀ V,   var_i = k(x_*i, x_*i) − ‖V_{:,i}‖²
//! ```

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use serde::{Deserialize, Serialize};

use super::lml::ExactFactor;
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::kernels::matrix::kernel_matrix_unchecked;
use crate::linalg::JitterInfo;

/// Predictions at test inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Posterior mean of the latent functions, `m × p` (row = test point, column = output),
    /// column-major.
    pub mean: DenseMatrix,
    /// Posterior variance of the latent function at each test point (shared by the outputs;
    /// clamped at 0 against round-off).
    pub var: Vec<f64>,
    /// Full posterior covariance `m × m` if it was requested.
    pub cov: Option<DenseMatrix>,
    /// The noise variance, to add for predictions of observations.
    pub noise_variance: f64,
}

/// A column-major matrix indexable by `(row, column)` (serialisable, unlike faer's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseMatrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Values, column-major.
    pub values: Vec<f64>,
}

impl std::ops::Index<(usize, usize)> for DenseMatrix {
    type Output = f64;
    fn index(&self, (i, j): (usize, usize)) -> &f64 {
        &self.values[i + j * self.rows]
    }
}

impl DenseMatrix {
    /// As a faer matrix.
    pub fn to_faer(&self) -> Mat<f64> {
        Mat::from_fn(self.rows, self.cols, |i, j| self.values[i + j * self.rows])
    }
}

impl Prediction {
    /// Predictive variance of a new observation: `var + σ_n²`.
    pub fn var_y(&self) -> Vec<f64> {
        self.var.iter().map(|v| v + self.noise_variance).collect()
    }
}

/// The posterior of an exact GP at fixed parameters (a snapshot of the kernel's `θ` and
/// the noise): one factorisation, many predictions.
#[derive(Clone, Debug)]
pub struct ExactPosterior<K> {
    kernel: K,
    theta: Vec<f64>,
    x: Inputs,
    factor: ExactFactor,
    noise: f64,
    par: Par,
}

impl<K: Kernel> ExactPosterior<K> {
    pub(crate) fn new(
        kernel: K,
        theta: Vec<f64>,
        x: Inputs,
        factor: ExactFactor,
        noise: f64,
        par: Par,
    ) -> Self {
        Self {
            theta,
            kernel,
            x,
            factor,
            noise,
            par,
        }
    }

    /// Jitter that the factorisation needed.
    pub fn jitter(&self) -> JitterInfo {
        self.factor.jitter
    }

    /// `A = K_y⁻¹ Y` (`n × p`).
    pub fn alpha(&self) -> &Mat<f64> {
        &self.factor.alpha
    }

    /// Mean, variance and (if `full_cov`) covariance of the latent functions at `xs`.
    pub fn predict(&self, xs: &Inputs, full_cov: bool) -> Result<Prediction> {
        let ks = kernel_matrix_unchecked(&self.kernel, &self.theta, &self.x, Some(xs))?;
        let (m, p) = (xs.n(), self.factor.alpha.ncols());
        let mut mean = Mat::<f64>::zeros(m, p);
        matmul(
            mean.as_mut(),
            Accum::Replace,
            ks.transpose(),
            self.factor.alpha.as_ref(),
            1.0,
            self.par,
        );
        let mut v = ks;
        self.factor.llt.solve_l_in_place(v.as_mut(), self.par);
        let mut kdiag = vec![0.0; m];
        self.kernel.diag_into(&self.theta, xs, &mut kdiag);
        let var: Vec<f64> = (0..m)
            .map(|i| {
                let c = v.col(i);
                (kdiag[i] - c.squared_norm_l2()).max(0.0)
            })
            .collect();
        let cov = if full_cov {
            let mut c = kernel_matrix_unchecked(&self.kernel, &self.theta, xs, None)?;
            matmul(
                c.as_mut(),
                Accum::Add,
                v.transpose(),
                v.as_ref(),
                -1.0,
                self.par,
            );
            Some(DenseMatrix {
                rows: m,
                cols: m,
                values: crate::ad::ops::util::to_vec(c.as_ref()),
            })
        } else {
            None
        };
        Ok(Prediction {
            mean: DenseMatrix {
                rows: m,
                cols: p,
                values: crate::ad::ops::util::to_vec(mean.as_ref()),
            },
            var,
            cov,
            noise_variance: self.noise,
        })
    }
}
