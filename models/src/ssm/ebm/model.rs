//! The k-box stochastic energy-balance model: its structure ([`KBoxEbm`]), parameters
//! ([`EbmParams`]), data ([`EbmData`]) and first-state distribution ([`EbmPrior`]); the
//! model as a continuous-time SDE and as a discretised state-space model is built in
//! `state_space.rs`, its deterministic response in [`response`](super::response).
//!
//! Boxes i = 1 … k (k = 1, 2, 3) with temperatures Tᵢ and heat capacities Cᵢ (Cummins,
//! Stephenson & Stott 2020, J. Climate 33, 7909–7926, doi:10.1175/JCLI-D-19-0589.1,
//! eqs. (1)–(3)):
//!
//! $$ C_1\\,dT_1 = [F − κ_1 T_1 − ε_1 κ_2 (T_1 − T_2)]\\,dt + σ_ξ\\,dW_ξ, $$
//! $$ C_i\\,dT_i = [κ_i (T_{i−1} − T_i) − ε_i κ_{i+1} (T_i − T_{i+1})]\\,dt,\\quad
//!    C_k\\,dT_k = κ_k (T_{k−1} − T_k)\\,dt, $$
//!
//! where the deep-ocean efficacy ε multiplies the exchange between boxes k−1 and k
//! (εᵢ = ε for i = k − 1, else 1; the one-box model C₁ dT₁ = (F − κ₁T₁) dt + σ_ξ dW_ξ
//! has no efficacy). The forcing F is either
//!
//! * the external forcing s·u(t) itself (`stochastic_forcing = false`), with u a given
//!   series (e.g. historical effective radiative forcing, s = 1) or a step (u = 1,
//!   s = F₄ₓ), or
//! * a state relaxing to it, dF = γ (s·u − F) dt + σ_η dW_η (Cummins et al. 2020, eq. (8):
//!   the stochastic forcing of the paper).
//!
//! Observations: the top-box temperature y_T = T₁ + T₀ + v_T, v_T ~ N(0, σ_T² + known
//! variance), and optionally the top-of-atmosphere net flux
//! y_N = F − κ₁T₁ + (1 − ε) κ_k (T_{k−1} − T_k) + v_N (N = F − κ₁T₁ for one box). The
//! model is discretised exactly over the data's step
//! ([`discretize`](mod@crate::ssm::discretize)).

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::ssm::model::Observations;

/// The structure of a k-box model (which parameters exist and what is observed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KBoxEbm {
    /// Number of boxes k (1, 2 or 3).
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
    /// Deep-ocean heat-uptake efficacy ε (unused, and not a parameter, with one box).
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
            return Err(Error::invalid_option(
                "EbmData",
                format!("known_var[{i}]"),
                known_var[i],
                "a finite observation variance ≥ 0",
            ));
        }
        if dt <= 0.0 || !dt.is_finite() {
            return Err(Error::invalid_option(
                "EbmData",
                "dt",
                dt,
                "a finite time step > 0 (years)",
            ));
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
    /// A model; `boxes` must be 1, 2 or 3.
    pub fn new(boxes: usize, stochastic_forcing: bool, observe_flux: bool) -> Result<Self> {
        if !(1..=3).contains(&boxes) {
            return Err(Error::invalid_option(
                "KBoxEbm",
                "boxes",
                boxes,
                "1, 2 or 3",
            ));
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

    /// Whether the model has a deep-ocean efficacy ε (two boxes or more).
    pub fn has_efficacy(&self) -> bool {
        self.boxes >= 2
    }

    /// Parameter names in canonical order (the order of [`KBoxEbm::params_from_slice`]):
    /// `C1 … Ck, kappa1 … kappak, epsilon (k ≥ 2), sigma_xi, [gamma, sigma_eta], F,
    /// sigma_T, [sigma_N], T0`.
    pub fn param_names(&self) -> Vec<String> {
        let k = self.boxes;
        let mut v: Vec<String> = (1..=k).map(|i| format!("C{i}")).collect();
        v.extend((1..=k).map(|i| format!("kappa{i}")));
        if self.has_efficacy() {
            v.push("epsilon".into());
        }
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
        let epsilon = if self.has_efficacy() {
            next()
        } else {
            R::one()
        };
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
        if self.has_efficacy() {
            v.push(p.epsilon);
        }
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

    /// Checks the lengths of the heat capacities and exchange coefficients, and every
    /// value: positive and finite ([`KBoxEbm::is_positive`]) or finite.
    pub(super) fn check_params<R: Real>(&self, p: &EbmParams<R>) -> Result<()> {
        for (arg, len) in [("c", p.c.len()), ("kappa", p.kappa.len())] {
            if len != self.boxes {
                return Err(Error::ShapeMismatch {
                    op: "KBoxEbm",
                    arg,
                    expected: format!("{} values (one per box)", self.boxes),
                    found: format!("{len} values"),
                });
            }
        }
        let names = self.param_names();
        for (name, v) in names.iter().zip(self.params_to_vec(p)) {
            let x = v.value();
            let ok = if Self::is_positive(name) {
                x > 0.0 && x.is_finite()
            } else {
                x.is_finite()
            };
            if !ok {
                return Err(Error::invalid_option(
                    "KBoxEbm",
                    name.clone(),
                    x,
                    if Self::is_positive(name) {
                        "positive and finite"
                    } else {
                        "finite"
                    },
                ));
            }
        }
        Ok(())
    }
}
