//! The k-box model as a continuous-time linear SDE (Cummins et al. 2020, eqs. (1)–(3) and
//! (8)) and as the exactly discretised linear-Gaussian state-space model of its data.

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::model::{EbmData, EbmParams, EbmPrior, KBoxEbm};
use crate::ssm::discretize::{
    ContinuousLinearSde, DiscreteLinear, discretize, stationary_covariance,
};
use crate::ssm::model::{LinearGaussianSsm, Seq};

impl KBoxEbm {
    /// The continuous-time system dx = (A x + B u) dt + G dW for state
    /// [F?, T₁, …, T_k] and the scalar input u.
    pub fn continuous<R: Real>(&self, p: &EbmParams<R>) -> Result<ContinuousLinearSde<R>> {
        self.check_params(p)?;
        let k = self.boxes;
        let o = self.t1_index();
        let n = self.n_state();
        let mut a = vec![R::zero(); n * n];
        let mut b = vec![R::zero(); n];
        let mut w = vec![R::zero(); n * n];
        let at = |i: usize, j: usize| i + j * n;
        for i in 0..k {
            let ci = p.c[i];
            // Exchange with the box above (or the feedback for the top box).
            a[at(o + i, o + i)] -= p.kappa[i] / ci;
            if i > 0 {
                a[at(o + i, o + i - 1)] += p.kappa[i] / ci;
            }
            // Exchange with the box below, with the efficacy on the bottom exchange.
            if i + 1 < k {
                let rate = if i + 2 == k {
                    p.kappa[i + 1] * p.epsilon
                } else {
                    p.kappa[i + 1]
                };
                a[at(o + i, o + i)] -= rate / ci;
                a[at(o + i, o + i + 1)] += rate / ci;
            }
        }
        let c1 = p.c[0];
        if self.stochastic_forcing {
            a[at(0, 0)] = -p.gamma;
            a[at(o, 0)] = c1.recip();
            b[0] = p.gamma * p.forcing_scale;
            w[at(0, 0)] = p.sigma_eta * p.sigma_eta;
        } else {
            b[o] = p.forcing_scale / c1;
        }
        let s = p.sigma_xi / c1;
        w[at(o, o)] = s * s;
        ContinuousLinearSde::new(n, 1, a, b, w)
    }

    /// The observation matrix H (`m x n`) and the flux's direct dependence on the input
    /// (zero unless the flux is observed and the forcing is not a state).
    fn observation<R: Real>(&self, p: &EbmParams<R>) -> (Vec<R>, R) {
        let n = self.n_state();
        let m = self.n_obs();
        let o = self.t1_index();
        let k = self.boxes;
        let mut h = vec![R::zero(); m * n];
        h[o * m] = R::one();
        let mut direct = R::zero();
        if self.observe_flux {
            // N = F − κ₁T₁ + (1 − ε) κ_k (T_{k−1} − T_k).
            let tail = (R::one() - p.epsilon) * p.kappa[k - 1];
            if self.stochastic_forcing {
                h[1] = R::one();
            } else {
                direct = p.forcing_scale;
            }
            h[1 + o * m] -= p.kappa[0];
            if k >= 2 {
                h[1 + (o + k - 2) * m] += tail;
                h[1 + (o + k - 1) * m] -= tail;
            }
        }
        (h, direct)
    }

    /// The discrete-time linear-Gaussian model for `data` (exact discretisation over
    /// `data.dt`), generic over [`Real`] so that it can be built on a tape.
    pub fn state_space<R: Real>(
        &self,
        p: &EbmParams<R>,
        data: &EbmData,
        prior: &EbmPrior,
    ) -> Result<LinearGaussianSsm<R>> {
        let sde = self.continuous(p)?;
        let disc = discretize(&sde, data.dt)?;
        self.state_space_from(p, &disc, data, prior)
    }

    /// As [`KBoxEbm::state_space`], from an already discretised system.
    pub fn state_space_from<R: Real>(
        &self,
        p: &EbmParams<R>,
        disc: &DiscreteLinear<R>,
        data: &EbmData,
        prior: &EbmPrior,
    ) -> Result<LinearGaussianSsm<R>> {
        let n = self.n_state();
        let m = self.n_obs();
        if data.obs.n_obs != m {
            return Err(Error::ShapeMismatch {
                op: "KBoxEbm",
                arg: "observations",
                expected: format!(
                    "{m} series (temperature{})",
                    if self.observe_flux { " and flux" } else { "" }
                ),
                found: format!("{} series", data.obs.n_obs),
            });
        }
        let t_len = data.obs.n_steps;
        let (h, direct) = self.observation(p);
        let st2 = p.sigma_t * p.sigma_t;
        let sn2 = p.sigma_n * p.sigma_n;
        let any_known = data.known_var.iter().any(|&v| v != 0.0);
        let r = if any_known {
            let mut vals = Vec::with_capacity(t_len * m * m);
            for &kv in &data.known_var {
                vals.push(st2 + kv);
                if m == 2 {
                    vals.push(R::zero());
                    vals.push(R::zero());
                    vals.push(sn2);
                }
            }
            Seq::varying(m, m, t_len, vals)?
        } else if m == 2 {
            Seq::constant(2, 2, vec![st2, R::zero(), R::zero(), sn2])?
        } else {
            Seq::constant(1, 1, vec![st2])?
        };
        let d = if self.observe_flux && direct.value() != 0.0 {
            let mut vals = Vec::with_capacity(t_len * 2);
            for t in 0..t_len {
                vals.push(p.offset);
                vals.push(direct * data.obs.u_at(t)[0]);
            }
            Seq::varying(m, 1, t_len, vals)?
        } else {
            let mut vals = vec![R::zero(); m];
            vals[0] = p.offset;
            Seq::constant(m, 1, vals)?
        };
        let (m1, p1) = match prior {
            EbmPrior::Stationary => (
                vec![R::zero(); n],
                stationary_covariance(&disc.phi, &disc.q, n)?,
            ),
            EbmPrior::AtRest => (vec![R::zero(); n], vec![R::zero(); n * n]),
            EbmPrior::Fixed { mean, cov } => {
                if mean.len() != n || cov.len() != n * n {
                    return Err(Error::ShapeMismatch {
                        op: "KBoxEbm",
                        arg: "prior",
                        expected: format!("mean of {n}, covariance {n}x{n}"),
                        found: format!(
                            "mean of {}, covariance of {} values",
                            mean.len(),
                            cov.len()
                        ),
                    });
                }
                (
                    mean.iter().map(|&x| R::from_f64(x)).collect(),
                    cov.iter().map(|&x| R::from_f64(x)).collect(),
                )
            }
        };
        Ok(LinearGaussianSsm {
            f: Seq::constant(n, n, disc.phi.clone())?,
            b: Seq::constant(n, 1, disc.gamma.clone())?,
            c: Seq::zeros(n, 1),
            q: Seq::constant(n, n, disc.q.clone())?,
            h: Seq::constant(m, n, h)?,
            d,
            r,
            m1,
            p1,
        })
    }
}
