//! Parameter recovery: how often the 95 % intervals of the maximum-likelihood fit cover
//! the truth, over replicates simulated from known parameters.
//!
//! Each replicate simulates the exactly discretised model at the true parameters
//! (its own seed) on a record's template — its forcing, its pattern of missing
//! observations, its known observation variance and its step — fits it by [`fit_mle`]
//! from the given start, and records, for every
//! free parameter, whether the truth lies in its 95 % interval (log-scale intervals for
//! positive parameters, [`fit`](crate::ssm::fit)); the same for the equilibrium climate
//! sensitivity and the transient climate response by the delta method; and whether the
//! truth lies in the joint 95 % Wald region (ẑ − z)ᵀ Σ_z⁻¹ (ẑ − z) ≤ χ²_{k,0.95} of all k
//! free parameters, and in the likelihood-ratio region 2(ℓ(θ̂) − ℓ(θ)) ≤ χ²_{k,0.95}
//! (Wilks 1938; Pawitan 2001, §9.4). A coverage c over R replicates has the binomial standard error
//! √(c(1 − c)/R) (for the nominal 0.95 and R = 100: 0.022). Replicates are independent
//! and run in parallel; the report does not depend on the number of threads.
//!
//! With the record itself as the template and a fitted model as the truth this is the
//! synthetic case with known truth of the `mechml` program: does the method recover the
//! parameters it reports, on data like the record?
//!
//! ```
//! use mechml_models::ssm::ebm::recovery::chi2_quantile;
//! // The 95 % point of χ² with 1 degree of freedom is 1.96².
//! assert!((chi2_quantile(0.95, 1)? - 1.959_963_984_540_054f64.powi(2)).abs() < 1e-9);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::{Error, Result};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::family::{EbmFamily, Ecs, Tcr};
use super::model::{EbmData, EbmPrior, KBoxEbm};
use crate::ssm::fit::{
    Derived, DerivedEstimate, FitOptions, MleFit, ParamLayout, ParametricSsm, delta_method,
    fit_mle, loglik_at, unconstrained,
};
use crate::ssm::model::Observations;
use crate::ssm::simulate::simulate;

/// A recovery study: a model, its inputs, the truth, and how to fit.
#[derive(Clone, Debug)]
pub struct RecoveryStudy {
    /// Model structure.
    pub ebm: KBoxEbm,
    /// The record to imitate: its forcing series u (whose length is the record length),
    /// its missing observations (NaN entries stay missing in every replicate; the other
    /// values are ignored), its known observation variance and its step
    /// ([`EbmData::template`] for a complete record).
    pub data: EbmData,
    /// True parameters (in [`KBoxEbm::param_names`] order).
    pub truth: Vec<f64>,
    /// The parameters: which are free, their transforms and starts (in
    /// [`KBoxEbm::param_names`] order).
    pub params: ParamLayout,
    /// Distribution of the first state.
    pub prior: EbmPrior,
    /// Fit options of each replicate (the seed is offset per replicate; e.g.
    /// [`default_fit_options`](crate::ssm::fit::default_fit_options)).
    pub fit: FitOptions,
    /// Forcing of doubled CO₂ for ECS and TCR (W m⁻²).
    pub f2x: f64,
}

/// Coverage of one quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Name.
    pub name: String,
    /// True value.
    pub truth: f64,
    /// Replicates whose 95 % interval contains the truth.
    pub covered: usize,
    /// Replicates with an interval.
    pub replicates: usize,
    /// covered / replicates.
    pub coverage: f64,
    /// Binomial standard error √(c(1 − c)/R) of the coverage.
    pub se: f64,
    /// Mean estimate over the replicates.
    pub mean_estimate: f64,
}

impl Coverage {
    fn new(name: &str, truth: f64, hits: &[bool], estimates: &[f64]) -> Self {
        let r = hits.len();
        let covered = hits.iter().filter(|&&h| h).count();
        let c = if r > 0 {
            covered as f64 / r as f64
        } else {
            f64::NAN
        };
        Self {
            name: name.into(),
            truth,
            covered,
            replicates: r,
            coverage: c,
            se: (c * (1.0 - c) / r.max(1) as f64).sqrt(),
            mean_estimate: estimates.iter().sum::<f64>() / estimates.len().max(1) as f64,
        }
    }
}

/// What a study found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// Replicates run.
    pub replicates: usize,
    /// Replicates whose observed information was positive definite (these are counted).
    pub with_covariance: usize,
    /// Replicates whose best start met a tolerance.
    pub converged: usize,
    /// Per free parameter.
    pub params: Vec<Coverage>,
    /// Equilibrium climate sensitivity.
    pub ecs: Coverage,
    /// Transient climate response.
    pub tcr: Coverage,
    /// Joint 95 % Wald region of all free parameters (`truth` holds χ²_{k,0.95}).
    pub joint: Coverage,
    /// Joint 95 % likelihood-ratio region 2(ℓ(θ̂) − ℓ(θ)) ≤ χ²_{k,0.95} (over every
    /// replicate; invariant under reparametrisation, so it does not assume a quadratic
    /// log-likelihood in z).
    pub joint_lr: Coverage,
    /// The fit of every replicate, in replicate order.
    pub fits: Vec<MleFit>,
}

/// A derived quantity's (estimate, lower, upper) in one replicate.
type Interval = Option<(f64, f64, f64)>;

/// One replicate's outcome.
struct Replicate {
    fit: MleFit,
    ecs: Interval,
    tcr: Interval,
    wald: Option<f64>,
    lr: f64,
}

/// Simulates replicate `r` (seed `seed + r`) on the template and fits it.
fn replicate(
    study: &RecoveryStudy,
    model_fam: &EbmFamily,
    r: usize,
    seed: u64,
) -> Result<Replicate> {
    let template = &study.data;
    let t_len = template.obs.n_steps;
    let model = model_fam.build(&study.truth)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(r as u64));
    let sim = simulate(&model, t_len, &template.obs.u, &mut rng)?;
    // Keep the template's pattern of missing observations.
    let y: Vec<f64> = sim
        .observations
        .y
        .iter()
        .zip(&template.obs.y)
        .map(|(s, o)| if o.is_nan() { f64::NAN } else { *s })
        .collect();
    let obs = Observations::new(
        t_len,
        template.obs.n_obs,
        y,
        template.obs.n_inputs,
        template.obs.u.clone(),
    )?;
    let fam = EbmFamily {
        data: EbmData::new(obs, template.known_var.clone(), template.dt)?,
        ..model_fam.clone()
    };
    let opts = FitOptions {
        seed: study.fit.seed.wrapping_add(r as u64),
        ..study.fit.clone()
    };
    let fit = fit_mle(&fam, &study.params, &opts, &|_| {})?;
    let derived = |d: &dyn Fn(&MleFit) -> Result<DerivedEstimate>| {
        d(&fit).map(|e| e.ci.map(|(lo, hi)| (e.value, lo, hi)))
    };
    let f2x = Some(study.f2x);
    let ebm = study.ebm;
    let ecs = derived(&|f| delta_method(f, &Ecs { ebm, f2x }))?;
    let tcr = derived(&|f| delta_method(f, &Tcr { ebm, f2x }))?;
    let wald = match &fit.cov_z {
        Some(cov) => {
            let dz: Vec<f64> = fit
                .z_hat
                .iter()
                .zip(unconstrained(&fit.layout, &study.truth)?)
                .map(|(a, b)| a - b)
                .collect();
            let k = dz.len();
            let mut l = cov.clone();
            // A covariance too ill-conditioned to factorise gives no Wald statistic.
            match crate::ssm::dense::cholesky_in_place(&mut l, k, "parameter covariance") {
                Ok(()) => {
                    let mut w = dz;
                    crate::ssm::dense::solve_lower_in_place(&l, k, &mut w);
                    Some(w.iter().map(|v| v * v).sum())
                }
                Err(_) => None,
            }
        }
        None => None,
    };
    // Likelihood-ratio statistic 2 (ℓ(θ̂) − ℓ(θ_true)).
    let lr = 2.0 * (fit.loglik - loglik_at(&fam, &study.truth)?);
    Ok(Replicate {
        fit,
        ecs,
        tcr,
        wald,
        lr,
    })
}

/// A synthetic forcing series for recovery studies (W m⁻²): a ramp of 0.025 per step with
/// two volcanic-like dips (−2.5, then −1.0) every 60 steps, at steps 30 and 31 of each
/// period, so that both the fast and the slow response are excited.
pub fn synthetic_forcing(t_len: usize) -> Vec<f64> {
    (0..t_len)
        .map(|t| {
            let mut f = 0.025 * t as f64;
            if t % 60 == 30 {
                f -= 2.5;
            }
            if t % 60 == 31 {
                f -= 1.0;
            }
            f
        })
        .collect()
}

/// Runs `replicates` replicates (simulation seeds `seed`, `seed + 1`, …; fit seeds
/// `study.fit.seed + r`) and reports the coverage.
pub fn recovery_study(
    study: &RecoveryStudy,
    replicates: usize,
    seed: u64,
) -> Result<RecoveryReport> {
    recovery_study_with_progress(study, replicates, seed, &|| {})
}

/// As [`recovery_study`], calling `on_replicate` as each replicate finishes (from worker
/// threads).
pub fn recovery_study_with_progress(
    study: &RecoveryStudy,
    replicates: usize,
    seed: u64,
    on_replicate: &(dyn Fn() + Sync),
) -> Result<RecoveryReport> {
    if replicates == 0 {
        return Err(Error::invalid_option(
            "recovery_study",
            "replicates",
            0,
            "at least 1",
        ));
    }
    let fam = EbmFamily {
        ebm: study.ebm,
        data: study.data.clone(),
        prior: study.prior.clone(),
    };
    let names = study.ebm.param_names();
    crate::ssm::fit::check_layout("recovery_study", &names, &study.params)?;
    let mut layout = study.params.clone();
    layout.fix_all(&study.fit.fixed)?;
    let reps: Vec<Replicate> = (0..replicates)
        .into_par_iter()
        .map(|r| {
            let rep = replicate(study, &fam, r, seed);
            on_replicate();
            rep
        })
        .collect::<Result<_>>()?;
    let with_cov: Vec<&Replicate> = reps.iter().filter(|r| r.fit.cov_z.is_some()).collect();
    let params = layout
        .free_indices()
        .iter()
        .map(|&i| {
            let t = study.truth[i];
            let hits: Vec<bool> = with_cov
                .iter()
                .map(|r| matches!((r.fit.ci_low[i], r.fit.ci_high[i]), (Some(a), Some(b)) if a <= t && t <= b))
                .collect();
            let est: Vec<f64> = with_cov.iter().map(|r| r.fit.estimate[i]).collect();
            Coverage::new(&names[i], t, &hits, &est)
        })
        .collect();
    let derived = |name: &str, truth: f64, pick: &dyn Fn(&Replicate) -> Interval| {
        let vals: Vec<(f64, f64, f64)> = with_cov.iter().filter_map(|r| pick(r)).collect();
        let hits: Vec<bool> = vals
            .iter()
            .map(|&(_, a, b)| a <= truth && truth <= b)
            .collect();
        let est: Vec<f64> = vals.iter().map(|v| v.0).collect();
        Coverage::new(name, truth, &hits, &est)
    };
    let f2x = Some(study.f2x);
    let ecs_true = Ecs {
        ebm: study.ebm,
        f2x,
    }
    .eval::<f64>(&study.truth)?;
    let tcr_true = Tcr {
        ebm: study.ebm,
        f2x,
    }
    .eval::<f64>(&study.truth)?;
    let q = chi2_quantile(0.95, layout.n_free())?;
    let wald: Vec<f64> = with_cov.iter().filter_map(|r| r.wald).collect();
    let joint = Coverage::new(
        "joint",
        q,
        &wald.iter().map(|&w| w <= q).collect::<Vec<_>>(),
        &wald,
    );
    let lr: Vec<f64> = reps.iter().map(|r| r.lr).collect();
    let joint_lr = Coverage::new(
        "joint (LR)",
        q,
        &lr.iter().map(|&w| w <= q).collect::<Vec<_>>(),
        &lr,
    );
    Ok(RecoveryReport {
        replicates,
        with_covariance: with_cov.len(),
        converged: reps.iter().filter(|r| r.fit.converged).count(),
        params,
        ecs: derived("ECS", ecs_true, &|r| r.ecs),
        tcr: derived("TCR", tcr_true, &|r| r.tcr),
        joint,
        joint_lr,
        fits: reps.into_iter().map(|r| r.fit).collect(),
    })
}

impl RecoveryReport {
    /// One line per quantity: coverage ± standard error, with the truth and the mean
    /// estimate.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} replicates, {} with a covariance, {} converged\n",
            self.replicates, self.with_covariance, self.converged
        );
        for c in self.params.iter().chain([&self.ecs, &self.tcr]) {
            s.push_str(&format!(
                "  {:<10} truth {:>9.4}  mean estimate {:>9.4}  coverage {:.3} ± {:.3}\n",
                c.name, c.truth, c.mean_estimate, c.coverage, c.se
            ));
        }
        s.push_str(&format!(
            "  {:<10} (Wald, χ²₀.₉₅ = {:.2})                  coverage {:.3} ± {:.3}\n",
            "joint", self.joint.truth, self.joint.coverage, self.joint.se
        ));
        s.push_str(&format!(
            "  {:<10} (likelihood ratio)                      coverage {:.3} ± {:.3}\n",
            "joint", self.joint_lr.coverage, self.joint_lr.se
        ));
        s
    }
}

/// The regularised lower incomplete gamma function P(a, x) by its power series
/// (Abramowitz & Stegun 1964, eq. 6.5.29), for a > 0, x ≥ 0.
fn gamma_p(a: f64, x: f64) -> Result<f64> {
    if x <= 0.0 {
        return Ok(0.0);
    }
    let mut term = 1.0 / a;
    let mut sum = term;
    for n in 1..10_000 {
        term *= x / (a + n as f64);
        sum += term;
        if term < sum * 1e-16 {
            let ln = a * x.ln() - x - mechml_engine::ad::special::lgamma(a);
            return Ok((sum.ln() + ln).exp().min(1.0));
        }
    }
    Err(Error::NoConvergence {
        op: "gamma_p",
        iterations: 10_000,
        detail: format!("series of P({a}, {x})"),
    })
}

/// The p-quantile of the χ² law with k degrees of freedom (bisection on
/// P(k/2, x/2) = p to a relative 1e-12).
pub fn chi2_quantile(p: f64, k: usize) -> Result<f64> {
    if !(p > 0.0 && p < 1.0) || k == 0 {
        let (name, value, expected) = if k == 0 {
            ("k", k.to_string(), "at least 1 degree of freedom")
        } else {
            ("p", p.to_string(), "inside (0, 1)")
        };
        return Err(Error::invalid_option(
            "chi2_quantile",
            name,
            value,
            expected,
        ));
    }
    let a = 0.5 * k as f64;
    let (mut lo, mut hi) = (0.0, k as f64 + 20.0 * (k as f64).sqrt() + 40.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if gamma_p(a, 0.5 * mid)? < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    Ok(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_quantiles_match_published_tables() {
        // Abramowitz & Stegun (1964), Table 26.8, Q = 0.05.
        for (k, v) in [
            (1, 3.84146),
            (2, 5.99146),
            (5, 11.0705),
            (11, 19.6751),
            (14, 23.6848),
            (30, 43.7730),
        ] {
            let q = chi2_quantile(0.95, k).unwrap();
            assert!((q - v).abs() < 1e-4 * v, "k = {k}: {q} vs {v}");
        }
        // k = 2 in closed form: P(1, x/2) = 1 − e^{−x/2}.
        let q = chi2_quantile(0.9, 2).unwrap();
        assert!((q + 2.0 * 0.1f64.ln()).abs() < 1e-10);
        assert!(chi2_quantile(1.0, 3).is_err() && chi2_quantile(0.5, 0).is_err());
    }
}
