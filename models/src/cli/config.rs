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

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses TOML text into a configuration; errors carry line and column.
pub fn parse_config(file: &str, text: &str) -> CliResult<ConfigFile> {
    toml::from_str::<ConfigFile>(text).map_err(|e| {
        let (line, col) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
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

/// Where a configuration came from: a label for messages and, for a file, its text, so
/// that an error about a setting can name the line and column of the setting.
#[derive(Clone, Debug)]
pub struct ConfigSource {
    /// The file name (or a description of an embedded configuration).
    pub label: String,
    /// The TOML text, if there is one.
    pub text: Option<String>,
}

impl ConfigSource {
    /// A configuration file with its text.
    pub fn file(label: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            text: Some(text.into()),
        }
    }

    /// A configuration built in the program (no text to point into).
    pub fn embedded(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            text: None,
        }
    }

    /// Line and column of the value at `path` (table keys, and array indices as
    /// numbers), e.g. `["model", "boxes", "1"]`; the deepest part of the path that is
    /// present in the file is located (a key left at its default points at its table).
    pub fn locate(&self, path: &[&str]) -> (Option<usize>, Option<usize>) {
        let Some(text) = &self.text else {
            return (None, None);
        };
        let Ok(root) = toml::de::DeTable::parse(text) else {
            return (None, None);
        };
        let mut span: Option<std::ops::Range<usize>> = None;
        let mut node: Option<&toml::Spanned<toml::de::DeValue<'_>>> = None;
        for (depth, key) in path.iter().enumerate() {
            let next = if depth == 0 {
                root.get_ref().get(*key)
            } else {
                match node {
                    Some(v) => match key.parse::<usize>() {
                        Ok(i) if v.get_ref().is_array() => v.get_ref().get(i),
                        _ => v.get_ref().get(*key),
                    },
                    None => None,
                }
            };
            match next {
                Some(v) => {
                    span = Some(v.span());
                    node = Some(v);
                }
                None => break,
            }
        }
        match span {
            Some(sp) => {
                let (l, c) = line_col(text, sp.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        }
    }

    /// An input error about the setting at `path`, with its line and column.
    pub fn error(&self, path: &[&str], message: impl Into<String>) -> CliError {
        let (line, column) = self.locate(path);
        CliError::input(
            &self.label,
            line,
            column,
            format!("{}: {}", path_name(path), message.into()),
        )
    }
}

/// `model.boxes[1]` from `["model", "boxes", "1"]`.
fn path_name(path: &[&str]) -> String {
    let mut s = String::new();
    for p in path {
        if p.parse::<usize>().is_ok() {
            s.push_str(&format!("[{p}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(p);
        }
    }
    s
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
    let source = ConfigSource::file(&label, text);
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read = |key: &str, rel: &str| -> CliResult<(String, String)> {
        let p: PathBuf = base.join(rel);
        let l = p.display().to_string();
        let t = std::fs::read_to_string(&p)
            .map_err(|e| source.error(&["data", key], format!("cannot read {l}: {e}")))?;
        Ok((l, t))
    };
    let (tl, tt) = read("temperature", &config.data.temperature)?;
    let (fl, ft) = read("forcing", &config.data.forcing)?;
    resolve(config, &source, (&tl, &tt), (&fl, &ft))
}

/// Checks the settings that do not depend on the data; errors point at the setting.
fn check_settings(config: &ConfigFile, src: &ConfigSource) -> CliResult<()> {
    let m = &config.model;
    if m.boxes.is_empty() {
        return Err(src.error(&["model", "boxes"], "is empty; give 2, 3 or both"));
    }
    for (i, &b) in m.boxes.iter().enumerate() {
        if !(2..=3).contains(&b) {
            let idx = i.to_string();
            return Err(src.error(
                &["model", "boxes", &idx],
                format!("{b} boxes are not supported (2 or 3)"),
            ));
        }
    }
    if !["stationary", "at_rest"].contains(&m.prior.as_str()) {
        return Err(src.error(
            &["model", "prior"],
            format!("must be \"stationary\" or \"at_rest\", got \"{}\"", m.prior),
        ));
    }
    if !(m.f2x > 0.0 && m.f2x.is_finite()) {
        return Err(src.error(
            &["model", "f2x"],
            format!(
                "the forcing of doubled CO₂ must be positive (W m⁻²), got {}",
                m.f2x
            ),
        ));
    }
    if !(m.sigma_obs >= 0.0 && m.sigma_obs.is_finite()) {
        return Err(src.error(
            &["model", "sigma_obs"],
            format!("must be non-negative (K), got {}", m.sigma_obs),
        ));
    }
    if !(m.fixed_efficacy > 0.0 && m.fixed_efficacy.is_finite()) {
        return Err(src.error(
            &["model", "fixed_efficacy"],
            format!("the efficacy must be positive, got {}", m.fixed_efficacy),
        ));
    }
    let f = &config.fit;
    if f.starts == 0 {
        return Err(src.error(&["fit", "starts"], "must be at least 1"));
    }
    if f.max_iters == 0 {
        return Err(src.error(&["fit", "max_iters"], "must be at least 1"));
    }
    if !(f.spread >= 0.0 && f.spread.is_finite()) {
        return Err(src.error(
            &["fit", "spread"],
            format!("must be non-negative, got {}", f.spread),
        ));
    }
    let p = &config.projection;
    if p.ensemble == 0 {
        return Err(src.error(&["projection", "ensemble"], "must be at least 1"));
    }
    for (key, r) in [("baseline", p.baseline), ("period", p.period)] {
        if !(r[0].is_finite() && r[1].is_finite() && r[0] <= r[1]) {
            return Err(src.error(
                &["projection", key],
                format!("must be [first year, last year], got [{}, {}]", r[0], r[1]),
            ));
        }
    }
    if let Some(end) = p.end
        && !end.is_finite()
    {
        return Err(src.error(&["projection", "end"], format!("is {end}")));
    }
    let d = &config.data;
    match (&d.lower_column, &d.upper_column) {
        (Some(_), None) => {
            return Err(src.error(
                &["data", "lower_column"],
                "give upper_column too (both ends of the interval), or neither",
            ));
        }
        (None, Some(_)) => {
            return Err(src.error(
                &["data", "upper_column"],
                "give lower_column too (both ends of the interval), or neither",
            ));
        }
        _ => {}
    }
    if let Some(st) = d.start
        && st.fract() != 0.0
    {
        return Err(src.error(
            &["data", "start"],
            format!("must be a whole year, got {st}"),
        ));
    }
    Ok(())
}

/// Checks the configuration against the data (given as (label, text) pairs); errors about
/// a setting name the configuration file, line and column (from `source`), errors about
/// the data the data file, line and column.
pub fn resolve(
    config: ConfigFile,
    source: &ConfigSource,
    temperature: (&str, &str),
    forcing: (&str, &str),
) -> CliResult<Resolved> {
    check_settings(&config, source)?;
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
            Some(tt.header_line),
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
            let hc = tt.column(hi)?;
            let h = tt.numeric(hc, true)?;
            let mut kv = Vec::with_capacity(l.len());
            for (i, (a, b)) in l.iter().zip(&h).enumerate() {
                if a.is_nan() || b.is_nan() {
                    kv.push(0.0);
                } else if b < a {
                    return Err(CliError::input(
                        temperature.0,
                        Some(tt.lines[i]),
                        Some(hc + 1),
                        format!("the interval upper end {b} is below its lower end {a}"),
                    ));
                } else {
                    let sd = (b - a) / (2.0 * crate::ssm::fit::Z95);
                    kv.push(sd * sd);
                }
            }
            kv
        }
        _ => vec![0.0; values.len()],
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
    if fyears.is_empty() {
        return Err(CliError::input(
            forcing.0,
            None,
            None,
            "the forcing file has no rows",
        ));
    }
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
    let names = || series.keys().cloned().collect::<Vec<_>>().join(", ");
    let historical = match (&d.historical_scenario, scen_col) {
        (Some(h), Some(_)) => {
            if !series.contains_key(h) {
                return Err(source.error(
                    &["data", "historical_scenario"],
                    format!(
                        "'{h}' is not a scenario of {} (scenarios: {})",
                        forcing.0,
                        names()
                    ),
                ));
            }
            h.clone()
        }
        (None, Some(_)) => {
            return Err(source.error(
                &["data", "forcing_scenario_column"],
                format!(
                    "{} has several scenarios ({}): set data.historical_scenario to the one that drives the fit",
                    forcing.0,
                    names()
                ),
            ));
        }
        (_, None) => "historical".to_string(),
    };
    let hist = &series[&historical];
    let (h0, h1) = (hist.years[0], hist.years[hist.years.len() - 1]);
    let start = d.start.unwrap_or(h0);
    let observed: Vec<f64> = years
        .iter()
        .zip(&values)
        .filter(|(_, v)| !v.is_nan())
        .map(|(y, _)| *y)
        .collect();
    let (first_obs, last_obs) = (observed[0], observed[observed.len() - 1]);
    // The historical forcing must cover the model run, start to last observation.
    let coverage = |msg: String| {
        if d.start.is_some() {
            source.error(&["data", "start"], msg)
        } else {
            source.error(&["data", "forcing"], msg)
        }
    };
    if start < h0 {
        return Err(coverage(format!(
            "the model run starts in {start}, but the forcing ({} '{historical}') starts in {h0}",
            forcing.0
        )));
    }
    if first_obs < start {
        return Err(coverage(format!(
            "the first observation ({first_obs}) precedes the start of the model run ({start})"
        )));
    }
    if last_obs > h1 {
        return Err(coverage(format!(
            "the forcing ({} '{historical}') ends in {h1}, before the last observation ({last_obs})",
            forcing.0
        )));
    }
    // Every projection scenario must continue the forcing from the year after the last
    // observation to the end of the projection.
    let pc = &config.projection;
    let scenarios: Vec<(String, Option<usize>)> = match &pc.scenarios {
        Some(sc) => sc
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), Some(i)))
            .collect(),
        None => series
            .keys()
            .filter(|k| *k != "historical" || series.len() == 1)
            .map(|k| (k.clone(), None))
            .collect(),
    };
    for (sc, index) in &scenarios {
        let index = index.map(|i| i.to_string());
        let path: Vec<&str> = match &index {
            Some(i) => vec!["projection", "scenarios", i],
            None => vec!["data", "forcing"],
        };
        let path = path.as_slice();
        let Some(ser) = series.get(sc) else {
            return Err(source.error(
                path,
                format!(
                    "scenario '{sc}' is not in {} (scenarios: {})",
                    forcing.0,
                    names()
                ),
            ));
        };
        let (s0, s1) = (ser.years[0], ser.years[ser.years.len() - 1]);
        let end = pc.end.unwrap_or(s1.min(2100.0)).max(last_obs);
        if end > last_obs {
            if s0 > last_obs + 1.0 {
                return Err(source.error(
                    path,
                    format!(
                        "scenario '{sc}' starts in {s0}; it must continue the forcing from {} (the year after the last observation)",
                        last_obs + 1.0
                    ),
                ));
            }
            if s1 < end {
                let p: &[&str] = if pc.end.is_some() {
                    &["projection", "end"]
                } else {
                    path
                };
                return Err(source.error(
                    p,
                    format!("scenario '{sc}' has no forcing for {end} (it ends in {s1})"),
                ));
            }
        }
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
