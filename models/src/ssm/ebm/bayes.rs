//! Bayesian fitting and likelihood-based intervals of the k-box EBM on
//! [`engine::infer`](mechml_engine::infer): the Kalman log-likelihood (one tape block)
//! as a [`LogDensity`] over the free unconstrained coordinates of a [`ParamLayout`]
//! ([`EbmDensity`]), with or without priors; the documented default priors
//! ([`default_prior`], [`PriorSet`]); NUTS over it ([`sample_posterior`]); and the
//! profile-likelihood intervals of the free parameters ([`profile_intervals`]).
//!
//! On the unconstrained scale `z` (θ = T(z)),
//! `ln p(z | y) = ln L(θ(z)) + Σᵢ ln πᵢ(θᵢ) + ln |det ∂θ/∂z|` (Carpenter et al. 2017,
//! J. Stat. Softw. 76(1), §3); the profile uses `ln L` alone, so its intervals do not
//! depend on the parametrisation.

use faer::Mat;
use mechml_engine::ad::{Adjoints, Tape};
use mechml_engine::infer::{
    LogDensity, NutsOptions, Posterior, Prior, Profile, ProfileOptions, profile, sample,
};
use mechml_engine::optim::LbfgsOptions;
use mechml_engine::param::ParamLayout;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::family::EbmFamily;
use super::model::KBoxEbm;
use crate::ssm::fit::{ParametricSsm, observed_information};
use crate::ssm::loglik_op::kalman_loglik_tape;

fn check_len(op: &'static str, arg: &'static str, found: usize, expected: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            arg,
            expected: format!("length {expected}"),
            found: format!("length {found}"),
        })
    }
}

/// Which default priors: the central set, or the same centres with every log-scale
/// (or scale) doubled, for prior-sensitivity checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorSet {
    /// Centred on CMIP5 multi-model values (see [`default_prior`]).
    Cmip5,
    /// The same centres, scales doubled (log-sd 0.6 → 1.2 and so on).
    Wide,
}

/// The documented default prior of parameter `name` of `ebm`.
///
/// Heat capacities (W yr m⁻² K⁻¹) and exchange coefficients (W m⁻² K⁻¹) are log-normal,
/// centred on rounded CMIP5 multi-model values: for 2 boxes the two-layer fits of
/// Geoffroy et al. (2013, J. Climate 26, 1841–1857, Table 3: C ≈ 7.3, C₀ ≈ 106,
/// λ ≈ 1.13, γ ≈ 0.73); for 3 boxes the three-box fits of Cummins, Stephenson & Stott
/// (2020, J. Climate 33, 7909–7926, Table 3: C₁ ≈ 4, C₂ ≈ 10, C₃ ≈ 75, κ₁ ≈ 1.1,
/// κ₂ ≈ 2, κ₃ ≈ 0.7). The log-sd is 0.6 for κ₁ (a factor 1.8 at one sd: ECS = F₂ₓ/κ₁
/// between about 1.8 and 6 K at one sd) and 0.75 for the others. Efficacy ε: log-normal
/// at 1.28 (Geoffroy et al. 2013b), log-sd 0.3. Noise σ_ξ: log-normal at 0.5, log-sd 0.75.
/// Observation noise σ_T: half-normal, scale 0.2 K. Offset T₀: normal(0, 1) K. Stochastic
/// forcing γ, σ_η: log-normal at 2 yr⁻¹ and 0.5, log-sd 1. [`PriorSet::Wide`] doubles
/// every log-sd and scale.
///
/// ```
/// use mechml_engine::infer::Prior;
/// use mechml_models::ssm::ebm::{KBoxEbm, bayes::{PriorSet, default_prior}};
/// let ebm = KBoxEbm::new(2, false, false)?;
/// let p = default_prior(&ebm, "kappa1", PriorSet::Cmip5)?;
/// assert_eq!(p, Prior::LogNormal { mu: 1.13f64.ln(), sigma: 0.6 });
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn default_prior(ebm: &KBoxEbm, name: &str, set: PriorSet) -> Result<Prior> {
    let two = ebm.boxes <= 2;
    let ln = |centre: f64, s: f64| Prior::LogNormal {
        mu: centre.ln(),
        sigma: s,
    };
    let p = match name {
        "C1" => ln(if two { 7.3 } else { 4.0 }, 0.75),
        "C2" => ln(if two { 106.0 } else { 10.0 }, 0.75),
        "C3" => ln(75.0, 0.75),
        "kappa1" => ln(if two { 1.13 } else { 1.1 }, 0.6),
        "kappa2" => ln(if two { 0.73 } else { 2.0 }, 0.75),
        "kappa3" => ln(0.7, 0.75),
        "epsilon" => ln(1.28, 0.3),
        "sigma_xi" => ln(0.5, 0.75),
        "gamma" => ln(2.0, 1.0),
        "sigma_eta" => ln(0.5, 1.0),
        "sigma_N" => ln(0.5, 1.0),
        "F" => ln(1.0, 0.5),
        "sigma_T" => Prior::HalfNormal { sigma: 0.2 },
        "T0" => Prior::Normal {
            mu: 0.0,
            sigma: 1.0,
        },
        other => {
            return Err(Error::invalid_option(
                "ebm::bayes::default_prior",
                "name",
                other,
                format!("a parameter of the {}-box model", ebm.boxes),
            ));
        }
    };
    Ok(match (set, p) {
        (PriorSet::Cmip5, p) => p,
        (PriorSet::Wide, Prior::LogNormal { mu, sigma }) => Prior::LogNormal {
            mu,
            sigma: 2.0 * sigma,
        },
        (PriorSet::Wide, Prior::HalfNormal { sigma }) => Prior::HalfNormal { sigma: 2.0 * sigma },
        (PriorSet::Wide, Prior::Normal { mu, sigma }) => Prior::Normal {
            mu,
            sigma: 2.0 * sigma,
        },
        (PriorSet::Wide, p) => p,
    })
}

/// The log-likelihood (and, with priors, the log posterior) of an [`EbmFamily`] over the
/// free unconstrained coordinates `z` of a [`ParamLayout`]: the filter is one tape block,
/// the gradient one reverse sweep; [`LogDensity::constrain`] reports the free parameters
/// on their natural scale.
pub struct EbmDensity {
    family: EbmFamily,
    layout: ParamLayout,
    priors: Option<Vec<Prior>>,
    free: Vec<usize>,
    tape: Tape,
    adj: Adjoints,
}

impl Clone for EbmDensity {
    /// A copy with a fresh tape.
    fn clone(&self) -> Self {
        Self {
            family: self.family.clone(),
            layout: self.layout.clone(),
            priors: self.priors.clone(),
            free: self.free.clone(),
            tape: Tape::new(),
            adj: Adjoints::default(),
        }
    }
}

impl EbmDensity {
    /// The log-likelihood alone (for profiles and the Laplace approximation).
    pub fn likelihood(family: EbmFamily, layout: ParamLayout) -> Self {
        let free = layout.free_indices();
        Self {
            family,
            layout,
            priors: None,
            free,
            tape: Tape::new(),
            adj: Adjoints::default(),
        }
    }

    /// The log posterior with one prior per free parameter (in the layout's order of free
    /// parameters); the log-Jacobian of the layout's transforms is added.
    pub fn posterior(family: EbmFamily, layout: ParamLayout, priors: Vec<Prior>) -> Result<Self> {
        let free = layout.free_indices();
        if priors.len() != free.len() {
            return Err(Error::invalid_option(
                "EbmDensity::posterior",
                "priors",
                priors.len(),
                format!("one prior per free parameter ({})", free.len()),
            ));
        }
        for (p, &i) in priors.iter().zip(&free) {
            p.validate(&layout.params()[i].name)?;
        }
        Ok(Self {
            family,
            layout,
            priors: Some(priors),
            free,
            tape: Tape::new(),
            adj: Adjoints::default(),
        })
    }

    /// The layout (free and held parameters).
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The full natural-scale parameter vector at free unconstrained coordinates `z`.
    pub fn theta(&self, z: &[f64]) -> Result<Vec<f64>> {
        self.layout.natural(z)
    }

    /// The full natural-scale vector with the free parameters set to `free_values`
    /// (natural scale, as reported by [`LogDensity::constrain`] and stored in a
    /// [`Posterior`]).
    pub fn theta_from_free(&self, free_values: &[f64]) -> Result<Vec<f64>> {
        let mut theta = self.layout.values();
        check_len(
            "EbmDensity::theta_from_free",
            "free_values",
            free_values.len(),
            self.free.len(),
        )?;
        for (&i, &v) in self.free.iter().zip(free_values) {
            theta[i] = v;
        }
        Ok(theta)
    }
}

impl LogDensity for EbmDensity {
    fn dim(&self) -> usize {
        self.free.len()
    }

    fn log_density_grad(&mut self, z: &[f64], grad: &mut [f64]) -> Result<f64> {
        let n = self.free.len();
        check_len("EbmDensity", "z", z.len(), n)?;
        check_len("EbmDensity", "grad", grad.len(), n)?;
        self.tape.clear();
        let tape: &Tape = &self.tape;
        let zv = tape.vars(z);
        let th = self.layout.natural(&zv)?;
        // Outside the model's domain (rates so large that the discretisation overflows,
        // an innovation variance that is not positive): a point of zero density, which
        // samplers reject as divergent and optimisers step back from.
        let ll = self.family.build(&th).and_then(|ssm| {
            kalman_loglik_tape(
                tape,
                &ssm,
                self.family.observations(),
                self.family.kalman_gradient(),
            )
        });
        let Ok(mut lp) = ll else {
            grad.fill(0.0);
            return Ok(f64::NEG_INFINITY);
        };
        if let Some(priors) = &self.priors {
            for (p, &i) in priors.iter().zip(&self.free) {
                lp += p.log_pdf(th[i]);
            }
            lp += self.layout.log_jacobian(&zv)?;
        }
        tape.gradient_into(&lp, &mut self.adj)?;
        for (g, v) in grad.iter_mut().zip(&zv) {
            *g = self.adj.wrt(v);
        }
        Ok(lp.val())
    }

    /// The exact Hessian of the log-likelihood (forward over reverse); with priors it is
    /// not provided.
    fn hessian(&mut self, z: &[f64]) -> Result<Mat<f64>> {
        if self.priors.is_some() {
            return Err(Error::Unsupported {
                op: "EbmDensity::hessian",
                reason: "only the likelihood-only density has an exact Hessian".into(),
            });
        }
        let k = z.len();
        let info =
            observed_information(&self.family, &self.layout, z, self.family.kalman_gradient())?;
        Ok(Mat::from_fn(k, k, |i, j| -info[i + j * k]))
    }

    fn param_names(&self) -> Vec<String> {
        self.free
            .iter()
            .map(|&i| self.layout.params()[i].name.clone())
            .collect()
    }

    fn constrain(&self, z: &[f64]) -> Result<Vec<f64>> {
        let th = self.layout.natural(z)?;
        Ok(self.free.iter().map(|&i| th[i]).collect())
    }
}

/// Profile-likelihood 95 % intervals of every free parameter of `density` (which must be
/// likelihood-only), maximised from `z_hat` (e.g. a fit's optimum). Sides that do not
/// cross the threshold within `max_distance` on the unconstrained scale (a factor
/// e^`max_distance` for log-parameters) are reported open.
pub fn profile_intervals(
    density: &EbmDensity,
    z_hat: &[f64],
    max_distance: f64,
) -> Result<Profile> {
    if density.priors.is_some() {
        return Err(Error::invalid_option(
            "ebm::bayes::profile_intervals",
            "density",
            "a posterior",
            "the likelihood-only density (EbmDensity::likelihood)",
        ));
    }
    let opts = ProfileOptions {
        lbfgs: LbfgsOptions {
            grad_tol: 1e-5,
            f_tol: 1e-12,
            max_iters: 300,
            max_evals: 1200,
            record_params: false,
            ..LbfgsOptions::default()
        },
        max_doublings: 12,
        max_distance,
        tol: 1e-5,
        ..ProfileOptions::default()
    };
    let mut d = density.clone();
    profile(&mut d, z_hat, &opts)
}

/// NUTS draws from the posterior `density` (diagonal metric, Stan's adaptation), chains
/// started at `init` (e.g. the maximum-likelihood optimum) so that warm-up is short.
pub fn sample_posterior(
    density: &EbmDensity,
    init: &[f64],
    opts: &NutsOptions,
) -> Result<Posterior> {
    if density.priors.is_none() {
        return Err(Error::invalid_option(
            "ebm::bayes::sample_posterior",
            "density",
            "likelihood only",
            "a posterior with priors (EbmDensity::posterior)",
        ));
    }
    let opts = NutsOptions {
        init: mechml_engine::infer::Init::Point(init.to_vec()),
        ..opts.clone()
    };
    sample(density, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssm::Observations;
    use crate::ssm::ebm::family::default_params;
    use crate::ssm::ebm::{EbmData, EbmPrior};

    fn family() -> (EbmFamily, ParamLayout) {
        let ebm = KBoxEbm::new(2, false, false).unwrap();
        let n = 60;
        let u: Vec<f64> = (0..n).map(|t| 0.03 * t as f64).collect();
        let y: Vec<f64> = (0..n)
            .map(|t| 0.02 * t as f64 + 0.1 * ((t as f64) * 1.3).sin())
            .collect();
        let data = EbmData::new(
            Observations::new(n, 1, y, 1, u).unwrap(),
            vec![0.01; n],
            1.0,
        )
        .unwrap();
        let layout = default_params(&ebm, 0.0, Some(1.0)).unwrap();
        (
            EbmFamily {
                ebm,
                data,
                prior: EbmPrior::Stationary,
            },
            layout,
        )
    }

    #[test]
    fn gradient_matches_central_differences() {
        let (fam, layout) = family();
        let ebm = fam.ebm;
        let priors: Vec<Prior> = layout
            .free_names()
            .iter()
            .map(|n| default_prior(&ebm, n, PriorSet::Cmip5).unwrap())
            .collect();
        for mut d in [
            EbmDensity::likelihood(fam.clone(), layout.clone()),
            EbmDensity::posterior(fam.clone(), layout.clone(), priors).unwrap(),
        ] {
            let z = layout.free_unconstrained().unwrap();
            let (_, g) = d.value_and_grad(&z).unwrap();
            for i in 0..z.len() {
                let h = 1e-5;
                let mut zp = z.clone();
                zp[i] += h;
                let mut zm = z.clone();
                zm[i] -= h;
                let fd = (d.value_and_grad(&zp).unwrap().0 - d.value_and_grad(&zm).unwrap().0)
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-5 * (1.0 + fd.abs()),
                    "coordinate {i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn posterior_adds_exactly_the_priors_and_the_jacobian() {
        let (fam, layout) = family();
        let ebm = fam.ebm;
        let priors: Vec<Prior> = layout
            .free_names()
            .iter()
            .map(|n| default_prior(&ebm, n, PriorSet::Wide).unwrap())
            .collect();
        let mut lik = EbmDensity::likelihood(fam.clone(), layout.clone());
        let mut post = EbmDensity::posterior(fam, layout.clone(), priors.clone()).unwrap();
        let z = layout.free_unconstrained().unwrap();
        let th = layout.natural(&z).unwrap();
        let mut expected = lik.value_and_grad(&z).unwrap().0;
        for (p, &i) in priors.iter().zip(&layout.free_indices()) {
            expected += p.log_pdf(th[i]);
            // Log-parameters (everything but T0): ln |dθ/dz| = z.
            if layout.params()[i].name != "T0" {
                expected += th[i].ln();
            }
        }
        let got = post.value_and_grad(&z).unwrap().0;
        assert!(
            (got - expected).abs() < 1e-9 * expected.abs(),
            "{got} vs {expected}"
        );
    }

    /// The §8.1 benchmark's likelihood (demo data, 2 boxes) against the independent JAX
    /// implementation of `benches/peers/numpyro_ebm2box_hadcrut5.py` (its printed value).
    #[cfg(feature = "cli")]
    #[test]
    fn hadcrut5_likelihood_matches_the_jax_peer() {
        let res = crate::cli::demo::resolved().unwrap();
        let data = res
            .ebm_data(&res.historical, res.last_observed_year())
            .unwrap();
        let ebm = KBoxEbm::new(2, false, false).unwrap();
        let layout = res.params(&ebm).unwrap();
        let family = EbmFamily {
            ebm,
            data,
            prior: res.prior(),
        };
        let mut theta = layout.values();
        for (name, v) in [
            ("C1", 8.0),
            ("C2", 100.0),
            ("kappa1", 1.2),
            ("kappa2", 0.7),
            ("sigma_xi", 0.5),
            ("T0", -0.3),
        ] {
            theta[layout.index_of(name).unwrap()] = v;
        }
        let ll = crate::ssm::fit::loglik_at(&family, &theta).unwrap();
        let jax = 64.59259266668028;
        assert!((ll - jax).abs() < 1e-8 * jax.abs(), "{ll} vs {jax}");
    }

    #[test]
    fn wide_priors_double_the_scales() {
        let ebm = KBoxEbm::new(3, false, false).unwrap();
        for name in ebm.param_names() {
            let a = default_prior(&ebm, &name, PriorSet::Cmip5).unwrap();
            let b = default_prior(&ebm, &name, PriorSet::Wide).unwrap();
            match (a, b) {
                (Prior::LogNormal { mu, sigma }, Prior::LogNormal { mu: m2, sigma: s2 })
                | (Prior::Normal { mu, sigma }, Prior::Normal { mu: m2, sigma: s2 }) => {
                    assert_eq!((mu, 2.0 * sigma), (m2, s2))
                }
                (Prior::HalfNormal { sigma }, Prior::HalfNormal { sigma: s2 }) => {
                    assert_eq!(2.0 * sigma, s2)
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(default_prior(&ebm, "nope", PriorSet::Cmip5).is_err());
    }
}
