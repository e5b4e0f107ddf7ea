//! The natural-gradient step for `q(v)` (Salimbeni, Eleftheriadis & Hensman 2018; the
//! update in the [module docs](super)).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef};

use super::batch::Expectations;
use super::model::Svgp;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::likelihoods::Likelihood;
use crate::linalg::Llt;

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// One natural-gradient step of size `γ ∈ (0, 1]` for `q(v)` on the batch (see the
    /// module docs).
    ///
    /// # Errors
    /// [`Error::NotPositiveDefinite`] if the new precision is not positive definite (possible
    /// for likelihoods that are not log-concave, e.g. Student-t): reduce `γ`.
    pub fn natural_gradient_step(&mut self, x: &Inputs, y: &[f64], gamma: f64) -> Result<()> {
        self.check_batch(x, y)?;
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(Error::invalid_option(
                "Svgp::natural_gradient_step",
                "gamma",
                gamma,
                "a step size in (0, 1]",
            ));
        }
        let par = self.options.par;
        let (theta, phi) = self.split_params();
        let st = self.batch_state(&theta, x)?;
        let (m, b) = (self.z.n(), x.n());
        let mut dphi = vec![0.0; phi.len()];
        let Expectations {
            dmu: eb, dvar: vb, ..
        } = self.expectations(&phi, y, &st, self.n_data as f64 / b as f64, &mut dphi);
        // Σ⁻¹ = S⁻ᵀ S⁻¹ from the current S.
        let s_llt = Llt::from_factor(self.q_sqrt.clone());
        for i in 0..m {
            if self.q_sqrt[(i, i)] == 0.0 {
                return Err(Error::Singular {
                    op: "Svgp::natural_gradient_step (q_sqrt)",
                    index: i,
                });
            }
        }
        let prec = s_llt.inverse(par);
        // The likelihood's precision term −2 A diag(v̄) Aᵀ.
        let mut adv = st.a.clone();
        for i in 0..b {
            adv.col_mut(i).iter_mut().for_each(|v| *v *= vb[i]);
        }
        let mut lik_prec = Mat::<f64>::zeros(m, m);
        matmul(
            lik_prec.as_mut(),
            Accum::Replace,
            adv.as_ref(),
            st.a.transpose(),
            -2.0,
            par,
        );
        let mut new_prec = Mat::<f64>::from_fn(m, m, |i, j| {
            (1.0 - gamma) * prec[(i, j)]
                + gamma * (lik_prec[(i, j)] + if i == j { 1.0 } else { 0.0 })
        });
        new_prec = crate::linalg::symmetrize(new_prec.as_ref());
        // θ₁ = (1 − γ) Σ⁻¹ m + γ (A ē − 2 A diag(v̄) Aᵀ m).
        let mv = MatRef::from_column_major_slice(&self.q_mu, m, 1);
        let mut t1 = Mat::<f64>::zeros(m, 1);
        matmul(
            t1.as_mut(),
            Accum::Replace,
            prec.as_ref(),
            mv,
            1.0 - gamma,
            par,
        );
        matmul(
            t1.as_mut(),
            Accum::Add,
            st.a.as_ref(),
            MatRef::from_column_major_slice(&eb, b, 1),
            gamma,
            par,
        );
        matmul(t1.as_mut(), Accum::Add, lik_prec.as_ref(), mv, gamma, par);
        let lp = Llt::factor_named(
            "svgp natural gradient: new precision (reduce the step size)",
            new_prec.as_ref(),
            par,
        )?;
        let cov = lp.inverse(par);
        lp.solve_in_place(t1.as_mut(), par);
        self.release(st);
        let s_new = Llt::factor_named("svgp natural gradient: new covariance", cov.as_ref(), par)?;
        self.q_mu = (0..m).map(|i| t1[(i, 0)]).collect();
        self.q_sqrt = s_new.into_l();
        Ok(())
    }
}
