//! The Kronecker form of an ICM [`CoregionalGp`] on complete data (module docs of
//! [`coregional`](super::coregional)).

use faer::{Mat, MatRef, Side};
use mechml_engine::gp::{Kernel, KernelAdjoints};
use mechml_engine::{Error, Result};

use super::coregional::{CoregionalGp, LN_2PI};

impl CoregionalGp {
    /// Whether the Kronecker form applies: one latent kernel, every value observed.
    pub fn is_kronecker(&self) -> bool {
        self.latent == 1 && self.obs.len() == self.x.n() * self.p
    }

    /// The log likelihood by the Kronecker structure `K = B ⊗ K_x + Σ ⊗ I` (module docs):
    /// for ICM (`Q = 1`) with every output observed at every run.
    ///
    /// # Errors
    /// More than one latent kernel, a missing value, or a failed eigendecomposition.
    pub fn kronecker_log_likelihood(&self) -> Result<f64> {
        Ok(self.kronecker_grad(&self.layout.values())?.0)
    }

    /// The log likelihood and its gradient (natural scale) by the Kronecker structure.
    /// With `A` the `n × p` matrix of `α = K⁻¹y`, `Λ_ib = s_b s_i + 1` (eigenvalues of
    /// `Σ^-½BΣ^-½` and `K_x`):
    /// `B̄ = ½(AᵀK_xA − Σ^-½ U_B diag(Σ_i s_i/Λ_ib) U_Bᵀ Σ^-½)`,
    /// `K̄_x = ½(ABAᵀ − U_x diag(Σ_b s_b/Λ_ib) U_xᵀ)`,
    /// `σ̄²_a = ½(Σ_i A_ia² − Σ_b U_B[a,b]² Σ_i Λ_ib⁻¹ / σ²_a)`.
    ///
    /// # Errors
    /// As [`CoregionalGp::kronecker_log_likelihood`].
    pub fn kronecker_log_likelihood_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        if theta.len() != self.layout.len() {
            return Err(Error::ShapeMismatch {
                op: "CoregionalGp::kronecker_log_likelihood_grad",
                arg: "theta",
                expected: format!("len {}", self.layout.len()),
                found: format!("len {}", theta.len()),
            });
        }
        self.kronecker_grad(theta)
    }

    pub(super) fn kronecker_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (n, p, d, r) = (self.x.n(), self.p, self.x.d(), self.rank);
        if !self.is_kronecker() {
            return Err(Error::invalid_option(
                "CoregionalGp::kronecker_log_likelihood",
                "structure",
                format!(
                    "{} latent kernels, {} of {} values observed",
                    self.latent,
                    self.obs.len(),
                    n * p
                ),
                "one latent kernel (ICM) and every output observed at every run",
            ));
        }
        let u = self.unpack(theta);
        let kx = self.kx(&u).remove(0);
        let eig = |m: MatRef<'_, f64>, what: &str| {
            m.self_adjoint_eigen(Side::Lower)
                .map_err(|_| Error::NoConvergence {
                    op: "CoregionalGp::kronecker_log_likelihood",
                    iterations: 0,
                    detail: format!("eigendecomposition of {what} failed"),
                })
        };
        let ex = eig(kx.as_ref(), "K_x")?;
        let sd: Vec<f64> = u.noise.iter().map(|v| v.sqrt()).collect();
        let bt = Mat::from_fn(p, p, |a, b| u.b[0][(a, b)] / (sd[a] * sd[b]));
        let eb = eig(bt.as_ref(), "Σ^-½ B Σ^-½")?;
        let sx: Vec<f64> = (0..n).map(|i| ex.S().column_vector()[i].max(0.0)).collect();
        let sb: Vec<f64> = (0..p).map(|a| eb.S().column_vector()[a].max(0.0)).collect();
        let (ux, ub) = (ex.U(), eb.U());
        // Ỹ = U_xᵀ Y Σ^{-½} U_B with Y the n × p centred outputs.
        let yc = Mat::from_fn(n, p, |i, a| (self.y[i * p + a] - self.means[a]) / sd[a]);
        let yt = ux.transpose() * &yc * ub;
        let lam = Mat::from_fn(n, p, |i, b| sb[b] * sx[i] + 1.0);
        let mut value =
            -0.5 * (n * p) as f64 * LN_2PI - n as f64 * sd.iter().map(|s| s.ln()).sum::<f64>();
        for b in 0..p {
            for i in 0..n {
                value -= 0.5 * (lam[(i, b)].ln() + yt[(i, b)] * yt[(i, b)] / lam[(i, b)]);
            }
        }
        // A = U_x (Ỹ ./ Λ) U_Bᵀ Σ^{-½}.
        let at = Mat::from_fn(n, p, |i, b| yt[(i, b)] / lam[(i, b)]);
        let mut am = ux * &at * ub.transpose();
        for a in 0..p {
            for i in 0..n {
                am[(i, a)] /= sd[a];
            }
        }
        let mut g = vec![0.0; theta.len()];
        // B̄.
        let akxa = am.transpose() * &kx * &am;
        let c: Vec<f64> = (0..p)
            .map(|b| (0..n).map(|i| sx[i] / lam[(i, b)]).sum())
            .collect();
        let bbar = Mat::from_fn(p, p, |a, e| {
            let m: f64 =
                (0..p).map(|b| ub[(a, b)] * c[b] * ub[(e, b)]).sum::<f64>() / (sd[a] * sd[e]);
            0.5 * (akxa[(a, e)] - m)
        });
        // K̄_x, through the kernel's pullback.
        let aba = &am * &u.b[0] * am.transpose();
        let e: Vec<f64> = (0..n)
            .map(|i| (0..p).map(|b| sb[b] / lam[(i, b)]).sum())
            .collect();
        let kxbar = Mat::from_fn(n, n, |i, j| {
            let m: f64 = (0..n).map(|t| ux[(i, t)] * e[t] * ux[(j, t)]).sum();
            0.5 * (aba[(i, j)] - m)
        });
        let mut gk = vec![0.0; d + 1];
        self.kernel.matrix_pullback(
            &u.theta_k[0],
            &self.x,
            Some(&self.x),
            kxbar.as_ref(),
            KernelAdjoints::new(&mut gk, None, None),
        );
        g[..d].copy_from_slice(&gk[1..]);
        for a in 0..p {
            for k in 0..r {
                g[d + a * r + k] = (0..p)
                    .map(|b| (bbar[(a, b)] + bbar[(b, a)]) * u.w[0][(b, k)])
                    .sum();
            }
            g[d + p * r + a] = bbar[(a, a)];
        }
        let f: Vec<f64> = (0..p)
            .map(|b| (0..n).map(|i| 1.0 / lam[(i, b)]).sum())
            .collect();
        let off = d + p * r + p;
        for a in 0..p {
            let data: f64 = (0..n).map(|i| am[(i, a)] * am[(i, a)]).sum();
            let tr: f64 = (0..p).map(|b| ub[(a, b)] * ub[(a, b)] * f[b]).sum::<f64>() / u.noise[a];
            g[off + a] = 0.5 * (data - tr);
        }
        Ok((value, g))
    }
}
