//! Reading the data files a configuration names and checking the configuration against
//! them: the temperature record, the forcing per scenario, and the span of the model run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::schema::ConfigFile;
use super::source::{ConfigSource, parse_config};
use super::validate::check_settings;
use crate::cli::csv;
use crate::cli::error::{CliError, CliResult};

/// Plausible temperature anomalies and interval ends (K): anything beyond is a unit
/// mistake or a corrupt value (e.g. 1e308), refused with its line and column.
pub const TEMPERATURE_RANGE: (f64, f64) = (-100.0, 100.0);
/// Plausible effective radiative forcing (W m⁻²; quadrupled CO₂ is about 8, the largest
/// volcanic eruptions about −10 as annual means).
pub const FORCING_RANGE: (f64, f64) = (-1000.0, 1000.0);
/// Plausible years (the model runs on an annual grid between them).
pub const YEAR_RANGE: (f64, f64) = (-100_000.0, 100_000.0);
/// Fewest observed years accepted for any fit.
pub const MIN_OBSERVATIONS: usize = 30;
/// Fewest observed years per free parameter of the largest model fitted.
pub const MIN_OBSERVATIONS_PER_PARAMETER: usize = 5;

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
    csv::check_range(&tt, tc, &years, YEAR_RANGE, "year")?;
    let idx: Vec<usize> = (0..years.len()).collect();
    csv::check_increasing(&tt, tc, &years, &idx)?;
    let values = tt.numeric(vc, true)?;
    csv::check_range(
        &tt,
        vc,
        &values,
        TEMPERATURE_RANGE,
        "temperature anomaly (K)",
    )?;
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
            let lc = tt.column(lo)?;
            let l = tt.numeric(lc, true)?;
            csv::check_range(&tt, lc, &l, TEMPERATURE_RANGE, "temperature (K)")?;
            let hc = tt.column(hi)?;
            let h = tt.numeric(hc, true)?;
            csv::check_range(&tt, hc, &h, TEMPERATURE_RANGE, "temperature (K)")?;
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
    csv::check_range(&ftab, ftc, &fyears, YEAR_RANGE, "year")?;
    let fvals = ftab.numeric(fvc, false)?;
    csv::check_range(&ftab, fvc, &fvals, FORCING_RANGE, "forcing (W m⁻²)")?;
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
    let res = Resolved {
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
    };
    check_enough_observations(&res, observed.len(), (tt.header_line, vc + 1))?;
    Ok(res)
}

/// The identifiability guard on the record's length: every model to be fitted needs at
/// least [`MIN_OBSERVATIONS`] observed years and [`MIN_OBSERVATIONS_PER_PARAMETER`] per
/// free parameter. With fewer, the likelihood cannot separate the heat capacities,
/// exchange coefficients and noise (a three-year record gave ECS 220 K).
fn check_enough_observations(
    res: &Resolved,
    n_obs: usize,
    (line, col): (usize, usize),
) -> CliResult<()> {
    for &k in &res.config.model.boxes {
        let ebm = crate::ssm::ebm::KBoxEbm::new(k, res.config.model.stochastic_forcing, false)?;
        let n_free = res.params(&ebm)?.n_free();
        let need = MIN_OBSERVATIONS.max(MIN_OBSERVATIONS_PER_PARAMETER * n_free);
        if n_obs < need {
            return Err(CliError::input(
                &res.temperature_source,
                Some(line),
                Some(col),
                format!(
                    "too few observations: {n_obs} observed years, but the {k}-box model has {n_free} free parameters and needs at least {need} (the larger of {MIN_OBSERVATIONS} and {MIN_OBSERVATIONS_PER_PARAMETER} per free parameter); use a longer record or fewer boxes (model.boxes)"
                ),
            ));
        }
    }
    Ok(())
}
