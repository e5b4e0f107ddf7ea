//! The EBM emulation study: configuration, the pipeline, and its serialisable results.

use std::path::Path;

use mechml_engine::gp::Inputs;
use mechml_engine::infer::{NutsOptions, Prior};
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::data::{HADCRUT5_CSV, RCP_FORCING_CSV, parse_forcing, parse_temperature};
use super::kalman::{CompareConfig, DirectProblem, KalmanComparison, compare_with_kalman};
use super::simulator::Ebm2BoxSimulator;
use crate::emulator::calibrate::{Discrepancy, KohOptions, Projected, calibrate};
use crate::emulator::design::{MaximinOptions, ParamRange, ParameterSpace, maximin_lhs};
use crate::emulator::gp::{
    Components, EmulatorOptions, GpEmulator, KernelFamily, MeanFunction, PcaEmulator,
};
use crate::emulator::history::{
    HmOptions, PcaFunctionals, SampleOptions, Target, Wave, nroy_mask, sample_nroy,
};
use crate::emulator::sensitivity::{
    SensitivityOptions, gp_sobol_indices, saltelli_design, sobol_from_outputs,
};
use crate::emulator::simulator::{ProgressFn, RunControl, Runner};
use crate::emulator::validate::loo;

/// The first design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignConfig {
    /// Runs of the first wave (maximin LHS).
    pub runs: usize,
    /// Exchange iterations of the maximin optimisation.
    #[serde(default = "default_maximin")]
    pub maximin_iterations: usize,
}

fn default_maximin() -> usize {
    20_000
}

/// The emulators.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Kernel family.
    #[serde(default)]
    pub kernel: KernelFamily,
    /// Mean: `constant` or `linear`.
    #[serde(default = "default_mean")]
    pub mean: String,
    /// Fraction of the runs' variance the PCA basis keeps.
    #[serde(default = "default_variance")]
    pub pca_variance: f64,
    /// Restarts of each hyperparameter fit.
    #[serde(default = "default_starts")]
    pub restarts: usize,
}

fn default_mean() -> String {
    "linear".into()
}
fn default_variance() -> f64 {
    0.9999
}
fn default_starts() -> usize {
    3
}

/// History matching.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Number of waves (≥ 1).
    pub waves: usize,
    /// Runs added in each later wave, drawn from the NROY region.
    pub runs_per_wave: usize,
    /// Periods (inclusive years) whose mean anomalies are matched.
    pub periods: Vec<(i32, i32)>,
    /// Model-discrepancy standard deviation of each period mean (K).
    pub discrepancy_sd: f64,
    /// Implausibility cutoff.
    #[serde(default = "default_cutoff")]
    pub cutoff: f64,
    /// Order statistic over the periods (1 = max, 2 = second max).
    #[serde(default = "default_order")]
    pub order: usize,
    /// Candidates examined to estimate each NROY fraction.
    #[serde(default = "default_candidates")]
    pub candidates: usize,
}

fn default_cutoff() -> f64 {
    3.0
}
fn default_order() -> usize {
    1
}
fn default_candidates() -> usize {
    200_000
}

/// Calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationConfig {
    /// Chains.
    pub chains: usize,
    /// Warm-up iterations per chain.
    pub warmup: usize,
    /// Draws per chain.
    pub draws: usize,
    /// Prior of the discrepancy standard deviation (K).
    pub discrepancy_sigma: Prior,
    /// Prior of the discrepancy lengthscale (years).
    pub discrepancy_lengthscale: Prior,
    /// Calibrate against means over blocks of this many years (the last block may be
    /// shorter): one gradient costs `(years / block)³`.
    #[serde(default = "default_block")]
    pub block_years: usize,
}

fn default_block() -> usize {
    5
}

/// Sensitivity analysis of the mean anomaly over a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivityConfig {
    /// The period (inclusive years).
    pub period: (i32, i32),
    /// Saltelli base sample on the emulator's mean.
    pub base_samples: usize,
    /// Bootstrap resamples.
    pub bootstrap: usize,
}

/// The study's configuration (`models/data/emulate_ebm.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Input parameters with ranges, in the order C1, C2, lambda, kappa2, epsilon.
    pub parameters: Vec<ParamRange>,
    /// Output years (inclusive).
    pub years: (i32, i32),
    /// Baseline period of the anomalies (inclusive).
    pub baseline: (i32, i32),
    /// First design.
    pub design: DesignConfig,
    /// Emulators.
    pub emulator: EmulatorConfig,
    /// History matching.
    pub history: HistoryConfig,
    /// Calibration.
    pub calibration: CalibrationConfig,
    /// Sensitivity.
    pub sensitivity: SensitivityConfig,
    /// Temperature file (columns of the shipped HadCRUT5 file); the shipped data if absent.
    #[serde(default)]
    pub temperature_file: Option<String>,
    /// Forcing file (long format as shipped); the shipped data if absent.
    #[serde(default)]
    pub forcing_file: Option<String>,
    /// Forcing scenario and column.
    #[serde(default = "default_scenario")]
    pub forcing_scenario: String,
    /// The direct Kalman-filter posterior beside the emulator's (off when absent).
    #[serde(default)]
    pub compare: CompareConfig,
}

fn default_scenario() -> String {
    "rcp45".into()
}

/// Most simulator runs a study may ask for (first design plus later waves).
pub const MAX_STUDY_RUNS: usize = 100_000;
/// Most NUTS gradient evaluations a study may ask for (chains × iterations × 2¹⁰).
pub const MAX_STUDY_SAMPLER_WORK: usize = 50_000_000;

impl StudyConfig {
    /// Parses and checks a TOML configuration (with the `cli` feature, which brings `toml`).
    #[cfg(feature = "cli")]
    pub fn from_toml(text: &str) -> Result<Self> {
        let c: Self = toml::from_str(text).map_err(|e| Error::InvalidArgument {
            op: "StudyConfig",
            message: e.to_string(),
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Checks every bound before any work (sizes, years, priors).
    pub fn validate(&self) -> Result<()> {
        let op = "StudyConfig";
        if self.parameters.len() != 5 {
            return Err(Error::invalid_option(
                op,
                "parameters",
                self.parameters.len(),
                "5 (C1, C2, lambda, kappa2, epsilon)",
            ));
        }
        ParameterSpace::new(self.parameters.clone())?;
        if let Some(p) = self.parameters.iter().find(|p| p.lo <= 0.0) {
            return Err(Error::invalid_option(
                op,
                format!("{}.lo", p.name),
                p.lo,
                "> 0 (physical parameters are positive)",
            ));
        }
        let total = self.design.runs.saturating_add(
            self.history
                .runs_per_wave
                .saturating_mul(self.history.waves.saturating_sub(1)),
        );
        if self.design.runs < 10 || total > MAX_STUDY_RUNS {
            return Err(Error::invalid_option(
                op,
                "runs",
                total,
                format!("at least 10 first-wave runs, at most {MAX_STUDY_RUNS} in all"),
            ));
        }
        if self.history.waves == 0 || self.history.waves > 10 {
            return Err(Error::invalid_option(
                op,
                "history.waves",
                self.history.waves,
                "between 1 and 10",
            ));
        }
        if self.history.waves > 1 && self.history.runs_per_wave < 10 {
            return Err(Error::invalid_option(
                op,
                "history.runs_per_wave",
                self.history.runs_per_wave,
                "≥ 10",
            ));
        }
        if self.history.periods.is_empty() {
            return Err(Error::invalid_option(
                op,
                "history.periods",
                "[]",
                "at least one period",
            ));
        }
        for &(a, b) in self
            .history
            .periods
            .iter()
            .chain([&self.sensitivity.period, &self.baseline])
        {
            if a > b || a < self.years.0 || b > self.years.1 {
                return Err(Error::invalid_option(
                    op,
                    "period",
                    format!("{a}–{b}"),
                    format!("inside {}–{}", self.years.0, self.years.1),
                ));
            }
        }
        if !(self.history.discrepancy_sd.is_finite() && self.history.discrepancy_sd >= 0.0) {
            return Err(Error::invalid_option(
                op,
                "history.discrepancy_sd",
                self.history.discrepancy_sd,
                "finite and ≥ 0",
            ));
        }
        if !(1_000..=100_000_000).contains(&self.history.candidates) {
            return Err(Error::invalid_option(
                op,
                "history.candidates",
                self.history.candidates,
                "between 10³ and 10⁸",
            ));
        }
        let c = &self.calibration;
        let work = c
            .chains
            .saturating_mul(c.warmup.saturating_add(c.draws))
            .saturating_mul(1024);
        if c.chains == 0 || c.draws == 0 || work > MAX_STUDY_SAMPLER_WORK {
            return Err(Error::invalid_option(
                op,
                "calibration",
                format!("{} chains × {} iterations", c.chains, c.warmup + c.draws),
                format!(
                    "≥ 1 chain and draw, chains × iterations ≤ {}",
                    MAX_STUDY_SAMPLER_WORK / 1024
                ),
            ));
        }
        c.discrepancy_sigma
            .validate("calibration.discrepancy_sigma")?;
        c.discrepancy_lengthscale
            .validate("calibration.discrepancy_lengthscale")?;
        if !(16..=1 << 20).contains(&self.sensitivity.base_samples)
            || self.sensitivity.bootstrap > 10_000
        {
            return Err(Error::invalid_option(
                op,
                "sensitivity",
                self.sensitivity.base_samples,
                "base_samples in 16..2²⁰, bootstrap ≤ 10⁴",
            ));
        }
        if !(self.emulator.pca_variance > 0.0 && self.emulator.pca_variance <= 1.0) {
            return Err(Error::invalid_option(
                op,
                "emulator.pca_variance",
                self.emulator.pca_variance,
                "in (0, 1]",
            ));
        }
        if !["constant", "linear"].contains(&self.emulator.mean.as_str()) {
            return Err(Error::invalid_option(
                op,
                "emulator.mean",
                &self.emulator.mean,
                "constant or linear",
            ));
        }
        self.compare.validate()?;
        if !(1..=50).contains(&self.emulator.restarts) {
            return Err(Error::invalid_option(
                op,
                "emulator.restarts",
                self.emulator.restarts,
                "between 1 and 50",
            ));
        }
        Ok(())
    }
}

/// One wave of history matching.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaveSummary {
    /// Wave number (1-based).
    pub wave: usize,
    /// Runs of this wave.
    pub runs: usize,
    /// Of which failed.
    pub failed: usize,
    /// Runs the wave's emulator was trained on.
    pub training_runs: usize,
    /// PCA components kept.
    pub components: usize,
    /// Estimated NROY fraction of the whole box after this wave.
    pub nroy_fraction: f64,
    /// Whether the observed-best run of all runs so far is still NROY (sanity).
    pub best_run_nroy: bool,
}

/// Leave-one-out summary of an emulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LooSummary {
    /// What was emulated.
    pub output: String,
    /// Observed outputs.
    pub y: Vec<f64>,
    /// LOO means.
    pub mean: Vec<f64>,
    /// LOO standard deviations.
    pub sd: Vec<f64>,
    /// Standardised errors.
    pub standardised: Vec<f64>,
    /// Coverage of the 95 % intervals.
    pub coverage95: f64,
    /// `Q²`.
    pub q2: f64,
}

/// Posterior summary of one parameter (physical units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSummary {
    /// Name.
    pub name: String,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
    /// 5 % quantile.
    pub q5: f64,
    /// Median.
    pub q50: f64,
    /// 95 % quantile.
    pub q95: f64,
    /// Split R-hat (unit-cube scale).
    pub rhat: Option<f64>,
    /// Bulk ESS.
    pub ess_bulk: Option<f64>,
}

/// The calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSummary {
    /// One row per parameter (then `sigma_delta`, `ell_delta`).
    pub parameters: Vec<ParamSummary>,
    /// Draws (physical units), thinned to at most 1,000, for the pairs plot.
    pub draws: Vec<Vec<f64>>,
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Sampler warnings.
    pub warnings: Vec<String>,
    /// The emulated record at the posterior mean, with its emulator sd.
    pub fitted_mean: Vec<f64>,
    /// Its emulator standard deviation.
    pub fitted_sd: Vec<f64>,
    /// Equilibrium climate sensitivity `F₂ₓ/λ` (F₂ₓ = 3.71 W m⁻²) over the draws: 5, 50, 95 %.
    pub ecs_quantiles: (f64, f64, f64),
}

/// Sobol' indices of the period mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensitivitySummary {
    /// The output.
    pub output: String,
    /// Parameter names.
    pub names: Vec<String>,
    /// First-order indices (Saltelli on the emulator mean).
    pub first: Vec<f64>,
    /// Total indices.
    pub total: Vec<f64>,
    /// Bootstrap intervals of `first`.
    pub first_ci: Vec<(f64, f64)>,
    /// Bootstrap intervals of `total`.
    pub total_ci: Vec<(f64, f64)>,
    /// First-order indices from the GP in closed form (emulator uncertainty included).
    pub gp_first: Option<Vec<f64>>,
    /// Total indices from the GP.
    pub gp_total: Option<Vec<f64>>,
    /// Why the GP route gave no indices (it loses its precision on an ill-conditioned
    /// emulator), if it did not.
    pub gp_note: Option<String>,
}

/// Everything the study produced (written as `results.json` by the CLI).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyResults {
    /// Parameter names.
    pub parameters: Vec<String>,
    /// The output years.
    pub years: Vec<i32>,
    /// Observed anomalies (from the baseline mean).
    pub observed: Vec<f64>,
    /// Their observation standard deviations.
    pub observed_sd: Vec<f64>,
    /// Waves, in order.
    pub waves: Vec<WaveSummary>,
    /// NROY fraction after each wave (as in `waves`).
    pub nroy_fraction: Vec<f64>,
    /// NROY points after the last wave (physical), at most 1,000, for the pairs plot.
    pub nroy_points: Vec<Vec<f64>>,
    /// Every run's input (physical) and wave, for the plots.
    pub run_inputs: Vec<Vec<f64>>,
    /// The wave of each run.
    pub run_waves: Vec<usize>,
    /// LOO of the first-wave emulator of the sensitivity period mean.
    pub loo: LooSummary,
    /// The calibration.
    pub calibration: CalibrationSummary,
    /// Sobol' indices.
    pub sensitivity: SensitivitySummary,
    /// The direct Kalman-filter posterior beside the calibrated one (`[compare]`).
    #[serde(default)]
    pub comparison: Option<KalmanComparison>,
}

/// Inputs (unit cube) and outputs of a set of runs.
type Runs = (Vec<Vec<f64>>, Vec<Vec<f64>>);

fn period_rows(years: &[i32], periods: &[(i32, i32)], baseline: (i32, i32)) -> Vec<Vec<f64>> {
    let _ = baseline;
    periods
        .iter()
        .map(|&(a, b)| {
            let len = (b - a + 1) as f64;
            years
                .iter()
                .map(|&y| if y >= a && y <= b { 1.0 / len } else { 0.0 })
                .collect()
        })
        .collect()
}

/// Runs the study: designs and runs (with `runner`; run logs `wave<k>.jsonl` under
/// `log_dir` make it resumable), emulators, waves, calibration and sensitivity.
pub fn run_study(
    config: &StudyConfig,
    runner: &dyn Runner,
    log_dir: Option<&Path>,
    progress: Option<ProgressFn<'_>>,
) -> Result<StudyResults> {
    config.validate()?;
    let read = |p: &Option<String>, shipped: &'static str| -> Result<String> {
        match p {
            None => Ok(shipped.to_string()),
            Some(path) => std::fs::read_to_string(path).map_err(|e| Error::InvalidArgument {
                op: "run_study",
                message: format!("{path}: {e}"),
            }),
        }
    };
    let temp = parse_temperature(
        &read(&config.temperature_file, HADCRUT5_CSV)?,
        "temperature",
    )?;
    let (f0, forcing) = parse_forcing(
        &read(&config.forcing_file, RCP_FORCING_CSV)?,
        "forcing",
        &config.forcing_scenario,
        "total_inclvolcanic_rf_wm2",
    )?;
    let sim = Ebm2BoxSimulator::new(forcing.clone(), f0, config.years, config.baseline)?;
    let years = sim.years();
    // Observations on the output years, as anomalies from their baseline mean.
    let mut obs = Vec::with_capacity(years.len());
    let mut obs_var = Vec::with_capacity(years.len());
    for &y in &years {
        let k = temp
            .years
            .iter()
            .position(|&t| t == y)
            .ok_or_else(|| Error::InvalidArgument {
                op: "run_study",
                message: format!("year {y} is missing from the temperature record"),
            })?;
        obs.push(temp.anomaly[k]);
        obs_var.push(temp.variance[k]);
    }
    let (b0, b1) = (
        (config.baseline.0 - config.years.0) as usize,
        (config.baseline.1 - config.years.0) as usize,
    );
    let base = obs[b0..=b1].iter().sum::<f64>() / (b1 - b0 + 1) as f64;
    obs.iter_mut().for_each(|v| *v -= base);

    let space = ParameterSpace::new(config.parameters.clone())?;
    let d = space.dim();
    let mut eopts = EmulatorOptions {
        kernel: config.emulator.kernel,
        mean: if config.emulator.mean == "linear" {
            MeanFunction::Linear
        } else {
            MeanFunction::Constant
        },
        ..EmulatorOptions::default()
    };
    eopts.fit = eopts
        .fit
        .with_starts(config.emulator.restarts, 1.0, config.seed);
    let rows = period_rows(&years, &config.history.periods, config.baseline);
    let targets: Vec<Target> = rows
        .iter()
        .zip(&config.history.periods)
        .map(|(row, &(a, b))| Target {
            name: format!("mean {a}–{b}"),
            value: row.iter().zip(&obs).map(|(w, o)| w * o).sum(),
            obs_var: row.iter().zip(&obs_var).map(|(w, v)| w * w * v).sum(),
            disc_var: config.history.discrepancy_sd.powi(2),
        })
        .collect();

    let mut waves: Vec<Wave> = Vec::new();
    let mut summaries = Vec::new();
    let mut all_x: Vec<Vec<f64>> = Vec::new(); // unit cube
    let mut all_y: Vec<Vec<f64>> = Vec::new();
    let mut run_inputs = Vec::new();
    let mut run_waves = Vec::new();
    let mut first_wave: Option<Runs> = None;
    let mut last_sample = None;
    for w in 1..=config.history.waves {
        let unit: Vec<Vec<f64>> = if w == 1 {
            let des = maximin_lhs(
                config.design.runs,
                d,
                &MaximinOptions {
                    iterations: config.design.maximin_iterations,
                    seed: config.seed,
                    ..Default::default()
                },
            )?;
            (0..des.n()).map(|i| des.point(i).to_vec()).collect()
        } else {
            let s = sample_nroy(
                &waves,
                d,
                &SampleOptions {
                    n: config.history.runs_per_wave,
                    max_candidates: config
                        .history
                        .candidates
                        .max(config.history.runs_per_wave * 1000),
                    batch: 50_000,
                    seed: config.seed.wrapping_add(w as u64),
                },
            )?;
            s.points.chunks(d).map(|c| c.to_vec()).collect()
        };
        if unit.len() < 2 {
            return Err(Error::InvalidArgument {
                op: "run_study",
                message: format!(
                    "wave {w}: fewer than 2 NROY points found; widen the ranges or the discrepancy"
                ),
            });
        }
        let phys: Vec<Vec<f64>> = unit
            .iter()
            .map(|u| space.to_physical(u))
            .collect::<Result<_>>()?;
        let ctl = RunControl {
            log: log_dir.map(|p| p.join(format!("wave{w}.jsonl"))),
            progress,
            ..Default::default()
        };
        let runs = runner.run(&sim, &phys, &ctl)?;
        let failed = runs.failures().len();
        let mut wave_x = Vec::new();
        let mut wave_y = Vec::new();
        for r in runs.records.iter().flatten() {
            if let crate::emulator::simulator::RunOutcome::Ok { outputs, .. } = &r.outcome {
                let u = space.to_unit(&r.input)?;
                run_inputs.push(r.input.clone());
                run_waves.push(w);
                wave_x.push(u.clone());
                wave_y.push(outputs.clone());
                all_x.push(u);
                all_y.push(outputs.clone());
            }
        }
        if w == 1 {
            first_wave = Some((wave_x.clone(), wave_y.clone()));
        }
        // Refocusing: train on every run so far that the earlier waves keep.
        let flat: Vec<f64> = all_x.iter().flatten().copied().collect();
        let keep = nroy_mask(&waves, &flat, d)?;
        let tx: Vec<f64> = all_x
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .flat_map(|(x, _)| x.iter().copied())
            .collect();
        let ty: Vec<Vec<f64>> = all_y
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(y, _)| y.clone())
            .collect();
        if ty.len() < 5 {
            return Err(Error::InvalidArgument {
                op: "run_study",
                message: format!(
                    "wave {w}: only {} successful runs in the NROY region",
                    ty.len()
                ),
            });
        }
        let xin = Inputs::new(ty.len(), d, tx)?;
        let pca = PcaEmulator::fit(
            &xin,
            &ty,
            Components::Variance(config.emulator.pca_variance),
            &eopts,
        )?;
        let components = pca.n_components();
        waves.push(Wave {
            predictor: Box::new(PcaFunctionals {
                emulator: pca,
                functionals: rows.clone(),
            }),
            targets: targets.clone(),
            options: HmOptions {
                cutoff: config.history.cutoff,
                order: config.history.order.min(rows.len()),
            },
        });
        let sample = sample_nroy(
            &waves,
            d,
            &SampleOptions {
                n: 1000,
                max_candidates: config.history.candidates,
                batch: 50_000.min(config.history.candidates),
                seed: config.seed ^ 0x5eed ^ w as u64,
            },
        )?;
        // The run closest to the observations (sum of squared errors) should stay NROY.
        let best = all_y
            .iter()
            .enumerate()
            .map(|(i, y)| {
                (
                    i,
                    y.iter()
                        .zip(&obs)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>(),
                )
            })
            .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a })
            .0;
        let best_nroy = nroy_mask(&waves, &all_x[best], d)?[0];
        summaries.push(WaveSummary {
            wave: w,
            runs: phys.len(),
            failed,
            training_runs: ty.len(),
            components,
            nroy_fraction: sample.fraction,
            best_run_nroy: best_nroy,
        });
        last_sample = Some(sample);
    }
    let sample = last_sample.expect("at least one wave ran");
    let nroy_points: Vec<Vec<f64>> = sample
        .points
        .chunks(d)
        .map(|u| space.to_physical(u))
        .collect::<Result<_>>()?;

    // Calibration on a PCA emulator of every run.
    let xin = Inputs::new(all_x.len(), d, all_x.iter().flatten().copied().collect())?;
    let pca_all = PcaEmulator::fit(
        &xin,
        &all_y,
        Components::Variance(config.emulator.pca_variance),
        &eopts,
    )?;
    let names = space.names();
    // Block means of the record: rows of A, observed means and their variances.
    let block = config.calibration.block_years;
    let blocks: Vec<Vec<f64>> = (0..years.len())
        .step_by(block)
        .map(|a| {
            let b = (a + block).min(years.len());
            let w = 1.0 / (b - a) as f64;
            (0..years.len())
                .map(|t| if t >= a && t < b { w } else { 0.0 })
                .collect()
        })
        .collect();
    let proj = Projected::new(&pca_all, &blocks)?;
    let kopts = KohOptions {
        observations: blocks
            .iter()
            .map(|r| r.iter().zip(&obs).map(|(w, o)| w * o).sum())
            .collect(),
        obs_var: blocks
            .iter()
            .map(|r| r.iter().zip(&obs_var).map(|(w, v)| w * w * v).sum())
            .collect(),
        locations: blocks
            .iter()
            .map(|r| {
                let (n, s) = r
                    .iter()
                    .zip(&years)
                    .filter(|(w, _)| **w > 0.0)
                    .fold((0.0, 0.0), |(n, s), (_, &y)| (n + 1.0, s + y as f64));
                s / n
            })
            .collect(),
        discrepancy: Discrepancy::Gp {
            sigma: config.calibration.discrepancy_sigma,
            lengthscale: config.calibration.discrepancy_lengthscale,
        },
        names: names.clone(),
    };
    let c = &config.calibration;
    let nuts = NutsOptions {
        n_chains: c.chains,
        n_warmup: c.warmup,
        n_draws: c.draws,
        seed: config.seed,
        // Start inside the box and at moderate discrepancy scales (σ_δ, ℓ_δ in e^±1).
        init: mechml_engine::infer::Init::Random { radius: 1.0 },
        ..NutsOptions::default()
    };
    let cal = calibrate(&proj, kopts, &nuts)?;
    let post = &cal.posterior;
    let rows_all: Vec<Vec<f64>> = post.rows().map(|r| r.to_vec()).collect();
    let to_phys = |r: &[f64]| -> Result<Vec<f64>> {
        let mut p = space.to_physical(&r[..d])?;
        p.extend_from_slice(&r[d..]);
        Ok(p)
    };
    let phys_draws: Vec<Vec<f64>> = rows_all.iter().map(|r| to_phys(r)).collect::<Result<_>>()?;
    let mut pnames = names.clone();
    pnames.push("sigma_delta".into());
    pnames.push("ell_delta".into());
    let parameters: Vec<ParamSummary> = pnames
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let mut v: Vec<f64> = phys_draws.iter().map(|r| r[j]).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>()
                / (v.len() as f64 - 1.0).max(1.0))
            .sqrt();
            v.sort_by(f64::total_cmp);
            let q = |p| mechml_engine::infer::stats::quantile_sorted(&v, p);
            let row = post.summary.row(n);
            ParamSummary {
                name: n.clone(),
                mean: m,
                sd,
                q5: q(0.05),
                q50: q(0.5),
                q95: q(0.95),
                rhat: row.and_then(|r| r.rhat),
                ess_bulk: row.and_then(|r| r.ess_bulk),
            }
        })
        .collect();
    let mut ecs: Vec<f64> = phys_draws.iter().map(|r| 3.71 / r[2]).collect();
    ecs.sort_by(f64::total_cmp);
    let qe = |p| mechml_engine::infer::stats::quantile_sorted(&ecs, p);
    let post_mean_unit: Vec<f64> = (0..d)
        .map(|j| rows_all.iter().map(|r| r[j]).sum::<f64>() / rows_all.len() as f64)
        .collect();
    let (fitted_mean, fitted_var) = pca_all.predict_field(&post_mean_unit)?;
    let stride = (phys_draws.len() / 1000).max(1);
    let calibration = CalibrationSummary {
        parameters,
        draws: phys_draws.iter().step_by(stride).cloned().collect(),
        divergences: post.diagnostics.divergences,
        warnings: post.diagnostics.warnings.clone(),
        fitted_mean,
        fitted_sd: fitted_var.iter().map(|v| v.sqrt()).collect(),
        ecs_quantiles: (qe(0.05), qe(0.5), qe(0.95)),
    };
    let comparison = if config.compare.kalman {
        let problem = DirectProblem {
            forcing: &forcing,
            first_year: f0,
            years: &years,
            obs: &obs,
            obs_var: &obs_var,
            space: &space,
        };
        Some(compare_with_kalman(
            &problem,
            &calibration,
            &phys_draws,
            &config.compare,
            config.seed ^ 0xca1,
        )?)
    } else {
        None
    };

    // Sensitivity and LOO on the first (space-filling) wave.
    let (fx, fy) = first_wave.expect("wave 1 ran");
    let (pa, pb) = config.sensitivity.period;
    let srow = &period_rows(&years, &[(pa, pb)], config.baseline)[0];
    let sy: Vec<f64> = fy
        .iter()
        .map(|y| y.iter().zip(srow).map(|(a, w)| a * w).sum())
        .collect();
    let sx = Inputs::new(fx.len(), d, fx.iter().flatten().copied().collect())?;
    let sopts = EmulatorOptions {
        mean: MeanFunction::Constant,
        kernel: KernelFamily::SquaredExponential,
        ..eopts.clone()
    };
    let semu = GpEmulator::fit(sx, &sy, &sopts)?;
    let l = loo(&semu)?;
    let output = format!("mean anomaly {pa}–{pb}");
    let loo_summary = LooSummary {
        output: output.clone(),
        sd: l.var.iter().map(|v| v.sqrt()).collect(),
        y: l.y,
        mean: l.mean,
        standardised: l.standardised,
        coverage95: l.coverage95,
        q2: l.q2,
    };
    let sens_opts = SensitivityOptions {
        n: config.sensitivity.base_samples,
        bootstrap: config.sensitivity.bootstrap,
        level: 0.95,
        seed: config.seed,
    };
    let design = saltelli_design(sens_opts.n, d, sens_opts.seed)?;
    let m = design.len() / d;
    let (mut ym, mut yv) = (vec![0.0; m], vec![0.0; m]);
    semu.predict_into(&design, &mut ym, &mut yv)?;
    let s = sobol_from_outputs(&ym, sens_opts.n, d, &sens_opts)?;
    let (gp_first, gp_total, gp_note) = match gp_sobol_indices(&semu) {
        Ok(g) => (Some(g.first), Some(g.total), None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    let sensitivity = SensitivitySummary {
        output,
        names: names.clone(),
        first: s.first,
        total: s.total,
        first_ci: s.first_ci,
        total_ci: s.total_ci,
        gp_first,
        gp_total,
        gp_note,
    };
    Ok(StudyResults {
        parameters: names,
        years,
        observed: obs,
        observed_sd: obs_var.iter().map(|v| v.sqrt()).collect(),
        nroy_fraction: summaries.iter().map(|w| w.nroy_fraction).collect(),
        waves: summaries,
        nroy_points,
        run_inputs,
        run_waves,
        loo: loo_summary,
        calibration,
        sensitivity,
        comparison,
    })
}
