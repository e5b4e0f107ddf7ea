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
