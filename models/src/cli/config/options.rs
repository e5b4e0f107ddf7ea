//! The resolved configuration as the engine's inputs: the EBM data of a scenario, the
//! distribution of the first state, the parameters with their starts, and the fit
//! options of one model.

use mechml_engine::optim::{FitOptions, LbfgsOptions};

use super::resolve::{Resolved, Series};
use crate::cli::error::{CliError, CliResult};
use crate::ssm::Observations;
use crate::ssm::ebm::family::default_params;
use crate::ssm::ebm::{EbmData, EbmPrior, KBoxEbm};
use crate::ssm::fit::{Param, ParamLayout, default_fit_options};

impl Series {
    /// The value for `year` (None outside the series).
    pub fn value_at(&self, year: f64) -> Option<f64> {
        let i = (year - self.years[0]).round();
        if i < 0.0 {
            return None;
        }
        self.values.get(i as usize).copied()
    }
}

impl Resolved {
    /// The last year with an observed temperature (the start of the run if none).
    pub fn last_observed_year(&self) -> f64 {
        let rec = &self.temperature;
        rec.years
            .iter()
            .zip(&rec.values)
            .rev()
            .find(|(_, v)| !v.is_nan())
            .map(|(y, _)| *y)
            .unwrap_or(self.start)
    }

    /// The scenarios to project: those named in `[projection]`, else every scenario of
    /// the forcing file ("historical" only when it is the only one).
    pub fn projection_scenarios(&self) -> Vec<String> {
        match &self.config.projection.scenarios {
            Some(s) => s.clone(),
            None => self
                .forcing
                .keys()
                .filter(|k| *k != "historical" || self.forcing.len() == 1)
                .cloned()
                .collect(),
        }
    }

    /// The EBM data from the start of the run to `end` (inclusive): observations where
    /// the record has them (with their known variance), forcing from the historical
    /// scenario up to the last observation and from `scenario` afterwards.
    pub fn ebm_data(&self, scenario: &str, end: f64) -> CliResult<EbmData> {
        let hist = &self.forcing[&self.historical];
        let proj = &self.forcing[scenario];
        let rec = &self.temperature;
        let last_obs = self.last_observed_year();
        let n = (end - self.start).round() as usize + 1;
        let mut y = vec![f64::NAN; n];
        let mut kv = vec![0.0; n];
        let mut u = Vec::with_capacity(n);
        for t in 0..n {
            let year = self.start + t as f64;
            let src = if year <= last_obs { hist } else { proj };
            let f = src.value_at(year).ok_or_else(|| {
                CliError::usage(format!(
                    "the forcing has no value for {year} (scenario {})",
                    if year <= last_obs {
                        &self.historical
                    } else {
                        scenario
                    }
                ))
            })?;
            u.push(f);
        }
        for (i, &yr) in rec.years.iter().enumerate() {
            let t = (yr - self.start).round();
            if t >= 0.0 && (t as usize) < n && !rec.values[i].is_nan() {
                y[t as usize] = rec.values[i];
                kv[t as usize] = rec.known_var[i];
            }
        }
        let obs = Observations::new(n, 1, y, 1, u)?;
        Ok(EbmData::new(obs, kv, 1.0)?)
    }

    /// The distribution of the first state (`model.prior`).
    pub fn prior(&self) -> EbmPrior {
        if self.config.model.prior == "at_rest" {
            EbmPrior::AtRest
        } else {
            EbmPrior::Stationary
        }
    }

    /// The parameters of `ebm` with their starts: the EBM defaults
    /// ([`default_params`]) with the efficacy and the observation noise as configured,
    /// the offset T₀ starting at the mean of the first 30 observed years, and σ_T
    /// estimated when the data give no observation variance and none is configured.
    pub fn params(&self, ebm: &KBoxEbm) -> CliResult<ParamLayout> {
        let m = &self.config.model;
        let no_known = self.temperature.known_var.iter().all(|&v| v == 0.0);
        let defaults = default_params(
            ebm,
            m.sigma_obs,
            if m.estimate_efficacy {
                None
            } else {
                Some(m.fixed_efficacy)
            },
        )?;
        let mut params = defaults.params().to_vec();
        for s in params.iter_mut() {
            if s.name == "T0" {
                // Start the offset at the early-record mean (anomaly of the pre-industrial
                // state).
                let early: Vec<f64> = self
                    .temperature
                    .values
                    .iter()
                    .filter(|v| !v.is_nan())
                    .take(30)
                    .copied()
                    .collect();
                if !early.is_empty() {
                    s.value = early.iter().sum::<f64>() / early.len() as f64;
                }
            }
            if s.name == "sigma_T" && no_known && m.sigma_obs == 0.0 {
                // No known observation noise: estimate it.
                *s = Param::positive("sigma_T", 0.1);
            }
        }
        Ok(ParamLayout::new(params)?)
    }

    /// The options of one model's fit (`[fit]`): `starts` starts with `spread`, L-BFGS
    /// with `max_iters` iterations, 4 × `max_iters` evaluations and `grad_tol = 1e-7`,
    /// the Hessian computed; the rest as
    /// [`default_fit_options`](crate::ssm::fit::default_fit_options).
    pub fn fit_options(&self, seed: u64) -> FitOptions {
        let f = &self.config.fit;
        FitOptions {
            n_starts: f.starts,
            start_spread: f.spread,
            seed,
            lbfgs: LbfgsOptions {
                max_iters: f.max_iters,
                max_evals: f.max_iters * 4,
                grad_tol: 1e-7,
                ..LbfgsOptions::default()
            },
            ..default_fit_options()
        }
    }
}
