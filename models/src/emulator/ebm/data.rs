//! The observations and forcing of the EBM study: HadCRUT5 annual global mean
//! temperature anomalies with their 95 % ensemble intervals, and RCP historical total
//! effective radiative forcing (volcanic included), as shipped in `models/data`
//! (provenance in the `.md` files beside them). Compiled in, so the study runs with no
//! files; other files in the same columns can be read instead.

use mechml_engine::{Error, Result};

/// The shipped HadCRUT5 file (`year,gmst_anomaly_degC,lower_95_degC,upper_95_degC`).
pub const HADCRUT5_CSV: &str = include_str!("../../../data/hadcrut5_gmst_annual.csv");
/// The shipped RCP forcing file (long format, one row per scenario and year).
pub const RCP_FORCING_CSV: &str = include_str!("../../../data/rcp_radiative_forcing.csv");

/// Annual temperature observations.
#[derive(Clone, Debug, PartialEq)]
pub struct TemperatureRecord {
    /// Years.
    pub years: Vec<i32>,
    /// Anomalies (K).
    pub anomaly: Vec<f64>,
    /// Observation variance from the 95 % interval: `((upper − lower) / (2 · 1.96))²`.
    pub variance: Vec<f64>,
}

fn bad(what: &str, line: usize, msg: impl std::fmt::Display) -> Error {
    Error::InvalidArgument {
        op: "emulate data",
        message: format!("{what}:{line}: {msg}"),
    }
}

/// Parses a temperature file with the columns of the shipped HadCRUT5 file.
pub fn parse_temperature(text: &str, what: &str) -> Result<TemperatureRecord> {
    let mut r = TemperatureRecord {
        years: Vec::new(),
        anomaly: Vec::new(),
        variance: Vec::new(),
    };
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 4 {
            return Err(bad(
                what,
                i + 1,
                "expected 4 columns: year, anomaly, lower_95, upper_95",
            ));
        }
        let num = |k: usize| {
            f[k].trim()
                .parse::<f64>()
                .map_err(|e| bad(what, i + 1, format!("column {}: {e}", k + 1)))
        };
        let (y, a, lo, hi) = (num(0)?, num(1)?, num(2)?, num(3)?);
        if ![y, a, lo, hi]
            .iter()
            .all(|v| v.is_finite() && v.abs() < 1e4)
            || hi < lo
        {
            return Err(bad(
                what,
                i + 1,
                "values must be finite, plausible, and lower ≤ upper",
            ));
        }
        if let Some(&last) = r.years.last()
            && y as i32 != last + 1
        {
            return Err(bad(what, i + 1, format!("year {y} does not follow {last}")));
        }
        r.years.push(y as i32);
        r.anomaly.push(a);
        r.variance
            .push(((hi - lo) / (2.0 * 1.959_963_984_540_054)).powi(2));
    }
    if r.years.is_empty() {
        return Err(bad(what, 1, "no data rows"));
    }
    Ok(r)
}

/// Reads one scenario's column `column` from the long-format forcing file: returns the
/// first year and the annual values.
pub fn parse_forcing(
    text: &str,
    what: &str,
    scenario: &str,
    column: &str,
) -> Result<(i32, Vec<f64>)> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l).unwrap_or("");
    let cols: Vec<&str> = header.split(',').map(|s| s.trim()).collect();
    let c = cols
        .iter()
        .position(|c| *c == column)
        .ok_or_else(|| bad(what, 1, format!("no column `{column}`")))?;
    let mut first = None;
    let mut vals = Vec::new();
    for (i, line) in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f.first().map(|s| s.trim()) != Some(scenario) {
            continue;
        }
        if f.len() <= c {
            return Err(bad(what, i + 1, "too few columns"));
        }
        let y: i32 = f[1]
            .trim()
            .parse()
            .map_err(|e| bad(what, i + 1, format!("year: {e}")))?;
        let v: f64 = f[c]
            .trim()
            .parse()
            .map_err(|e| bad(what, i + 1, format!("{column}: {e}")))?;
        if !v.is_finite() {
            return Err(bad(what, i + 1, "non-finite forcing"));
        }
        match first {
            None => first = Some(y),
            Some(f0) if y != f0 + vals.len() as i32 => {
                return Err(bad(what, i + 1, format!("year {y} out of sequence")));
            }
            _ => {}
        }
        vals.push(v);
    }
    let first = first.ok_or_else(|| bad(what, 1, format!("no rows of scenario `{scenario}`")))?;
    Ok((first, vals))
}
