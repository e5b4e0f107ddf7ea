//! The per-batch quantities shared by the ELBO, its gradient and the natural gradient
//! (`A = L_z⁻¹ K_ub`, `Sᵀ A`, the marginals `μᵢ`, `σᵢ²`), the KL term, the expected
//! log-likelihoods, and the ELBO on a batch or on the full data.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::{Accum, Mat, MatRef};

use super::model::Svgp;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::kernels::matrix::{check_matrix_finite, kernel_matrix_unchecked};
use crate::gp::likelihoods::Likelihood;
use crate::linalg::Llt;

/// The per-batch quantities shared by the ELBO, its gradient and the natural gradient.
pub(super) struct BatchState {
    pub(super) lz: Llt,
    /// `A = L_z⁻¹ K_ub`.
    pub(super) a: Mat<f64>,
    /// `Sᵀ A`.
    pub(super) sta: Mat<f64>,
    pub(super) mu: Vec<f64>,
    pub(super) var: Vec<f64>,
}

/// The expected log-likelihood terms of a batch: `(Σᵢ E, ē, v̄)` scaled by `N/B`.
pub(super) struct Expectations {
    pub(super) value: f64,
    pub(super) dmu: Vec<f64>,
    pub(super) dvar: Vec<f64>,
}

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// `A`, `Sᵀ A` and the marginals of the batch `x` at the kernel's `θ`.
    pub(super) fn batch_state(&self, theta: &[f64], x: &Inputs) -> Result<BatchState> {
        let par = self.options.par;
        let (m, b) = (self.z.n(), x.n());
        let mut kuu = kernel_matrix_unchecked(&self.kernel, theta, &self.z, None)?;
        for i in 0..m {
            kuu[(i, i)] += self.options.jitter;
        }
        let lz = Llt::factor_named("svgp: K(Z, Z) + jitter", kuu.as_ref(), par)?;
        let mut a = self.pool.take(m, b);
        self.kernel.matrix_into(theta, &self.z, Some(x), a.as_mut());
        if let Err(e) = check_matrix_finite("svgp", a.as_ref(), false) {
            self.pool.give(a);
            return Err(e);
        }
        lz.solve_l_in_place(a.as_mut(), par);
        let mut kdiag = vec![0.0; b];
        self.kernel.diag_into(theta, x, &mut kdiag);
        let mut mu = Mat::<f64>::zeros(b, 1);
        matmul(
            mu.as_mut(),
            Accum::Replace,
            a.transpose(),
            MatRef::from_column_major_slice(&self.q_mu, m, 1),
            1.0,
            par,
        );
        // Sᵀ A with S lower triangular (half the flops of a full product).
        let mut sta = self.pool.take(m, b);
        tri_matmul(
            sta.as_mut(),
            BlockStructure::Rectangular,
            Accum::Replace,
            self.q_sqrt.transpose(),
            BlockStructure::TriangularUpper,
            a.as_ref(),
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        let var = (0..b)
            .map(|i| kdiag[i] - a.col(i).squared_norm_l2() + sta.col(i).squared_norm_l2())
            .collect();
        Ok(BatchState {
            lz,
            a,
            sta,
            mu: (0..b).map(|i| mu[(i, 0)]).collect(),
            var,
        })
    }

    /// Gives the batch buffers back to the pool.
    pub(super) fn release(&self, st: BatchState) {
        self.pool.give(st.a);
        self.pool.give(st.sta);
    }

    /// `KL(q(v) ‖ N(0, I))`.
    pub(super) fn kl(&self) -> f64 {
        let m = self.z.n();
        let mut fro = 0.0;
        let mut logdet = 0.0;
        for j in 0..m {
            for i in j..m {
                fro += self.q_sqrt[(i, j)].powi(2);
            }
            logdet += self.q_sqrt[(j, j)].abs().ln();
        }
        let mm: f64 = self.q_mu.iter().map(|v| v * v).sum();
        0.5 * (fro + mm - m as f64 - 2.0 * logdet)
    }

    /// Expected log-likelihood terms at the likelihood's `φ`: `(Σ E, ē, v̄)` scaled by
    /// `scale`, adding `scale ∂(Σ E)/∂φ` into `dphi`.
    pub(super) fn expectations(
        &self,
        phi: &[f64],
        y: &[f64],
        st: &BatchState,
        scale: f64,
        dphi: &mut [f64],
    ) -> Expectations {
        let b = y.len();
        let (mut e, mut eb, mut vb) = (0.0, vec![0.0; b], vec![0.0; b]);
        let mut acc = vec![0.0; phi.len()];
        for i in 0..b {
            let (v, dm, dv) = self
                .likelihood
                .variational_expectation(phi, y[i], st.mu[i], st.var[i], &self.quad, &mut acc);
            e += v;
            eb[i] = scale * dm;
            vb[i] = scale * dv;
        }
        dphi.iter_mut().zip(&acc).for_each(|(d, a)| *d += scale * a);
        Expectations {
            value: scale * e,
            dmu: eb,
            dvar: vb,
        }
    }

    /// The ELBO on the batch `(x, y)`, scaled by `N/B` (the whole data when `B = N`).
    pub fn elbo(&self, x: &Inputs, y: &[f64]) -> Result<f64> {
        self.check_batch(x, y)?;
        let (theta, phi) = self.split_params();
        let st = self.batch_state(&theta, x)?;
        let mut dphi = vec![0.0; phi.len()];
        let e = self.expectations(&phi, y, &st, self.n_data as f64 / x.n() as f64, &mut dphi);
        self.release(st);
        finite_value(e.value - self.kl())
    }

    /// The full-data ELBO, accumulated over chunks of `chunk` points (memory `O(M chunk)`).
    pub fn elbo_full(&self, x: &Inputs, y: &[f64], chunk: usize) -> Result<f64> {
        self.check_batch(x, y)?;
        self.check_full_data("Svgp::elbo_full", x)?;
        let (theta, phi) = self.split_params();
        let mut e = 0.0;
        let mut dphi = vec![0.0; phi.len()];
        let chunk = chunk.max(1);
        for start in (0..x.n()).step_by(chunk) {
            let idx: Vec<usize> = (start..(start + chunk).min(x.n())).collect();
            let xb = x.select(&idx)?;
            let st = self.batch_state(&theta, &xb)?;
            e += self
                .expectations(&phi, &y[start..start + idx.len()], &st, 1.0, &mut dphi)
                .value;
            self.release(st);
        }
        finite_value(e - self.kl())
    }
}

/// `v`, or an error naming the likely causes of a non-finite ELBO.
pub(super) fn finite_value(v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::NonFinite {
            op: "svgp",
            index: 0,
            value: v,
            context: "ELBO (is q_sqrt singular, or the likelihood infinite at the data?)".into(),
        })
    }
}
