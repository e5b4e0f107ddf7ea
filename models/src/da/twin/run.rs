//! Running a twin experiment: generate the setting (truth, observations, climatology) from
//! the seed, then run each method through the same cycles.

use faer::{Mat, Par};
use mechml_engine::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::{MethodConfig, MethodKind, TwinConfig};
use super::results::{
    Diagnostics, Field, MethodResult, Series, Summary, TwinResults, mean_after, rank_of, rmse,
};
use crate::da::Ensemble;
use crate::da::analysis::EnsembleFilter;
use crate::da::baselines::{Climatology, ExtendedKf, StaticGainFilter, Var3d};
use crate::da::dynamics::{AnyModel, Model};
use crate::da::enks::EnsembleSmoother;
use crate::da::obs::ObsModel;
use crate::da::var4d::{Var4d, Var4dOptions};

/// The random stream `k` of a seed: the seeded generator advanced by `k` jumps of 2¹²⁸
/// draws, so the streams never overlap and adding a method changes no other stream.
pub fn stream(seed: u64, k: u64) -> Xoshiro256PlusPlus {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    for _ in 0..k {
        g.jump();
    }
    g
}

/// Everything the methods share: models, observation model, truth, observations and
/// climatology.
#[derive(Clone, Debug)]
pub struct Setting {
    /// The configuration.
    pub config: TwinConfig,
    /// The truth model.
    pub truth_model: AnyModel,
    /// The assimilation model.
    pub model: AnyModel,
    /// The observation model (on the assimilated state).
    pub obs: ObsModel,
    /// The assimilated part of the truth at cycles `0..=cycles`.
    pub truth: Vec<Vec<f64>>,
    /// The observations at cycles `1..=cycles` (`observations[k − 1]`).
    pub observations: Vec<Vec<f64>>,
    /// The climatology of the assimilated state, from an independent free run.
    pub climatology: Climatology,
}

impl Setting {
    /// Generates the setting of a (validated) configuration.
    pub fn generate(config: &TwinConfig) -> Result<Self> {
        config.validate()?;
        let truth_model = config.model.build()?;
        let model = match &config.assimilation_model {
            Some(m) => m.build()?,
            None => truth_model.clone(),
        };
        let n = model.n_state();
        let obs = config.observations.build(n)?;
        let e = &config.experiment;
        let rest = config.model.rest_state();
        let perturbed = |g: &mut Xoshiro256PlusPlus| -> Vec<f64> {
            rest.iter()
                .map(|v| {
                    v + {
                        let z: f64 = StandardNormal.sample(g);
                        z
                    }
                })
                .collect()
        };
        // Truth.
        let mut g = stream(config.seed, 0);
        let mut x = perturbed(&mut g);
        let q = e.model_noise_std;
        let step = |x: &mut Vec<f64>, g: &mut Xoshiro256PlusPlus, k: usize| -> Result<()> {
            truth_model.step(x.as_mut_slice());
            if q > 0.0 {
                for v in x.iter_mut() {
                    *v += q * {
                        let z: f64 = StandardNormal.sample(g);
                        z
                    };
                }
            }
            match x.iter().position(|v| !v.is_finite()) {
                None => Ok(()),
                Some(i) => Err(Error::NonFinite {
                    op: "twin::Setting::generate",
                    index: i,
                    value: x[i],
                    context: format!("truth at step {k}: reduce dt"),
                }),
            }
        };
        for k in 0..e.spinup {
            step(&mut x, &mut g, k)?;
        }
        let mut truth = Vec::with_capacity(e.cycles + 1);
        truth.push(x[..n].to_vec());
        for k in 0..e.cycles {
            step(&mut x, &mut g, e.spinup + k)?;
            truth.push(x[..n].to_vec());
        }
        // Observations.
        let mut g = stream(config.seed, 1);
        let observations = truth[1..]
            .iter()
            .map(|xt| obs.sample(xt, &mut g))
            .collect::<Result<Vec<_>>>()?;
        // Climatology from an independent run.
        let mut g = stream(config.seed, 2);
        let x0 = perturbed(&mut g);
        let climatology =
            Climatology::from_run(&truth_model, &x0, e.spinup, e.climatology_steps, n)?;
        Ok(Self {
            config: config.clone(),
            truth_model,
            model,
            obs,
            truth,
            observations,
            climatology,
        })
    }

    /// Dimension of the assimilated state.
    pub fn n_state(&self) -> usize {
        self.model.n_state()
    }

    /// The truth fields for the first `record_fields` cycles.
    pub fn truth_fields(&self) -> Option<Field> {
        let k = self
            .config
            .experiment
            .record_fields
            .min(self.config.experiment.cycles);
        (k > 0).then(|| Field {
            n_cycles: k,
            n_state: self.n_state(),
            values: self.truth[1..=k].concat(),
        })
    }
}

/// Runs every method of the configuration; `par` is passed to the LETKF.
pub fn run_twin(config: &TwinConfig, par: Par) -> Result<TwinResults> {
    let setting = Setting::generate(config)?;
    let methods = (0..config.methods.len())
        .map(|i| run_method(&setting, i, par))
        .collect::<Result<Vec<_>>>()?;
    Ok(TwinResults {
        name: config.name.clone(),
        seed: config.seed,
        n_state: setting.n_state(),
        cycles: config.experiment.cycles,
        burn_in: config.experiment.burn_in,
        step_time: setting.model.step_time(),
        truth_fields: setting.truth_fields(),
        methods,
    })
}

/// The running estimate of one method.
enum State {
    Climatology,
    Static(StaticGainFilter),
    Var3d(Box<Var3d>),
    Ekf(Box<ExtendedKf>),
    Filter(Box<EnsembleFilter>),
    Smoother(Box<EnsembleSmoother>),
    Var4d(Box<Var4d>),
}

/// Accumulates the statistics of one method.
struct Recorder<'a> {
    setting: &'a Setting,
    analysis: Series,
    forecast: Series,
    smoothed: Vec<f64>,
    ranks: Option<Vec<u64>>,
    fields: Vec<f64>,
    inflation: Vec<f64>,
    local_obs: Vec<f64>,
    iterations: Vec<f64>,
}

impl<'a> Recorder<'a> {
    fn push(series: &mut Series, err: f64, spread: Option<f64>) {
        series.rmse.push(err);
        match (spread, &mut series.spread) {
            (Some(s), Some(v)) => v.push(s),
            (Some(s), None) if series.rmse.len() == 1 => series.spread = Some(vec![s]),
            _ => series.spread = None,
        }
    }
}

/// Runs method `index` of the setting's configuration.
pub fn run_method(setting: &Setting, index: usize, par: Par) -> Result<MethodResult> {
    let cfg: &MethodConfig = setting.config.methods.get(index).ok_or_else(|| {
        Error::invalid_option(
            "run_method",
            "index",
            index,
            format!("< {} methods", setting.config.methods.len()),
        )
    })?;
    cfg.validate()?;
    let e = &setting.config.experiment;
    let n = setting.n_state();
    let model = &setting.model;
    let obs = &setting.obs;
    let clim = &setting.climatology;
    let q = e.model_noise_std;
    let mut g_init = stream(setting.config.seed, 3 + 2 * index as u64);
    let method_seed = stream(setting.config.seed, 4 + 2 * index as u64).next_u64();
    let x0: Vec<f64> = setting.truth[0]
        .iter()
        .map(|v| {
            v + e.init_std * {
                let z: f64 = StandardNormal.sample(&mut g_init);
                z
            }
        })
        .collect();
    let b_scaled = |s: f64| Mat::from_fn(n, n, |i, j| s * clim.cov[(i, j)]);
    use MethodKind::*;
    let mut state = match cfg.method {
        Climatology => State::Climatology,
        OptimalInterpolation => State::Static(StaticGainFilter::optimal_interpolation(
            x0,
            clim.cov.clone(),
        )),
        Var3d => State::Var3d(Box::new(crate::da::baselines::Var3d::new(
            x0,
            b_scaled(cfg.b_scale.unwrap_or(1.0)),
        )?)),
        Ekf => State::Ekf(Box::new(ExtendedKf::new(
            x0,
            Mat::from_fn(
                n,
                n,
                |i, j| if i == j { e.init_std * e.init_std } else { 0.0 },
            ),
            cfg.inflation.unwrap_or(1.0),
            q * q,
        )?)),
        Var4d => State::Var4d(Box::new(crate::da::var4d::Var4d::new(
            x0,
            &b_scaled(cfg.b_scale.unwrap_or(1.0)),
            cfg.lag.unwrap_or(1),
            Var4dOptions {
                outer_loops: cfg
                    .outer_loops
                    .unwrap_or(Var4dOptions::default().outer_loops),
                ..Var4dOptions::default()
            },
        )?)),
        _ => {
            let members = cfg.members.unwrap_or(2);
            let ens = Ensemble::gaussian(members, &setting.truth[0], e.init_std, &mut g_init)?;
            let opts = cfg.filter_options().expect("ensemble method");
            let filter = EnsembleFilter::new(ens, opts, method_seed)?.with_par(par);
            if cfg.method == Enks {
                State::Smoother(Box::new(EnsembleSmoother::new(
                    filter,
                    cfg.lag.unwrap_or(0),
                )?))
            } else {
                State::Filter(Box::new(filter))
            }
        }
    };
    let mut rec = Recorder {
        setting,
        analysis: Series::default(),
        forecast: Series::default(),
        smoothed: Vec::new(),
        ranks: None,
        fields: Vec::new(),
        inflation: Vec::new(),
        local_obs: Vec::new(),
        iterations: Vec::new(),
    };
    for k in 1..=e.cycles {
        let truth = &setting.truth[k];
        let y = &setting.observations[k - 1];
        let after_burn_in = k > e.burn_in;
        let analysis_mean: Vec<f64> = match &mut state {
            State::Climatology => {
                let s = Some(clim.spread());
                Recorder::push(&mut rec.forecast, rmse(&clim.mean, truth), s);
                Recorder::push(&mut rec.analysis, rmse(&clim.mean, truth), s);
                clim.mean.clone()
            }
            State::Static(f) => {
                f.forecast(model);
                Recorder::push(
                    &mut rec.forecast,
                    rmse(f.mean(), truth),
                    Some(f.background_spread()),
                );
                f.analyse(obs, y)?;
                Recorder::push(&mut rec.analysis, rmse(f.mean(), truth), Some(f.spread()));
                f.mean().to_vec()
            }
            State::Var3d(f) => {
                f.forecast(model);
                Recorder::push(&mut rec.forecast, rmse(f.mean(), truth), None);
                f.analyse(obs, y)?;
                Recorder::push(&mut rec.analysis, rmse(f.mean(), truth), f.spread());
                if after_burn_in {
                    rec.iterations.push(f.last_iterations as f64);
                }
                f.mean().to_vec()
            }
            State::Ekf(f) => {
                f.forecast(model);
                Recorder::push(&mut rec.forecast, rmse(f.mean(), truth), Some(f.spread()));
                f.analyse(obs, y)?;
                Recorder::push(&mut rec.analysis, rmse(f.mean(), truth), Some(f.spread()));
                f.mean().to_vec()
            }
            State::Var4d(f) => {
                let c = f.cycle(model, obs, y)?;
                Recorder::push(&mut rec.forecast, rmse(&c.forecast, truth), None);
                Recorder::push(&mut rec.analysis, rmse(&c.analysis, truth), None);
                if after_burn_in {
                    rec.iterations.push(c.inner_iterations as f64);
                }
                c.analysis
            }
            State::Filter(f) => {
                f.forecast(model, q)?;
                record_ensemble(&mut rec, f.ensemble(), truth, after_burn_in, true);
                let info = f.analyse(obs, y)?;
                if after_burn_in {
                    if let Some(l) = info.enkf_n_inflation {
                        rec.inflation.push(l);
                    }
                    if let Some(m) = info.mean_local_obs {
                        rec.local_obs.push(m);
                    }
                }
                record_ensemble(&mut rec, f.ensemble(), truth, false, false);
                f.ensemble().mean()
            }
            State::Smoother(s) => {
                s.forecast(model, q)?;
                record_ensemble(&mut rec, s.filter().ensemble(), truth, after_burn_in, true);
                if let Some(done) = s.analyse(obs, y)? {
                    let kk = rec.smoothed.len() + 1;
                    rec.smoothed.push(rmse(&done.mean(), &setting.truth[kk]));
                }
                record_ensemble(&mut rec, s.filter().ensemble(), truth, false, false);
                s.filter().ensemble().mean()
            }
        };
        if k <= e.record_fields {
            rec.fields.extend_from_slice(&analysis_mean);
        }
    }
    let burn = e.burn_in;
    let mean_opt = |v: &Option<Vec<f64>>| v.as_ref().map(|v| mean_after(v, burn));
    let smoothed = matches!(state, State::Smoother(_)).then_some(rec.smoothed);
    let summary = Summary {
        rmse_analysis: mean_after(&rec.analysis.rmse, burn),
        spread_analysis: mean_opt(&rec.analysis.spread),
        rmse_forecast: mean_after(&rec.forecast.rmse, burn),
        spread_forecast: mean_opt(&rec.forecast.spread),
        rmse_smoothed: smoothed.as_ref().map(|v| mean_after(v, burn)),
    };
    let avg = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let record = e.record_fields.min(e.cycles);
    Ok(MethodResult {
        label: cfg.display_label(),
        config: cfg.clone(),
        analysis: rec.analysis,
        forecast: rec.forecast,
        smoothed_rmse: smoothed,
        summary,
        rank_histogram: rec.ranks,
        analysis_fields: (record > 0).then_some(Field {
            n_cycles: record,
            n_state: n,
            values: rec.fields,
        }),
        diagnostics: Diagnostics {
            enkf_n_inflation: avg(&rec.inflation),
            mean_local_obs: avg(&rec.local_obs),
            mean_iterations: avg(&rec.iterations),
        },
    })
}

/// Records the RMSE and spread of an ensemble (forecast or analysis) and, for a forecast
/// after the burn-in, its ranks.
fn record_ensemble(
    rec: &mut Recorder<'_>,
    e: &Ensemble,
    truth: &[f64],
    ranks: bool,
    forecast: bool,
) {
    let err = rmse(&e.mean(), truth);
    let s = Some(e.spread());
    if forecast {
        Recorder::push(&mut rec.forecast, err, s);
    } else {
        Recorder::push(&mut rec.analysis, err, s);
    }
    if ranks {
        let hist = rec.ranks.get_or_insert_with(|| vec![0; e.n_members() + 1]);
        for (i, &x) in truth.iter().enumerate() {
            hist[rank_of(x, e.var(i))] += 1;
        }
    }
    let _ = rec.setting;
}

/// Draws `k` standard normals (used by the examples to perturb states reproducibly).
pub fn normals<G: Rng + ?Sized>(k: usize, g: &mut G) -> Vec<f64> {
    (0..k).map(|_| StandardNormal.sample(g)).collect()
}
