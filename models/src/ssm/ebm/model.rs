//! The k-box stochastic energy-balance model as a linear-Gaussian state-space model.
//!
//! Boxes i = 1 … k with temperatures Tᵢ and heat capacities Cᵢ (Cummins, Stephenson &
//! Stott 2020, J. Climate 33, 7909–7926, doi:10.1175/JCLI-D-19-0589.1, eqs. (1)–(3)):
//!
//! $$ C_1\\,dT_1 = [F − κ_1 T_1 − ε_1 κ_2 (T_1 − T_2)]\\,dt + σ_ξ\\,dW_ξ, $$
//! $$ C_i\\,dT_i = [κ_i (T_{i−1} − T_i) − ε_i κ_{i+1} (T_i − T_{i+1})]\\,dt,\\quad
//!    C_k\\,dT_k = κ_k (T_{k−1} − T_k)\\,dt, $$
//!
//! where the deep-ocean efficacy ε multiplies the exchange between boxes k−1 and k
//! (εᵢ = ε for i = k − 1, else 1). The forcing F is either
//!
//! * the external forcing s·u(t) itself (`stochastic_forcing = false`), with u a given
//!   series (e.g. historical effective radiative forcing, s = 1) or a step (u = 1,
//!   s = F₄ₓ), or
//! * a state relaxing to it, dF = γ (s·u − F) dt + σ_η dW_η (Cummins et al. 2020, eq. (8):
//!   the stochastic forcing of the paper).
//!
//! Observations: the top-box temperature y_T = T₁ + T₀ + v_T, v_T ~ N(0, σ_T² + known
//! variance), and optionally the top-of-atmosphere net flux
//! y_N = F − κ₁T₁ + (1 − ε) κ_k (T_{k−1} − T_k) + v_N. The model is discretised exactly
//! over the data's step ([`discretize`](crate::ssm::discretize)).

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::ssm::discretize::{
    ContinuousLinearSde, DiscreteLinear, discretize, stationary_covariance,
};
use crate::ssm::model::{LinearGaussianSsm, Observations, Seq};

/// The structure of a k-box model (which parameters exist and what is observed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KBoxEbm {
    /// Number of boxes k (2 or 3).
    pub boxes: usize,
    /// Whether the forcing is a state relaxing to the external forcing (γ, σ_η).
    pub stochastic_forcing: bool,
    /// Whether the top-of-atmosphere net flux N is observed (second observation).
    pub observe_flux: bool,
}

/// The physical parameters, in the units of Cummins et al. (2020): heat capacities in
/// W yr m⁻² K⁻¹, exchange coefficients in W m⁻² K⁻¹, forcing in W m⁻², noise scales in
/// the units of the corresponding equation per √yr, temperatures in K.
#[derive(Clone, Debug, PartialEq)]
pub struct EbmParams<R> {
    /// Heat capacities C₁ … C_k.
    pub c: Vec<R>,
    /// κ₁ (the climate feedback parameter λ) and the exchange coefficients κ₂ … κ_k.
    pub kappa: Vec<R>,
    /// Deep-ocean heat-uptake efficacy ε.
    pub epsilon: R,
    /// Temperature-noise scale σ_ξ (on C₁ dT₁).
    pub sigma_xi: R,
    /// Forcing relaxation rate γ (yr⁻¹; stochastic forcing only).
    pub gamma: R,
    /// Forcing-noise scale σ_η (stochastic forcing only).
    pub sigma_eta: R,
    /// Forcing scale s (F₄ₓ for a unit step; 1 for a forcing series in W m⁻²).
    pub forcing_scale: R,
    /// Observation-noise standard deviation of the temperature.
    pub sigma_t: R,
    /// Observation-noise standard deviation of the flux (if observed).
    pub sigma_n: R,
    /// Offset T₀ between observed anomalies and the model's temperature.
    pub offset: R,
}

/// How the first state is distributed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EbmPrior {
    /// Zero mean and the stationary covariance of the unforced noise (the model's own
    /// internal variability at rest; Cummins et al. 2020).
    #[default]
    Stationary,
    /// Exactly at rest: zero mean and zero covariance.
    AtRest,
    /// A given mean and covariance (state order [F?, T₁, …, T_k]).
    Fixed {
        /// Mean.
        mean: Vec<f64>,
        /// Covariance, column-major.
        cov: Vec<f64>,
    },
}

/// Data for an EBM: observations (T₁ and optionally N), the external forcing series
/// u_t, a known extra observation variance for T per step (e.g. from a dataset's
/// uncertainty ensemble; zeros if none), and the time step.
#[derive(Clone, Debug, PartialEq)]
pub struct EbmData {
    /// Observations, `T x m` (m = 1 or 2), with one input (the forcing u).
    pub obs: Observations,
    /// Known observation variance of T at each step (`T` values, ≥ 0).
    pub known_var: Vec<f64>,
    /// Time step in years.
    pub dt: f64,
}

impl EbmData {
    /// Checks shapes and values.
    pub fn new(obs: Observations, known_var: Vec<f64>, dt: f64) -> Result<Self> {
        if obs.n_inputs != 1 {
            return Err(Error::ShapeMismatch {
                op: "EbmData",
                arg: "inputs",
                expected: "1 (the forcing)".into(),
                found: obs.n_inputs.to_string(),
            });
        }
        if known_var.len() != obs.n_steps {
            return Err(Error::ShapeMismatch {
                op: "EbmData",
                arg: "known_var",
                expected: format!("len {}", obs.n_steps),
                found: format!("len {}", known_var.len()),
            });
        }
        if let Some(i) = known_var.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::InvalidArgument {
                op: "EbmData",
                message: format!(
                    "known observation variance at step {i} is {} (must be ≥ 0)",
                    known_var[i]
                ),
            });
        }
        if dt <= 0.0 || !dt.is_finite() {
            return Err(Error::InvalidArgument {
                op: "EbmData",
                message: format!("time step must be positive, got {dt}"),
            });
        }
        Ok(Self { obs, known_var, dt })
    }

    /// A complete record of `n_series` observed series (1: the temperature; 2: and the
    /// flux) driven by `forcing`, one-year steps, no known variance, every observation
    /// 0: the shape of data to simulate on (e.g. a
    /// [`RecoveryStudy`](super::recovery::RecoveryStudy)).
    pub fn template(forcing: Vec<f64>, n_series: usize) -> Result<Self> {
        let t_len = forcing.len();
        Self::new(
            Observations::new(t_len, n_series, vec![0.0; t_len * n_series], 1, forcing)?,
            vec![0.0; t_len],
            1.0,
        )
    }
}

impl KBoxEbm {
    /// A model; `boxes` must be 2 or 3.
    pub fn new(boxes: usize, stochastic_forcing: bool, observe_flux: bool) -> Result<Self> {
        if !(2..=3).contains(&boxes) {
            return Err(Error::InvalidArgument {
                op: "KBoxEbm",
                message: format!("number of boxes must be 2 or 3, got {boxes}"),
            });
        }
        Ok(Self {
            boxes,
            stochastic_forcing,
            observe_flux,
        })
    }

    /// State dimension: k, plus one for the forcing state.
    pub fn n_state(&self) -> usize {
        self.boxes + usize::from(self.stochastic_forcing)
    }

    /// Index of T₁ in the state.
    pub fn t1_index(&self) -> usize {
        usize::from(self.stochastic_forcing)
    }

    /// Observation dimension.
    pub fn n_obs(&self) -> usize {
        1 + usize::from(self.observe_flux)
    }

    /// Parameter names in canonical order (the order of [`KBoxEbm::params_from_slice`]).
    pub fn param_names(&self) -> Vec<String> {
        let k = self.boxes;
        let mut v: Vec<String> = (1..=k).map(|i| format!("C{i}")).collect();
        v.extend((1..=k).map(|i| format!("kappa{i}")));
        v.push("epsilon".into());
        v.push("sigma_xi".into());
        if self.stochastic_forcing {
            v.push("gamma".into());
            v.push("sigma_eta".into());
        }
        v.push("F".into());
        v.push("sigma_T".into());
        if self.observe_flux {
            v.push("sigma_N".into());
        }
        v.push("T0".into());
        v
    }

    /// Whether a parameter must be positive (heat capacities, exchange coefficients,
    /// efficacy, forcing rate and scale); noise scales may be zero, the offset any value.
    pub fn is_positive(name: &str) -> bool {
        !(name == "T0" || name.starts_with("sigma"))
    }

    /// The parameters from a slice in [`KBoxEbm::param_names`] order.
    pub fn params_from_slice<R: Real>(&self, v: &[R]) -> Result<EbmParams<R>> {
        let names = self.param_names();
        if v.len() != names.len() {
            return Err(Error::ShapeMismatch {
                op: "KBoxEbm",
                arg: "parameters",
                expected: format!("{} values ({})", names.len(), names.join(", ")),
                found: format!("{} values", v.len()),
            });
        }
        let k = self.boxes;
        let mut i = 2 * k;
        let mut next = || {
            let x = v[i];
            i += 1;
            x
        };
        let epsilon = next();
        let sigma_xi = next();
        let (gamma, sigma_eta) = if self.stochastic_forcing {
            (next(), next())
        } else {
            (R::zero(), R::zero())
        };
        let forcing_scale = next();
        let sigma_t = next();
        let sigma_n = if self.observe_flux { next() } else { R::zero() };
        let offset = next();
        Ok(EbmParams {
            c: v[..k].to_vec(),
            kappa: v[k..2 * k].to_vec(),
            epsilon,
            sigma_xi,
            gamma,
            sigma_eta,
            forcing_scale,
            sigma_t,
            sigma_n,
            offset,
        })
    }

    /// The parameters as a vector in [`KBoxEbm::param_names`] order.
    pub fn params_to_vec<R: Real>(&self, p: &EbmParams<R>) -> Vec<R> {
        let mut v = p.c.clone();
        v.extend_from_slice(&p.kappa);
        v.push(p.epsilon);
        v.push(p.sigma_xi);
        if self.stochastic_forcing {
            v.push(p.gamma);
            v.push(p.sigma_eta);
        }
        v.push(p.forcing_scale);
        v.push(p.sigma_t);
        if self.observe_flux {
            v.push(p.sigma_n);
        }
        v.push(p.offset);
        v
    }

    fn check_params<R: Real>(&self, p: &EbmParams<R>) -> Result<()> {
        let names = self.param_names();
        for (name, v) in names.iter().zip(self.params_to_vec(p)) {
            let x = v.value();
            let ok = if Self::is_positive(name) {
                x > 0.0 && x.is_finite()
            } else {
                x.is_finite()
            };
            if !ok {
                return Err(Error::InvalidArgument {
                    op: "KBoxEbm",
                    message: format!(
                        "parameter {name} = {x} is invalid (must be positive and finite)"
                    ),
                });
            }
        }
        Ok(())
    }

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
            h[1 + (o + k - 2) * m] += tail;
            h[1 + (o + k - 1) * m] -= tail;
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

/// The k-box model written a second time, directly from the scalar equations of Cummins,
/// Stephenson & Stott (2020): eqs. (1)–(3) for the boxes with the efficacy ε on the
/// exchange between the two deepest boxes, the stochastic forcing
/// dF = −γ (F − s·u) dt + σ_η dW_η, the temperature disturbance σ_ξ dW_ξ on C₁ dT₁, and
/// the top-of-atmosphere flux N = F − κ₁T₁ + (1 − ε) κ_k (T_{k−1} − T_k). Everything the
/// model builds (matrices, discretisation, observation row, stationary prior, moments of
/// the observations) is checked against this re-implementation, which never calls the
/// code above: matrices come from evaluating the scalar equations on unit vectors, the
/// discretisation from fine-step RK4 integration of the moment equations, the stationary
/// law from the continuous Lyapunov equation, the likelihood from a dense Gaussian.
#[cfg(test)]
mod tests {
    #![allow(clippy::needless_range_loop)]

    use faer::prelude::Solve;
    use faer::{Mat, Side};
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;
    use crate::ssm::kalman::kalman_loglik;

    /// The paper's parameters, in plain numbers.
    #[derive(Clone, Debug)]
    struct Paper {
        c: Vec<f64>,
        kappa: Vec<f64>,
        eps: f64,
        sigma_xi: f64,
        gamma: f64,
        sigma_eta: f64,
        s: f64,
        sigma_t: f64,
        sigma_n: f64,
        t0: f64,
        stochastic: bool,
    }

    impl Paper {
        fn random(k: usize, stochastic: bool, rng: &mut Xoshiro256PlusPlus) -> Self {
            let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.random::<f64>();
            let c = match k {
                2 => vec![u(4.0, 10.0), u(50.0, 150.0)],
                _ => vec![u(3.0, 9.0), u(10.0, 40.0), u(60.0, 200.0)],
            };
            let kappa = match k {
                2 => vec![u(0.8, 1.6), u(0.4, 1.0)],
                _ => vec![u(0.8, 1.6), u(1.0, 2.5), u(0.4, 1.2)],
            };
            Self {
                c,
                kappa,
                eps: u(0.6, 1.6),
                sigma_xi: u(0.2, 0.8),
                gamma: u(0.5, 3.0),
                sigma_eta: u(0.2, 0.8),
                s: u(0.8, 6.0),
                sigma_t: u(0.02, 0.2),
                sigma_n: u(0.1, 0.5),
                t0: u(-0.5, 0.5),
                stochastic,
            }
        }

        fn k(&self) -> usize {
            self.c.len()
        }

        fn n(&self) -> usize {
            self.k() + usize::from(self.stochastic)
        }

        /// The same values as the code's parameter struct.
        fn params(&self) -> EbmParams<f64> {
            EbmParams {
                c: self.c.clone(),
                kappa: self.kappa.clone(),
                epsilon: self.eps,
                sigma_xi: self.sigma_xi,
                gamma: if self.stochastic { self.gamma } else { 0.0 },
                sigma_eta: if self.stochastic { self.sigma_eta } else { 0.0 },
                forcing_scale: self.s,
                sigma_t: self.sigma_t,
                sigma_n: self.sigma_n,
                offset: self.t0,
            }
        }

        /// (F, T₁ … T_k) from a state [F?, T₁, …, T_k] and the input u.
        fn split<'a>(&self, x: &'a [f64], u: f64) -> (f64, &'a [f64]) {
            if self.stochastic {
                (x[0], &x[1..])
            } else {
                (self.s * u, x)
            }
        }

        /// The drift of the paper's equations, written out for k = 2 and k = 3.
        fn drift(&self, x: &[f64], u: f64) -> Vec<f64> {
            let (f, t) = self.split(x, u);
            let (c, kp, e) = (&self.c, &self.kappa, self.eps);
            let mut d = match self.k() {
                // C₁ dT₁ = F − κ₁T₁ − εκ₂(T₁ − T₂);  C₂ dT₂ = κ₂(T₁ − T₂).
                2 => vec![
                    (f - kp[0] * t[0] - e * kp[1] * (t[0] - t[1])) / c[0],
                    kp[1] * (t[0] - t[1]) / c[1],
                ],
                // C₁ dT₁ = F − κ₁T₁ − κ₂(T₁ − T₂);  C₂ dT₂ = κ₂(T₁ − T₂) − εκ₃(T₂ − T₃);
                // C₃ dT₃ = κ₃(T₂ − T₃).
                _ => vec![
                    (f - kp[0] * t[0] - kp[1] * (t[0] - t[1])) / c[0],
                    (kp[1] * (t[0] - t[1]) - e * kp[2] * (t[1] - t[2])) / c[1],
                    kp[2] * (t[1] - t[2]) / c[2],
                ],
            };
            if self.stochastic {
                // dF = −γ (F − s·u) dt.
                d.insert(0, -self.gamma * (f - self.s * u));
            }
            d
        }

        /// Standard deviations of the white noise on each state equation (per √yr).
        fn noise_sd(&self) -> Vec<f64> {
            let mut v = vec![0.0; self.k()];
            v[0] = self.sigma_xi / self.c[0];
            if self.stochastic {
                v.insert(0, self.sigma_eta);
            }
            v
        }

        /// N = F − κ₁T₁ + (1 − ε) κ_k (T_{k−1} − T_k).
        fn flux(&self, x: &[f64], u: f64) -> f64 {
            let (f, t) = self.split(x, u);
            let k = self.k();
            f - self.kappa[0] * t[0] + (1.0 - self.eps) * self.kappa[k - 1] * (t[k - 2] - t[k - 1])
        }

        /// The drift matrix A, column j = drift(e_j, 0) (column-major).
        fn a(&self) -> Vec<f64> {
            let n = self.n();
            let mut a = vec![0.0; n * n];
            for j in 0..n {
                let mut e = vec![0.0; n];
                e[j] = 1.0;
                let col = self.drift(&e, 0.0);
                a[j * n..(j + 1) * n].copy_from_slice(&col);
            }
            a
        }
    }

    fn matvec(a: &[f64], x: &[f64]) -> Vec<f64> {
        let n = x.len();
        (0..n)
            .map(|i| (0..n).map(|j| a[i + j * n] * x[j]).sum())
            .collect()
    }

    /// One RK4 step of y' = f(y).
    fn rk4(f: &dyn Fn(&[f64]) -> Vec<f64>, y: &[f64], h: f64) -> Vec<f64> {
        let add = |a: &[f64], b: &[f64], s: f64| -> Vec<f64> {
            a.iter().zip(b).map(|(x, y)| x + s * y).collect()
        };
        let k1 = f(y);
        let k2 = f(&add(y, &k1, 0.5 * h));
        let k3 = f(&add(y, &k2, 0.5 * h));
        let k4 = f(&add(y, &k3, h));
        (0..y.len())
            .map(|i| y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
            .collect()
    }

    /// Mean and covariance after `dt` from (m, P) with u held: m' = drift(m, u),
    /// P' = A P + P Aᵀ + diag(σ²) with A P built column by column from the drift.
    fn propagate(
        p: &Paper,
        m: &[f64],
        cov: &[f64],
        u: f64,
        dt: f64,
        steps: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        let n = p.n();
        let sd = p.noise_sd();
        let lyap = |v: &[f64]| -> Vec<f64> {
            // A V (columns through the linear drift), then A V + (A V)ᵀ + W.
            let mut av = vec![0.0; n * n];
            for j in 0..n {
                let col = p.drift(&v[j * n..(j + 1) * n], 0.0);
                av[j * n..(j + 1) * n].copy_from_slice(&col);
            }
            let mut out = vec![0.0; n * n];
            for j in 0..n {
                for i in 0..n {
                    out[i + j * n] = av[i + j * n] + av[j + i * n];
                }
                out[j + j * n] += sd[j] * sd[j];
            }
            out
        };
        let mean = |x: &[f64]| p.drift(x, u);
        let h = dt / steps as f64;
        let (mut m, mut c) = (m.to_vec(), cov.to_vec());
        for _ in 0..steps {
            m = rk4(&mean, &m, h);
            c = rk4(&lyap, &c, h);
        }
        (m, c)
    }

    /// Solves A P + P Aᵀ + W = 0 through the Kronecker sum (I ⊗ A + A ⊗ I) vec P = −vec W.
    fn continuous_lyapunov(p: &Paper) -> Vec<f64> {
        let n = p.n();
        let a = p.a();
        let sd = p.noise_sd();
        let nn = n * n;
        let sys = Mat::<f64>::from_fn(nn, nn, |r, c| {
            let (i, j) = (r % n, r / n);
            let (k, l) = (c % n, c / n);
            let mut v = 0.0;
            if j == l {
                v += a[i + k * n];
            }
            if i == k {
                v += a[j + l * n];
            }
            v
        });
        let rhs = Mat::<f64>::from_fn(nn, 1, |r, _| {
            let (i, j) = (r % n, r / n);
            if i == j { -sd[i] * sd[i] } else { 0.0 }
        });
        let sol = sys.full_piv_lu().solve(&rhs);
        (0..nn).map(|r| sol[(r, 0)]).collect()
    }

    fn cases() -> Vec<(Paper, KBoxEbm)> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2020);
        let mut out = Vec::new();
        for k in [2, 3] {
            for sf in [false, true] {
                for flux in [false, true] {
                    for _ in 0..2 {
                        out.push((
                            Paper::random(k, sf, &mut rng),
                            KBoxEbm::new(k, sf, flux).unwrap(),
                        ));
                    }
                }
            }
        }
        out
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300) || (a - b).abs() <= 1e-300
    }

    #[test]
    fn continuous_matrices_are_the_papers_equations() {
        for (paper, ebm) in cases() {
            let sde = ebm.continuous(&paper.params()).unwrap();
            let n = paper.n();
            assert_eq!(sde.n, n);
            let a = paper.a();
            let b = paper.drift(&vec![0.0; n], 1.0);
            let sd = paper.noise_sd();
            for j in 0..n {
                assert!(
                    close(sde.b[j], b[j], 1e-14),
                    "{ebm:?} B[{j}]: {} vs {}",
                    sde.b[j],
                    b[j]
                );
                for i in 0..n {
                    let idx = i + j * n;
                    assert!(
                        close(sde.a[idx], a[idx], 1e-14),
                        "{ebm:?} A[{i},{j}]: {} vs {}",
                        sde.a[idx],
                        a[idx]
                    );
                    let w = if i == j { sd[i] * sd[i] } else { 0.0 };
                    assert!(
                        close(sde.w[idx], w, 1e-14),
                        "{ebm:?} W[{i},{j}]: {} vs {w}",
                        sde.w[idx]
                    );
                }
            }
        }
    }

    #[test]
    fn observation_rows_are_the_papers_temperature_and_flux() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for (paper, ebm) in cases() {
            let t_len = 4;
            let m = ebm.n_obs();
            let u: Vec<f64> = (0..t_len).map(|t| 0.3 + 0.7 * t as f64).collect();
            let data = EbmData::new(
                Observations::new(t_len, m, vec![0.0; t_len * m], 1, u.clone()).unwrap(),
                vec![0.01, 0.0, 0.02, 0.0],
                1.0,
            )
            .unwrap();
            let ssm = ebm
                .state_space(&paper.params(), &data, &EbmPrior::AtRest)
                .unwrap();
            let n = paper.n();
            for t in 0..t_len {
                let x: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
                let (h, d) = (ssm.h.at(t), ssm.d.at(t));
                let y: Vec<f64> = (0..m)
                    .map(|i| d[i] + (0..n).map(|j| h[i + j * m] * x[j]).sum::<f64>())
                    .collect();
                let t1 = x[usize::from(paper.stochastic)];
                assert!(
                    close(y[0], t1 + paper.t0, 1e-14),
                    "{ebm:?}: T {} vs {}",
                    y[0],
                    t1 + paper.t0
                );
                if m == 2 {
                    let nf = paper.flux(&x, u[t]);
                    assert!(
                        close(y[1], nf, 1e-13),
                        "{ebm:?} step {t}: N {} vs {nf}",
                        y[1]
                    );
                }
                let r = ssm.r.at(t);
                let kv = data.known_var[t];
                assert!(close(r[0], paper.sigma_t.powi(2) + kv, 1e-14));
                if m == 2 {
                    assert_eq!(r[1], 0.0);
                    assert!(close(r[3], paper.sigma_n.powi(2), 1e-14));
                }
            }
        }
    }

    #[test]
    fn flux_is_the_rate_of_heat_uptake_of_the_boxes() {
        // Energy conservation: the net downward flux at the top of the atmosphere is the
        // heat taken up by the boxes, N = Σᵢ Cᵢ dTᵢ/dt (deterministic part), with the
        // efficacy acting as an extra feedback (Held et al. 2010). Checked on the code's
        // drift matrix and flux row, independently of the paper's formula for N.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        for (paper, ebm) in cases().into_iter().filter(|(_, e)| e.observe_flux) {
            let p = paper.params();
            let sde = ebm.continuous(&p).unwrap();
            let data = EbmData::new(
                Observations::new(1, 2, vec![0.0; 2], 1, vec![0.0]).unwrap(),
                vec![0.0],
                1.0,
            )
            .unwrap();
            let n = paper.n();
            let o = ebm.t1_index();
            for _ in 0..5 {
                let x: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
                let u: f64 = rng.sample(StandardNormal);
                let data = EbmData {
                    obs: Observations::new(1, 2, vec![0.0; 2], 1, vec![u]).unwrap(),
                    ..data.clone()
                };
                let ssm = ebm.state_space(&p, &data, &EbmPrior::AtRest).unwrap();
                let (h, d) = (ssm.h.at(0), ssm.d.at(0));
                let flux = d[1] + (0..n).map(|j| h[1 + j * 2] * x[j]).sum::<f64>();
                let ax = matvec(&sde.a, &x);
                let uptake: f64 = (0..ebm.boxes)
                    .map(|i| p.c[i] * (ax[o + i] + sde.b[o + i] * u))
                    .sum();
                assert!(
                    close(flux, uptake, 1e-12),
                    "{ebm:?}: N {flux} vs Σ C dT/dt {uptake}"
                );
            }
        }
    }

    #[test]
    fn exact_discretisation_matches_fine_step_integration_of_the_papers_equations() {
        for (paper, ebm) in cases().into_iter().filter(|(_, e)| !e.observe_flux) {
            let sde = ebm.continuous(&paper.params()).unwrap();
            let n = paper.n();
            for dt in [1.0, 0.25] {
                let disc = discretize(&sde, dt).unwrap();
                let steps = 400;
                // Φ column j: the mean from e_j without input; Γ: the mean from 0 with u = 1.
                for j in 0..n {
                    let mut e = vec![0.0; n];
                    e[j] = 1.0;
                    let (col, _) = propagate(&paper, &e, &vec![0.0; n * n], 0.0, dt, steps);
                    for i in 0..n {
                        let v = disc.phi[i + j * n];
                        assert!(
                            (v - col[i]).abs() < 1e-11,
                            "{ebm:?} Φ[{i},{j}] {v} vs {}",
                            col[i]
                        );
                    }
                }
                let (g, q) = propagate(&paper, &vec![0.0; n], &vec![0.0; n * n], 1.0, dt, steps);
                for i in 0..n {
                    assert!(
                        close(disc.gamma[i], g[i], 1e-9) || (disc.gamma[i] - g[i]).abs() < 1e-13,
                        "{ebm:?} Γ[{i}] {} vs {}",
                        disc.gamma[i],
                        g[i]
                    );
                    for j in 0..n {
                        let (a, b) = (disc.q[i + j * n], q[i + j * n]);
                        let scale = (q[i + i * n] * q[j + j * n]).sqrt();
                        assert!(
                            (a - b).abs() < 1e-9 * scale,
                            "{ebm:?} Q[{i},{j}] {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn stationary_prior_is_the_continuous_stationary_law() {
        for (paper, ebm) in cases().into_iter().filter(|(_, e)| !e.observe_flux) {
            let data = EbmData::new(
                Observations::new(1, 1, vec![0.0], 1, vec![0.0]).unwrap(),
                vec![0.0],
                1.0,
            )
            .unwrap();
            let ssm = ebm
                .state_space(&paper.params(), &data, &EbmPrior::Stationary)
                .unwrap();
            let p_inf = continuous_lyapunov(&paper);
            let n = paper.n();
            for idx in 0..n * n {
                let (i, j) = (idx % n, idx / n);
                let scale = (p_inf[i + i * n] * p_inf[j + j * n]).sqrt();
                assert!(
                    (ssm.p1[idx] - p_inf[idx]).abs() < 1e-8 * scale,
                    "{ebm:?} P∞[{i},{j}] {} vs {}",
                    ssm.p1[idx],
                    p_inf[idx]
                );
            }
            assert!(ssm.m1.iter().all(|&v| v == 0.0));
        }
    }

    /// log N(y | μ, Σ) over the observed entries, with μ and Σ propagated from the paper's
    /// equations: x₁ ~ N(0, P₀), state moments over each year by fine-step integration with
    /// the year's forcing held, Cov(x_t, x_s) = Φ^{t−s} P_s with Φ integrated too.
    fn independent_loglik(
        paper: &Paper,
        m: usize,
        y: &[f64],
        u: &[f64],
        kv: &[f64],
        p0: &[f64],
    ) -> f64 {
        let n = paper.n();
        let t_len = u.len();
        let steps = 200;
        // Φ over one year, column by column.
        let mut phi = vec![0.0; n * n];
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            let (col, _) = propagate(paper, &e, &vec![0.0; n * n], 0.0, 1.0, steps);
            phi[j * n..(j + 1) * n].copy_from_slice(&col);
        }
        let mut means = vec![vec![0.0; n]];
        let mut covs = vec![p0.to_vec()];
        for t in 0..t_len - 1 {
            let (mm, cc) = propagate(paper, &means[t], &covs[t], u[t], 1.0, steps);
            means.push(mm);
            covs.push(cc);
        }
        // cross[t][s] = Cov(x_t, x_s) for s ≤ t.
        let cross = |t: usize, s: usize| -> Vec<f64> {
            let mut c = covs[s].clone();
            for _ in s..t {
                let mut next = vec![0.0; n * n];
                for j in 0..n {
                    let col = matvec(&phi, &c[j * n..(j + 1) * n]);
                    next[j * n..(j + 1) * n].copy_from_slice(&col);
                }
                c = next;
            }
            c
        };
        // The observation functionals as row vectors: T₁ + T₀ and N (linear in x plus the
        // forcing term), from the paper's formulas evaluated on unit vectors.
        let row = |i: usize, t: usize| -> (Vec<f64>, f64) {
            let zero = vec![0.0; n];
            let f0 = |x: &[f64]| {
                if i == 0 {
                    x[usize::from(paper.stochastic)]
                } else {
                    paper.flux(x, 0.0)
                }
            };
            let r: Vec<f64> = (0..n)
                .map(|j| {
                    let mut e = zero.clone();
                    e[j] = 1.0;
                    f0(&e)
                })
                .collect();
            let c = if i == 0 {
                paper.t0
            } else {
                paper.flux(&zero, u[t])
            };
            (r, c)
        };
        let mut idx = Vec::new();
        for t in 0..t_len {
            for i in 0..m {
                if !y[t * m + i].is_nan() {
                    idx.push((t, i));
                }
            }
        }
        let k = idx.len();
        let mut mu = vec![0.0; k];
        let mut sig = Mat::<f64>::zeros(k, k);
        for (a, &(t, i)) in idx.iter().enumerate() {
            let (r, c) = row(i, t);
            mu[a] = c + (0..n).map(|j| r[j] * means[t][j]).sum::<f64>();
            for (b, &(s, l)) in idx.iter().enumerate() {
                let (r2, _) = row(l, s);
                let (hi, lo, rh, rl) = if t >= s {
                    (t, s, &r, &r2)
                } else {
                    (s, t, &r2, &r)
                };
                let c = cross(hi, lo);
                let mut v = 0.0;
                for jj in 0..n {
                    for ii in 0..n {
                        v += rh[ii] * c[ii + jj * n] * rl[jj];
                    }
                }
                if t == s && i == l {
                    v += if i == 0 {
                        paper.sigma_t.powi(2) + kv[t]
                    } else {
                        paper.sigma_n.powi(2)
                    };
                }
                sig[(a, b)] = v;
            }
        }
        let llt = sig.llt(Side::Lower).unwrap();
        let l = llt.L();
        let mut z: Vec<f64> = idx
            .iter()
            .enumerate()
            .map(|(a, &(t, i))| y[t * m + i] - mu[a])
            .collect();
        for i in 0..k {
            let mut s = z[i];
            for j in 0..i {
                s -= l[(i, j)] * z[j];
            }
            z[i] = s / l[(i, i)];
        }
        let quad: f64 = z.iter().map(|v| v * v).sum();
        let logdet: f64 = (0..k).map(|i| l[(i, i)].ln()).sum::<f64>() * 2.0;
        -0.5 * (quad + logdet + k as f64 * (2.0 * std::f64::consts::PI).ln())
    }

    #[test]
    fn likelihood_equals_the_dense_gaussian_of_the_papers_sde() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
        for (paper, ebm) in cases() {
            let t_len = 7;
            let m = ebm.n_obs();
            let u: Vec<f64> = (0..t_len)
                .map(|t| 0.2 * t as f64 + if t == 3 { -1.5 } else { 0.0 })
                .collect();
            let kv: Vec<f64> = (0..t_len)
                .map(|t| if t % 2 == 0 { 0.003 * t as f64 } else { 0.0 })
                .collect();
            let mut y: Vec<f64> = (0..t_len * m)
                .map(|_| 0.5 * rng.sample::<f64, _>(StandardNormal))
                .collect();
            y[2 * m] = f64::NAN; // a missing year
            let data = EbmData::new(
                Observations::new(t_len, m, y.clone(), 1, u.clone()).unwrap(),
                kv.clone(),
                1.0,
            )
            .unwrap();
            for prior in [EbmPrior::Stationary, EbmPrior::AtRest] {
                let ssm = ebm.state_space(&paper.params(), &data, &prior).unwrap();
                let ll = kalman_loglik(&ssm, &data.obs).unwrap();
                let p0 = match prior {
                    EbmPrior::Stationary => continuous_lyapunov(&paper),
                    _ => vec![0.0; paper.n().pow(2)],
                };
                let reference = independent_loglik(&paper, m, &y, &u, &kv, &p0);
                assert!(
                    (ll - reference).abs() < 1e-7 * reference.abs().max(1.0),
                    "{ebm:?} {prior:?}: Kalman {ll} vs dense {reference}"
                );
            }
        }
    }

    #[test]
    fn moments_match_an_euler_maruyama_simulation_of_the_scalar_equations() {
        // Paths of the paper's scalar SDEs from rest (step forcing u = 1), simulated with
        // Euler–Maruyama at h = 1/200 yr; after 3 years the sample mean and covariance of
        // (T₁, N) against the model's moments (state-space recursion from rest).
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let paper = Paper::random(3, true, &mut rng);
        let ebm = KBoxEbm::new(3, true, true).unwrap();
        let n = paper.n();
        let (years, sub, paths) = (3usize, 200usize, 4000usize);
        let h = 1.0 / sub as f64;
        let sd = paper.noise_sd();
        let mut samples = Vec::with_capacity(paths);
        for _ in 0..paths {
            let mut x = vec![0.0; n];
            for _ in 0..years * sub {
                let d = paper.drift(&x, 1.0);
                for i in 0..n {
                    let dw: f64 = rng.sample::<f64, _>(StandardNormal) * h.sqrt();
                    x[i] += d[i] * h + sd[i] * dw;
                }
            }
            samples.push([x[1], paper.flux(&x, 1.0)]);
        }
        // The model's moments of (T₁, N) at step `years` from x₁ = 0 (prior at rest).
        let t_len = years + 1;
        let data = EbmData::new(
            Observations::new(t_len, 2, vec![0.0; 2 * t_len], 1, vec![1.0; t_len]).unwrap(),
            vec![0.0; t_len],
            1.0,
        )
        .unwrap();
        let ssm = ebm
            .state_space(&paper.params(), &data, &EbmPrior::AtRest)
            .unwrap();
        let (f, b, q, hh) = (ssm.f.at(0), ssm.b.at(0), ssm.q.at(0), ssm.h.at(0));
        let mut mean = vec![0.0; n];
        let mut cov = vec![0.0; n * n];
        for _ in 0..years {
            let mut next = matvec(f, &mean);
            for i in 0..n {
                next[i] += b[i];
            }
            mean = next;
            let mut fc = vec![0.0; n * n];
            for j in 0..n {
                let col = matvec(f, &cov[j * n..(j + 1) * n]);
                fc[j * n..(j + 1) * n].copy_from_slice(&col);
            }
            let mut c2 = q.to_vec();
            for i in 0..n {
                for j in 0..n {
                    c2[i + j * n] += (0..n).map(|l| fc[i + l * n] * f[j + l * n]).sum::<f64>();
                }
            }
            cov = c2;
        }
        let obs_row = |i: usize| -> Vec<f64> { (0..n).map(|j| hh[i + j * 2]).collect() };
        let (r0, r1) = (obs_row(0), obs_row(1));
        let d = ssm.d.at(years);
        let mom = |ra: &[f64], rb: &[f64]| -> f64 {
            (0..n)
                .map(|i| (0..n).map(|j| ra[i] * cov[i + j * n] * rb[j]).sum::<f64>())
                .sum()
        };
        let model_mean = [
            d[0] + (0..n).map(|j| r0[j] * mean[j]).sum::<f64>(),
            d[1] + (0..n).map(|j| r1[j] * mean[j]).sum::<f64>(),
        ];
        let model_cov = [
            [mom(&r0, &r0), mom(&r0, &r1)],
            [mom(&r1, &r0), mom(&r1, &r1)],
        ];
        let np = paths as f64;
        let smean = [0, 1].map(|a| samples.iter().map(|s| s[a]).sum::<f64>() / np);
        for a in 0..2 {
            // The EM scheme's bias at this step is O(h) ≪ the Monte Carlo error.
            let se = (model_cov[a][a] / np).sqrt();
            let z = (smean[a] - model_mean[a] + if a == 0 { paper.t0 } else { 0.0 }) / se;
            assert!(
                z.abs() < 4.0,
                "mean {a}: sample {} model {} (z {z})",
                smean[a],
                model_mean[a]
            );
            for bb in 0..2 {
                let scov = samples
                    .iter()
                    .map(|s| (s[a] - smean[a]) * (s[bb] - smean[bb]))
                    .sum::<f64>()
                    / (np - 1.0);
                // Standard error of a sample covariance of Gaussians: √((σ_aa σ_bb + σ_ab²)/N).
                let se =
                    ((model_cov[a][a] * model_cov[bb][bb] + model_cov[a][bb].powi(2)) / np).sqrt();
                let z = (scov - model_cov[a][bb]) / se;
                assert!(
                    z.abs() < 4.0,
                    "cov {a}{bb}: sample {scov} model {} (z {z})",
                    model_cov[a][bb]
                );
            }
        }
    }
}
