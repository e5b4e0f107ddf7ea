//! Temperature projections under forcing scenarios, with parameter uncertainty and
//! internal variability.
//!
//! For each parameter draw θ⁽ʲ⁾ (the estimate and draws from the fit's asymptotic law,
//! [`parameter_draws`]) the Kalman smoother over the scenario's data (observations up to
//! the end of the record, forcing up to the end of the projection: beyond the record the
//! smoothed distribution is the predicted one) gives the observed temperature
//! T₁ + T₀ ~ N(μₜ⁽ʲ⁾, σₜ⁽ʲ⁾²) per step. Over the draws this is an equal-weight mixture of
//! normals, whose 2.5 % and 97.5 % points ([`mixture_quantiles`]) bound the band, and
//! whose mean is the band's centre. The warming of a period relative to a baseline is the
//! difference of the period means of μ⁽ʲ⁾, with its median and 2.5 % and 97.5 % points
//! across draws ([`percentile`]).
//!
//! ```
//! use mechml_models::ssm::Observations;
//! use mechml_models::ssm::ebm::projection::{ProjectionSettings, project_ensemble};
//! use mechml_models::ssm::ebm::{EbmData, EbmFamily, EbmPrior, KBoxEbm};
//! // A 2-box model, 30 observed years of a ramp, then 20 projected years.
//! let ebm = KBoxEbm::new(2, false, false)?;
//! let u: Vec<f64> = (0..50).map(|t| 0.04 * t as f64).collect();
//! let y: Vec<f64> = (0..50).map(|t| if t < 30 { 0.02 * t as f64 } else { f64::NAN }).collect();
//! let data = EbmData::new(Observations::new(50, 1, y, 1, u)?, vec![0.0; 50], 1.0)?;
//! let family = EbmFamily { ebm, data, prior: EbmPrior::AtRest };
//! // C1, C2, κ1, κ2, ε, σ_ξ, F, σ_T, T0: two draws.
//! let draws = vec![
//!     vec![8.0, 100.0, 1.2, 0.7, 1.0, 0.3, 1.0, 0.1, 0.0],
//!     vec![7.0, 120.0, 1.0, 0.6, 1.0, 0.3, 1.0, 0.1, 0.0],
//! ];
//! let settings = ProjectionSettings {
//!     start_year: 2000.0,
//!     band_from: 2000.0,
//!     baseline: [2000.0, 2009.0],
//!     period: [2040.0, 2049.0],
//! };
//! let p = project_ensemble(&family, &draws, &settings, &|| {})?;
//! assert_eq!(p.band.years.len(), 50);
//! assert!(p.warming[1] <= p.warming[0] && p.warming[0] <= p.warming[2] && p.warming[0] > 0.0);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::family::EbmFamily;
use super::model::KBoxEbm;
use super::quantiles::{mixture_quantiles, percentile};
use crate::ssm::fit::{MleFit, ParametricSsm, Z95, sample_parameters};
use crate::ssm::kalman::kalman_filter;
use crate::ssm::smoother::rts_smoother;

/// A temperature series on the observation scale (T₁ + T₀) with 95 % limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemperatureBand {
    /// Years.
    pub years: Vec<f64>,
    /// Mean.
    pub mean: Vec<f64>,
    /// Lower 95 % limit.
    pub lo: Vec<f64>,
    /// Upper 95 % limit.
    pub hi: Vec<f64>,
}

impl TemperatureBand {
    /// The band from step `first` on (empty if `first` is past its end).
    pub fn from_step(&self, first: usize) -> TemperatureBand {
        let f = first.min(self.years.len());
        TemperatureBand {
            years: self.years[f..].to_vec(),
            mean: self.mean[f..].to_vec(),
            lo: self.lo[f..].to_vec(),
            hi: self.hi[f..].to_vec(),
        }
    }
}

/// Mean and standard deviation of the observed temperature T₁ + T₀ per step, from state
/// means (`T x n`) and covariances (`T x (n x n)`) of `ebm` (e.g. filtered or smoothed).
pub fn top_box_moments(
    ebm: &KBoxEbm,
    means: &[f64],
    covs: &[f64],
    offset: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = ebm.n_state();
    let t1 = ebm.t1_index();
    let t_len = means.len() / n;
    let mean = (0..t_len).map(|t| means[t * n + t1] + offset).collect();
    let sd = (0..t_len)
        .map(|t| covs[t * n * n + t1 + t1 * n].max(0.0).sqrt())
        .collect();
    (mean, sd)
}

/// The observed temperature with 95 % limits (mean ± 1.96 sd) from state means and
/// covariances, at `years` (one per step).
pub fn top_box_band(
    ebm: &KBoxEbm,
    years: &[f64],
    means: &[f64],
    covs: &[f64],
    offset: f64,
) -> TemperatureBand {
    let (mean, sd) = top_box_moments(ebm, means, covs, offset);
    let t_len = years.len().min(mean.len());
    let mut b = TemperatureBand {
        years: years[..t_len].to_vec(),
        mean: Vec::with_capacity(t_len),
        lo: Vec::with_capacity(t_len),
        hi: Vec::with_capacity(t_len),
    };
    for (m, s) in mean.into_iter().zip(sd).take(t_len) {
        b.mean.push(m);
        b.lo.push(m - Z95 * s);
        b.hi.push(m + Z95 * s);
    }
    b
}

/// The smoothed distribution of the observed temperature T₁ + T₀ per step under θ
/// (natural scale, in [`KBoxEbm::param_names`] order): (means, standard deviations).
pub fn smoothed_temperature(family: &EbmFamily, theta: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let model = family.build(theta)?;
    let filt = kalman_filter(&model, &family.data.obs)?;
    let sm = rts_smoother(&model, &filt)?;
    let offset = family.ebm.params_from_slice(theta)?.offset;
    Ok(top_box_moments(&family.ebm, &sm.mean, &sm.cov, offset))
}

/// The estimate followed by `n − 1` draws from the fit's asymptotic normal law
/// ([`sample_parameters`] with `seed`): `n` parameter vectors for an ensemble (just the
/// estimate for `n ≤ 1`).
pub fn parameter_draws(fit: &MleFit, n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
    let mut d = vec![fit.estimate.clone()];
    d.extend(sample_parameters(fit, n.saturating_sub(1), seed)?);
    Ok(d)
}

/// Where a projection's band starts and which periods its warming compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectionSettings {
    /// The year of the data's first step (step t is year `start_year + t·dt`).
    pub start_year: f64,
    /// First year of the band (e.g. the first observed year: earlier steps are spin-up).
    pub band_from: f64,
    /// Baseline period [first year, last year] (inclusive).
    pub baseline: [f64; 2],
    /// Period whose mean warming over the baseline is reported.
    pub period: [f64; 2],
}

/// A projection under one scenario from an ensemble of parameter draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleProjection {
    /// The mixture's mean with its 2.5 % and 97.5 % points, from `band_from` on.
    pub band: TemperatureBand,
    /// Mean warming over the period relative to the baseline (K): median, 2.5 % and
    /// 97.5 % points across draws.
    pub warming: [f64; 3],
}

const OP: &str = "project_ensemble";

/// Projects `family` (its data: observations over the record, forcing to the end of the
/// projection) with every parameter vector of `draws`, in parallel (the result does not
/// depend on the number of threads); `on_draw` is called as each draw finishes.
pub fn project_ensemble(
    family: &EbmFamily,
    draws: &[Vec<f64>],
    settings: &ProjectionSettings,
    on_draw: &(dyn Fn() + Sync),
) -> Result<EnsembleProjection> {
    if draws.is_empty() {
        return Err(Error::invalid_option(
            OP,
            "draws",
            "none",
            "at least one parameter vector",
        ));
    }
    for (key, r) in [("baseline", settings.baseline), ("period", settings.period)] {
        if !(r[0].is_finite() && r[1].is_finite() && r[0] <= r[1]) {
            return Err(Error::invalid_option(
                OP,
                key,
                format!("[{}, {}]", r[0], r[1]),
                "[first year, last year], finite, first ≤ last",
            ));
        }
    }
    let t_len = family.data.obs.n_steps;
    let per_draw: Vec<(Vec<f64>, Vec<f64>)> = draws
        .par_iter()
        .map(|theta| {
            let r = smoothed_temperature(family, theta);
            on_draw();
            r
        })
        .collect::<Result<_>>()?;
    let years: Vec<f64> = (0..t_len)
        .map(|t| settings.start_year + t as f64 * family.data.dt)
        .collect();
    let first = years
        .iter()
        .position(|&y| y >= settings.band_from)
        .unwrap_or(t_len);
    let mut band = TemperatureBand {
        years: Vec::new(),
        mean: Vec::new(),
        lo: Vec::new(),
        hi: Vec::new(),
    };
    for t in first..t_len {
        let ms: Vec<f64> = per_draw.iter().map(|d| d.0[t]).collect();
        let ss: Vec<f64> = per_draw.iter().map(|d| d.1[t]).collect();
        let q = mixture_quantiles(&ms, &ss, &[0.025, 0.975])?;
        band.years.push(years[t]);
        band.mean.push(ms.iter().sum::<f64>() / ms.len() as f64);
        band.lo.push(q[0]);
        band.hi.push(q[1]);
    }
    let period_mean = |d: &[f64], [a, b]: [f64; 2]| -> f64 {
        let idx: Vec<usize> = (0..t_len)
            .filter(|&t| years[t] >= a && years[t] <= b)
            .collect();
        idx.iter().map(|&t| d[t]).sum::<f64>() / idx.len().max(1) as f64
    };
    let mut w: Vec<f64> = per_draw
        .iter()
        .map(|d| period_mean(&d.0, settings.period) - period_mean(&d.0, settings.baseline))
        .collect();
    w.sort_by(|a, b| a.total_cmp(b));
    Ok(EnsembleProjection {
        band,
        warming: [
            percentile(&w, 0.5),
            percentile(&w, 0.025),
            percentile(&w, 0.975),
        ],
    })
}
