//! The ELBO's gradient in every parameter (the adjoints of the [module docs](super)),
//! with the Cholesky pullback of Murray (2016) for `K̄_uu`.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::{Accum, Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use super::batch::{Expectations, finite_value};
use super::model::Svgp;
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::{Kernel, KernelAdjoints, fold_symmetric};
use crate::gp::likelihoods::Likelihood;
use crate::linalg::Llt;

/// The ELBO on a batch and its gradients (natural scale for the hyperparameters; see
/// [`Svgp::pack_gradient`] for the unconstrained scale).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElboGradient {
    /// `ELBO_b`.
    pub value: f64,
    /// `∂/∂θ_kernel` (natural scale).
    pub kernel: Vec<f64>,
    /// `∂/∂φ_likelihood` (natural scale).
    pub likelihood: Vec<f64>,
    /// `∂/∂Z`, point-major.
    pub z: Vec<f64>,
    /// `∂/∂m`.
    pub q_mu: Vec<f64>,
    /// `∂/∂S` (lower triangle, column-major `M × M`; zeros above the diagonal).
    pub q_sqrt: Vec<f64>,
}

/// `Φ(X)`: lower triangle with the diagonal halved.
fn phi_lower(x: &mut Mat<f64>) {
    let n = x.nrows();
    for j in 0..n {
        for i in 0..j {
            x[(i, j)] = 0.0;
        }
        x[(j, j)] *= 0.5;
    }
}

/// `Ā` from `L̄` for `A = L Lᵀ` (Murray 2016, §3.1): `S = L⁻ᵀ Φ(Lᵀ tril(L̄)) L⁻¹`,
/// `Ā = (S + Sᵀ)/2`.
fn cholesky_pullback(l: &Llt, lbar: &Mat<f64>, par: Par) -> Mat<f64> {
    let m = l.dim();
    let mut lb = lbar.clone();
    for j in 0..m {
        for i in 0..j {
            lb[(i, j)] = 0.0;
        }
    }
    let mut p = Mat::<f64>::zeros(m, m);
    matmul(
        p.as_mut(),
        Accum::Replace,
        l.l().transpose(),
        lb.as_ref(),
        1.0,
        par,
    );
    phi_lower(&mut p);
    l.solve_lt_in_place(p.as_mut(), par);
    let mut st = p.transpose().to_owned();
    l.solve_lt_in_place(st.as_mut(), par);
    Mat::from_fn(m, m, |i, j| 0.5 * (st[(i, j)] + st[(j, i)]))
}

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// The ELBO on a batch and its gradient in every parameter.
    pub fn elbo_and_grad(&self, x: &Inputs, y: &[f64]) -> Result<ElboGradient> {
        self.check_batch(x, y)?;
        let par = self.options.par;
        let (theta, phi) = self.split_params();
        let st = self.batch_state(&theta, x)?;
        let (m, b) = (self.z.n(), x.n());
        let mut dphi = vec![0.0; phi.len()];
        let Expectations {
            value: e,
            dmu: eb,
            dvar: vb,
        } = self.expectations(&phi, y, &st, self.n_data as f64 / b as f64, &mut dphi);
        let value = finite_value(e - self.kl())?;
        let a = &st.a;
        // A diag(v̄).
        let mut adv = self.pool.take(m, b);
        for i in 0..b {
            let src = a.col(i);
            let dst = adv.col_mut(i);
            for (d, s) in dst.iter_mut().zip(src.iter()) {
                *d = vb[i] * s;
            }
        }
        // m̄ = A ē − m.
        let mut mbar = Mat::<f64>::zeros(m, 1);
        matmul(
            mbar.as_mut(),
            Accum::Replace,
            a.as_ref(),
            MatRef::from_column_major_slice(&eb, b, 1),
            1.0,
            par,
        );
        let q_mu: Vec<f64> = (0..m).map(|i| mbar[(i, 0)] - self.q_mu[i]).collect();
        // S̄ = tril(2 A diag(v̄) Aᵀ S) − S + diag(1/Sᵢᵢ), with Aᵀ S = (Sᵀ A)ᵀ.
        let mut sbar = Mat::<f64>::zeros(m, m);
        tri_matmul(
            sbar.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            adv.as_ref(),
            BlockStructure::Rectangular,
            st.sta.transpose(),
            BlockStructure::Rectangular,
            2.0,
            par,
        );
        let mut q_sqrt = vec![0.0; m * m];
        for j in 0..m {
            for i in j..m {
                let mut v = sbar[(i, j)] - self.q_sqrt[(i, j)];
                if i == j {
                    v += 1.0 / self.q_sqrt[(i, i)];
                }
                q_sqrt[i + j * m] = v;
            }
        }
        // Ā = 2 (S Sᵀ A − A) diag(v̄) + m ēᵀ, with S Sᵀ A = S (Sᵀ A).
        let mut abar = adv;
        tri_matmul(
            abar.as_mut(),
            BlockStructure::Rectangular,
            Accum::Replace,
            self.q_sqrt.as_ref(),
            BlockStructure::TriangularLower,
            st.sta.as_ref(),
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        for i in 0..b {
            let ac = a.col(i);
            let dst = abar.col_mut(i);
            for ((d, av), &mr) in dst.iter_mut().zip(ac.iter()).zip(&self.q_mu) {
                *d = 2.0 * vb[i] * (*d - av) + mr * eb[i];
            }
        }
        // K̄_ub = L_z⁻ᵀ Ā; L̄_z = −tril(K̄_ub Aᵀ); K̄_uu by the Cholesky pullback.
        let mut kub_bar = abar;
        st.lz.solve_lt_in_place(kub_bar.as_mut(), par);
        let mut lz_bar = Mat::<f64>::zeros(m, m);
        tri_matmul(
            lz_bar.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            kub_bar.as_ref(),
            BlockStructure::Rectangular,
            a.transpose(),
            BlockStructure::Rectangular,
            -1.0,
            par,
        );
        let kuu_bar = cholesky_pullback(&st.lz, &lz_bar, par);
        // Kernel pullbacks.
        let mut dtheta = vec![0.0; theta.len()];
        let mut dz = vec![0.0; m * self.z.d()];
        let w = fold_symmetric(kuu_bar.as_ref());
        self.kernel.matrix_pullback(
            &theta,
            &self.z,
            None,
            w.as_ref(),
            KernelAdjoints::new(&mut dtheta, Some(&mut dz), None),
        );
        self.kernel.matrix_pullback(
            &theta,
            &self.z,
            Some(x),
            kub_bar.as_ref(),
            KernelAdjoints::new(&mut dtheta, Some(&mut dz), None),
        );
        self.kernel
            .diag_pullback(&theta, x, &vb, KernelAdjoints::theta_only(&mut dtheta));
        self.pool.give(kub_bar);
        self.release(st);
        let g = ElboGradient {
            value,
            kernel: dtheta,
            likelihood: dphi,
            z: dz,
            q_mu,
            q_sqrt,
        };
        for part in [&g.kernel, &g.likelihood, &g.z, &g.q_mu, &g.q_sqrt] {
            crate::error::check_finite("svgp", "ELBO gradient", part)?;
        }
        Ok(g)
    }
}
