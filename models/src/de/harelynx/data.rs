//! The pelt counts: yearly hare and lynx numbers, checked (strictly increasing whole
//! years, positive finite counts), and the shipped Hudson's Bay Company record.

use mechml_engine::{Error, Result};

/// The Hudson's Bay Company hare and lynx pelts, 1900–1920, in thousands
/// (`models/data/hudson_bay_hare_lynx_1900_1920.{csv,md}`: provenance in the `.md`).
pub const HUDSON_BAY_CSV: &str = include_str!("../../../data/hudson_bay_hare_lynx_1900_1920.csv");

/// Largest number of years a record may hold (a bound on the work of every fit).
pub const MAX_YEARS: usize = 10_000;

/// Yearly counts of prey (hare) and predator (lynx): `hare[k]`, `lynx[k]` in year
/// `years[k]`. Time in the model is `t = year − years[0]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pelts {
    years: Vec<f64>,
    hare: Vec<f64>,
    lynx: Vec<f64>,
}

impl Pelts {
    /// A record, checked: 3 to [`MAX_YEARS`] years, finite and strictly increasing; one
    /// hare and one lynx count per year, each finite and `> 0` (the noise is log-normal).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first offending entry.
    ///
    /// ```
    /// use mechml_models::de::harelynx::Pelts;
    /// assert!(Pelts::new(vec![0.0, 1.0, 2.0], vec![3.0, 4.0, 5.0], vec![1.0, 0.0, 2.0]).is_err());
    /// assert!(Pelts::new(vec![0.0, 1.0, 2.0], vec![3.0, 4.0], vec![1.0, 1.5, 2.0]).is_err());
    /// ```
    pub fn new(years: Vec<f64>, hare: Vec<f64>, lynx: Vec<f64>) -> Result<Self> {
        let op = "harelynx::Pelts";
        if !(3..=MAX_YEARS).contains(&years.len()) {
            return Err(Error::invalid_option(
                op,
                "years",
                format!("{} years", years.len()),
                format!("between 3 and {MAX_YEARS} years"),
            ));
        }
        for (name, v) in [("hare", &hare), ("lynx", &lynx)] {
            if v.len() != years.len() {
                return Err(Error::invalid_option(
                    op,
                    name,
                    format!("{} counts", v.len()),
                    format!("one count per year ({})", years.len()),
                ));
            }
            if let Some((k, c)) = v
                .iter()
                .enumerate()
                .find(|(_, c)| !(c.is_finite() && **c > 0.0))
            {
                return Err(Error::invalid_option(
                    op,
                    format!("{name}[{k}]"),
                    c,
                    "a finite count > 0 (the observation noise is log-normal)",
                ));
            }
        }
        for k in 0..years.len() {
            if !years[k].is_finite() || (k > 0 && years[k] <= years[k - 1]) {
                return Err(Error::invalid_option(
                    op,
                    format!("years[{k}]"),
                    years[k],
                    "finite and strictly increasing",
                ));
            }
        }
        Ok(Self { years, hare, lynx })
    }

    /// Parses `year,hare,lynx` lines after one header line (empty lines skipped).
    ///
    /// # Errors
    /// A line that is not three numbers (naming the line), or the checks of [`Pelts::new`].
    pub fn from_csv(text: &str) -> Result<Self> {
        let (mut years, mut hare, mut lynx) = (Vec::new(), Vec::new(), Vec::new());
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<Option<f64>> = line.split(',').map(|s| s.trim().parse().ok()).collect();
            match f.as_slice() {
                [Some(y), Some(h), Some(l)] => {
                    years.push(*y);
                    hare.push(*h);
                    lynx.push(*l);
                }
                _ => {
                    return Err(Error::invalid_option(
                        "harelynx::Pelts::from_csv",
                        format!("line {}", i + 1),
                        line,
                        "three numbers: year,hare,lynx",
                    ));
                }
            }
            if years.len() > MAX_YEARS {
                break;
            }
        }
        Self::new(years, hare, lynx)
    }

    /// The Hudson's Bay Company record 1900–1920 ([`HUDSON_BAY_CSV`]).
    ///
    /// # Errors
    /// None in practice (the shipped file is checked by the tests).
    pub fn hudson_bay() -> Result<Self> {
        Self::from_csv(HUDSON_BAY_CSV)
    }

    /// Calendar years.
    pub fn years(&self) -> &[f64] {
        &self.years
    }

    /// Model times `t_k = years[k] − years[0]` (the first is 0, the initial state's).
    pub fn times(&self) -> Vec<f64> {
        self.years.iter().map(|y| y - self.years[0]).collect()
    }

    /// Prey (hare) counts.
    pub fn hare(&self) -> &[f64] {
        &self.hare
    }

    /// Predator (lynx) counts.
    pub fn lynx(&self) -> &[f64] {
        &self.lynx
    }

    /// Number of years.
    pub fn len(&self) -> usize {
        self.years.len()
    }

    /// Always false (a record has at least 3 years); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.years.is_empty()
    }
}
