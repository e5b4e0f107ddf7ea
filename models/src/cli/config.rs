//! The configuration file of `mechml run` (TOML) and its resolution into the data and
//! settings of the pipeline.
//!
//! ```toml
//! title = "HadCRUT5 and RCP forcing"
//!
//! [data]
//! temperature = "hadcrut5_gmst_annual.csv"   # relative to this file
//! time_column = "year"
//! value_column = "gmst_anomaly_degC"
//! lower_column = "lower_95_degC"             # optional 95 % interval: known noise
//! upper_column = "upper_95_degC"
//! forcing = "rcp_radiative_forcing.csv"
//! forcing_value_column = "total_inclvolcanic_rf_wm2"
//! forcing_scenario_column = "scenario"       # optional (long format)
//! historical_scenario = "rcp45"
//!
//! [model]
//! boxes = [2, 3]
//!
//! [projection]
//! scenarios = ["rcp26", "rcp45", "rcp60", "rcp85"]
//! end = 2100
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv;
use super::error::{CliError, CliResult};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// A title for the report.
    #[serde(default = "default_title")]
    pub title: String,
    /// Input files and columns.
    pub data: DataSection,
    /// Model settings.
    #[serde(default)]
    pub model: ModelSection,
    /// Optimiser settings.
    #[serde(default)]
    pub fit: FitSection,
    /// Projection settings.
    #[serde(default)]
    pub projection: ProjectionSection,
    /// The synthetic case with known truth.
    #[serde(default)]
    pub synthetic: SyntheticSection,
}

fn default_title() -> String {
    "Energy-balance model fit".into()
}

/// `[data]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Temperature CSV (path relative to the configuration file).
    pub temperature: String,
    /// Time column of the temperature file (years).
    #[serde(default = "default_year")]
    pub time_column: String,
    /// Temperature anomaly column (K); empty fields are missing years.
    pub value_column: String,
    /// Optional lower end of a 95 % interval (gives a known observation variance).
    pub lower_column: Option<String>,
    /// Optional upper end of the 95 % interval.
    pub upper_column: Option<String>,
    /// Forcing CSV (W m⁻²).
    pub forcing: String,
    /// Time column of the forcing file.
    #[serde(default = "default_year")]
    pub forcing_time_column: String,
    /// Forcing column.
    pub forcing_value_column: String,
    /// Optional scenario column (long format with several scenarios).
    pub forcing_scenario_column: Option<String>,
    /// Scenario whose forcing drives the fit (required with a scenario column).
    pub historical_scenario: Option<String>,
    /// First year of the model run (default: the first forcing year).
    pub start: Option<f64>,
}

fn default_year() -> String {
    "year".into()
}

/// `[model]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Numbers of boxes to fit and compare (2 and/or 3).
    #[serde(default = "default_boxes")]
    pub boxes: Vec<usize>,
    /// Hold the deep-ocean efficacy ε at this value (default 1). From temperature alone ε
    /// is not identifiable: it trades off exactly with the deep-ocean heat capacity and
    /// exchange (the response T₁/F depends on them only through combinations that absorb
    /// ε). Set `estimate_efficacy = true` to estimate it anyway (e.g. with flux data).
    #[serde(default = "default_efficacy")]
    pub fixed_efficacy: f64,
    /// Estimate ε instead of holding it at `fixed_efficacy`.
    #[serde(default)]
    pub estimate_efficacy: bool,
    /// Model the forcing as a stochastic state relaxing to the given forcing (γ, σ_η).
    #[serde(default)]
    pub stochastic_forcing: bool,
    /// First state: "stationary" (internal variability at rest) or "at_rest".
    #[serde(default = "default_prior")]
    pub prior: String,
    /// Forcing of doubled CO₂ for ECS and TCR (W m⁻²).
    #[serde(default = "default_f2x")]
    pub f2x: f64,
    /// Extra observation-noise standard deviation (K), added to any known variance.
    #[serde(default)]
    pub sigma_obs: f64,
}

fn default_efficacy() -> f64 {
    1.0
}
fn default_boxes() -> Vec<usize> {
    vec![2, 3]
}
fn default_prior() -> String {
    "stationary".into()
}
fn default_f2x() -> f64 {
    mechml_models_f2x()
}
fn mechml_models_f2x() -> f64 {
    crate::ssm::ebm::sensitivity::F2X_DEFAULT
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            boxes: default_boxes(),
            fixed_efficacy: default_efficacy(),
            estimate_efficacy: false,
            stochastic_forcing: false,
            prior: default_prior(),
            f2x: default_f2x(),
            sigma_obs: 0.0,
        }
    }
}

/// `[fit]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FitSection {
    /// Number of L-BFGS starts per model.
    #[serde(default = "default_starts")]
    pub starts: usize,
    /// Spread of the perturbed starts (unconstrained scale).
    #[serde(default = "default_spread")]
    pub spread: f64,
    /// L-BFGS iteration limit.
    #[serde(default = "default_iters")]
    pub max_iters: usize,
}

fn default_starts() -> usize {
    6
}
fn default_spread() -> f64 {
    0.5
}
fn default_iters() -> usize {
    500
}

impl Default for FitSection {
    fn default() -> Self {
        Self {
            starts: default_starts(),
            spread: default_spread(),
            max_iters: default_iters(),
        }
    }
}

/// `[projection]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectionSection {
    /// Scenarios to project (default: every scenario of the forcing file).
    pub scenarios: Option<Vec<String>>,
    /// Last year of the projections (default: the last forcing year, at most 2100).
    pub end: Option<f64>,
    /// Number of parameter draws for the uncertainty bands.
    #[serde(default = "default_ensemble")]
    pub ensemble: usize,
    /// Baseline period for warming figures.
    #[serde(default = "default_baseline")]
    pub baseline: [f64; 2],
    /// Period whose mean warming is reported.
    #[serde(default = "default_period")]
    pub period: [f64; 2],
}

fn default_ensemble() -> usize {
    200
}
fn default_baseline() -> [f64; 2] {
    [1850.0, 1900.0]
}
fn default_period() -> [f64; 2] {
    [2081.0, 2100.0]
}

impl Default for ProjectionSection {
    fn default() -> Self {
        Self {
            scenarios: None,
            end: None,
            ensemble: default_ensemble(),
            baseline: default_baseline(),
            period: default_period(),
        }
    }
}

/// `[synthetic]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSection {
    /// Whether to run the synthetic case (data simulated from the fitted 2-box model).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Number of replicates for the coverage of the 95 % intervals.
    #[serde(default = "default_reps")]
    pub replicates: usize,
}

fn default_true() -> bool {
    true
}
fn default_reps() -> usize {
    20
}

impl Default for SyntheticSection {
    fn default() -> Self {
        Self {
            enabled: true,
            replicates: default_reps(),
        }
    }
}

/// A forcing series on a regular annual grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Years.
    pub years: Vec<f64>,
    /// Values.
    pub values: Vec<f64>,
}

/// The temperature record.
#[derive(Clone, Debug, PartialEq)]
pub struct TemperatureRecord {
    /// Years (strictly increasing).
    pub years: Vec<f64>,
    /// Anomalies (NaN = missing).
    pub values: Vec<f64>,
    /// Known observation variance from the interval (0 if none given).
    pub known_var: Vec<f64>,
}

/// Everything the pipeline needs, checked.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The configuration as read.
    pub config: ConfigFile,
    /// Where the temperature came from (for the report).
    pub temperature_source: String,
    /// Where the forcing came from.
    pub forcing_source: String,
    /// Temperature record.
    pub temperature: TemperatureRecord,
    /// Forcing per scenario ("historical" when the file has no scenario column).
    pub forcing: BTreeMap<String, Series>,
    /// The scenario that drives the fit.
    pub historical: String,
    /// First year of the model run.
    pub start: f64,
}

/// Parses TOML text into a configuration; errors carry line and column.
pub fn parse_config(file: &str, text: &str) -> CliResult<ConfigFile> {
    toml::from_str::<ConfigFile>(text).map_err(|e| {
        let (line, col) = match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (Some(line), Some(col))
            }
            None => (None, None),
        };
        CliError::input(
            file,
            line,
            col,
            format!("invalid configuration: {}", e.message()),
        )
    })
}

/// Reads a configuration file and the files it names.
pub fn load(path: &Path) -> CliResult<Resolved> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::input(
            &label,
            None,
            None,
            format!("cannot read the configuration: {e}"),
        )
    })?;
    let config = parse_config(&label, &text)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read = |rel: &str| -> CliResult<(String, String)> {
        let p: PathBuf = base.join(rel);
        let l = p.display().to_string();
        let t = std::fs::read_to_string(&p).map_err(|e| {
            CliError::input(
                &label,
                None,
                None,
                format!("cannot read data file {l}: {e}"),
            )
        })?;
        Ok((l, t))
    };
    let (tl, tt) = read(&config.data.temperature)?;
    let (fl, ft) = read(&config.data.forcing)?;
    resolve(config, (&tl, &tt), (&fl, &ft))
}

/// Checks the configuration against the data (given as (label, text) pairs).
pub fn resolve(
    config: ConfigFile,
    temperature: (&str, &str),
    forcing: (&str, &str),
) -> CliResult<Resolved> {
    let d = &config.data;
    // Temperature.
    let tt = csv::parse(temperature.0, temperature.1)?;
    let tc = tt.column(&d.time_column)?;
    let vc = tt.column(&d.value_column)?;
    let years = tt.numeric(tc, false)?;
    let idx: Vec<usize> = (0..years.len()).collect();
    csv::check_increasing(&tt, tc, &years, &idx)?;
    let values = tt.numeric(vc, true)?;
    if values.iter().all(|v| v.is_nan()) {
        return Err(CliError::input(
            temperature.0,
            None,
            Some(vc + 1),
            format!(
                "column '{}' has no values: every entry is missing",
                d.value_column
            ),
        ));
    }
    let known_var = match (&d.lower_column, &d.upper_column) {
        (Some(lo), Some(hi)) => {
            let l = tt.numeric(tt.column(lo)?, true)?;
            let h = tt.numeric(tt.column(hi)?, true)?;
            let mut kv = Vec::with_capacity(l.len());
            for (i, (a, b)) in l.iter().zip(&h).enumerate() {
                if a.is_nan() || b.is_nan() {
                    kv.push(0.0);
                } else if b < a {
                    return Err(CliError::input(
                        temperature.0,
                        Some(tt.lines[i]),
                        None,
                        format!("the interval upper end {b} is below its lower end {a}"),
                    ));
                } else {
                    let sd = (b - a) / (2.0 * crate::ssm::fit::Z95);
                    kv.push(sd * sd);
                }
            }
            kv
        }
        (None, None) => vec![0.0; values.len()],
        _ => {
            return Err(CliError::input(
                "configuration",
                None,
                None,
                "give both lower_column and upper_column, or neither",
            ));
        }
    };
    for (i, y) in years.iter().enumerate() {
        if y.fract() != 0.0 {
            return Err(CliError::input(
                temperature.0,
                Some(tt.lines[i]),
                Some(tc + 1),
                format!("years must be whole numbers (annual data), got {y}"),
            ));
        }
    }
    // Forcing.
    let ftab = csv::parse(forcing.0, forcing.1)?;
    let ftc = ftab.column(&d.forcing_time_column)?;
    let fvc = ftab.column(&d.forcing_value_column)?;
    let fyears = ftab.numeric(ftc, false)?;
    let fvals = ftab.numeric(fvc, false)?;
    let scen_col = match &d.forcing_scenario_column {
        Some(s) => Some(ftab.column(s)?),
        None => None,
    };
    let mut rows_by: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in 0..fyears.len() {
        let key = scen_col.map_or_else(|| "historical".to_string(), |c| ftab.rows[r][c].clone());
        rows_by.entry(key).or_default().push(r);
    }
    let mut series = BTreeMap::new();
    for (name, rows) in &rows_by {
        let ys: Vec<f64> = rows.iter().map(|&r| fyears[r]).collect();
        csv::check_increasing(&ftab, ftc, &ys, rows)?;
        for (k, w) in ys.windows(2).enumerate() {
            if (w[1] - w[0] - 1.0).abs() > 1e-9 {
                return Err(CliError::input(
                    forcing.0,
                    Some(ftab.lines[rows[k + 1]]),
                    Some(ftc + 1),
                    format!(
                        "forcing must be annual without gaps: {} follows {}",
                        w[1], w[0]
                    ),
                ));
            }
        }
        series.insert(
            name.clone(),
            Series {
                years: ys,
                values: rows.iter().map(|&r| fvals[r]).collect(),
            },
        );
    }
    let historical = match (&d.historical_scenario, scen_col) {
        (Some(h), Some(_)) => {
            if !series.contains_key(h) {
                return Err(CliError::input(
                    forcing.0,
                    None,
                    None,
                    format!(
                        "historical_scenario '{h}' is not in the file (scenarios: {})",
                        series.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            h.clone()
        }
        (None, Some(_)) => {
            return Err(CliError::usage(
                "the forcing file has scenarios: set data.historical_scenario",
            ));
        }
        (_, None) => "historical".to_string(),
    };
    let hist = &series[&historical];
    let start = d.start.unwrap_or(hist.years[0]);
    let first_obs = years
        .iter()
        .zip(&values)
        .find(|(_, v)| !v.is_nan())
        .map(|(y, _)| *y)
        .unwrap_or(start);
    let last_obs = years
        .iter()
        .zip(&values)
        .rev()
        .find(|(_, v)| !v.is_nan())
        .map(|(y, _)| *y)
        .unwrap_or(start);
    if start < hist.years[0] || first_obs < start || last_obs > *hist.years.last().unwrap_or(&start)
    {
        return Err(CliError::usage(format!(
            "the forcing ({} to {}) must cover the model run from {start} to the last observation {last_obs}, and start ({start}) must not follow the first observation ({first_obs})",
            hist.years[0],
            hist.years.last().copied().unwrap_or(f64::NAN)
        )));
    }
    if let Some(sc) = &config.projection.scenarios {
        for s in sc {
            if !series.contains_key(s) {
                return Err(CliError::usage(format!(
                    "projection scenario '{s}' is not in the forcing file (scenarios: {})",
                    series.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }
    for &b in &config.model.boxes {
        if !(2..=3).contains(&b) {
            return Err(CliError::usage(format!(
                "model.boxes: {b} boxes are not supported (2 or 3)"
            )));
        }
    }
    if config.model.boxes.is_empty() {
        return Err(CliError::usage("model.boxes is empty"));
    }
    if !["stationary", "at_rest"].contains(&config.model.prior.as_str()) {
        return Err(CliError::usage(format!(
            "model.prior must be \"stationary\" or \"at_rest\", got \"{}\"",
            config.model.prior
        )));
    }
    if config.fit.starts == 0 || config.fit.max_iters == 0 {
        return Err(CliError::usage(
            "fit.starts and fit.max_iters must be at least 1",
        ));
    }
    if config.model.f2x.is_nan()
        || config.model.f2x <= 0.0
        || config.model.sigma_obs.is_nan()
        || config.model.sigma_obs < 0.0
    {
        return Err(CliError::usage(
            "model.f2x must be positive and model.sigma_obs non-negative",
        ));
    }
    Ok(Resolved {
        temperature_source: temperature.0.to_string(),
        forcing_source: forcing.0.to_string(),
        temperature: TemperatureRecord {
            years,
            values,
            known_var,
        },
        forcing: series,
        historical,
        start,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_example_equals_the_demo_configuration() {
        let text = include_str!("../../data/example.toml");
        let cfg = parse_config("example.toml", text).unwrap();
        assert_eq!(cfg, crate::cli::demo::config());
    }

    #[test]
    fn toml_errors_carry_line_and_column() {
        let e = parse_config("c.toml", "[data]\ntemperature = \"t.csv\"\nbogus = 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.toml:3:1: invalid configuration"),
            "{e}"
        );
    }
}
