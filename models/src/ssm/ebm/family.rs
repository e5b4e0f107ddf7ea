//! The k-box EBM as a parametrised state-space family for maximum-likelihood fitting
//! ([`fit_mle`](crate::ssm::fit::fit_mle)), and its derived climate-sensitivity figures
//! for the delta method.

use mechml_engine::Result;
use mechml_engine::ad::Real;
use mechml_engine::param::{Param, ParamLayout};

use super::model::{EbmData, EbmPrior, KBoxEbm};
use super::sensitivity;
use crate::ssm::fit::{Derived, ParametricSsm};
use crate::ssm::model::{LinearGaussianSsm, Observations};

/// A k-box model with its data and prior.
#[derive(Clone, Debug)]
pub struct EbmFamily {
    /// Structure.
    pub ebm: KBoxEbm,
    /// Data (observations, forcing, known variance, step).
    pub data: EbmData,
    /// Distribution of the first state.
    pub prior: EbmPrior,
}

impl ParametricSsm for EbmFamily {
    fn param_names(&self) -> Vec<String> {
        self.ebm.param_names()
    }
    fn build<R: Real>(&self, theta: &[R]) -> Result<LinearGaussianSsm<R>> {
        let p = self.ebm.params_from_slice(theta)?;
        self.ebm.state_space(&p, &self.data, &self.prior)
    }
    fn observations(&self) -> &Observations {
        &self.data.obs
    }
}

/// Equilibrium climate sensitivity F₂ₓ/κ₁ as a derived quantity.
pub struct Ecs {
    /// Structure (for the parameter layout).
    pub ebm: KBoxEbm,
    /// Forcing of doubled CO₂; `None` uses F/2 (the step model's F₄ₓ/2).
    pub f2x: Option<f64>,
}

impl Derived for Ecs {
    fn eval<R: Real>(&self, theta: &[R]) -> Result<R> {
        let p = self.ebm.params_from_slice(theta)?;
        let f2x = match self.f2x {
            Some(v) => R::from_f64(v),
            None => p.forcing_scale * 0.5,
        };
        Ok(sensitivity::ecs(&p, f2x))
    }
}

/// Transient climate response as a derived quantity.
pub struct Tcr {
    /// Structure.
    pub ebm: KBoxEbm,
    /// Forcing of doubled CO₂; `None` uses F/2.
    pub f2x: Option<f64>,
}

impl Derived for Tcr {
    fn eval<R: Real>(&self, theta: &[R]) -> Result<R> {
        let p = self.ebm.params_from_slice(theta)?;
        let f2x = match self.f2x {
            Some(v) => R::from_f64(v),
            None => p.forcing_scale * 0.5,
        };
        sensitivity::tcr(&self.ebm, &p, f2x)
    }
}

/// Default parameters for fitting the temperature record: heat capacities, exchange
/// coefficients, efficacy and noise free (log scale), the offset T₀ free (real), the
/// forcing scale held at 1 (the forcing series is in W m⁻²), the extra observation noise
/// σ_T held at `sigma_t` (e.g. 0 when the data carry their own uncertainty), and the
/// efficacy held at `fix_epsilon` when given. Starting values are typical of the
/// historical record (C₁ = 8, C₂ = 100 (2 boxes) or 20, C₃ = 150, κ₁ = 1.2, …).
///
/// ```
/// use mechml_models::ssm::ebm::{KBoxEbm, family::default_params};
/// let ebm = KBoxEbm::new(2, false, false)?;
/// let params = default_params(&ebm, 0.0, Some(1.0))?;
/// assert_eq!(params.free_names(), ["C1", "C2", "kappa1", "kappa2", "sigma_xi", "T0"]);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn default_params(
    ebm: &KBoxEbm,
    sigma_t: f64,
    fix_epsilon: Option<f64>,
) -> Result<ParamLayout> {
    let params = ebm
        .param_names()
        .iter()
        .map(|name| {
            let n = name.as_str();
            let init = match n {
                "C1" => 8.0,
                "C2" => {
                    if ebm.boxes == 2 {
                        100.0
                    } else {
                        20.0
                    }
                }
                "C3" => 150.0,
                "kappa1" => 1.2,
                "kappa2" => {
                    if ebm.boxes == 2 {
                        0.7
                    } else {
                        1.5
                    }
                }
                "kappa3" => 0.7,
                "epsilon" => 1.0,
                "sigma_xi" => 0.5,
                "gamma" => 2.0,
                "sigma_eta" => 0.5,
                "F" => 1.0,
                "sigma_T" => sigma_t,
                "sigma_N" => 0.5,
                _ => 0.0,
            };
            match (n, fix_epsilon) {
                ("F", _) => Param::real(n, 1.0).held(),
                ("sigma_T", _) => Param::real(n, sigma_t).held(),
                ("epsilon", Some(eps)) => Param::real(n, eps).held(),
                ("T0", _) => Param::real(n, init),
                _ => Param::positive(n, init),
            }
        })
        .collect();
    ParamLayout::new(params)
}
