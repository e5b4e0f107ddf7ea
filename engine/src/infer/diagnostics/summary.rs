//! The posterior summary table: per quantity the mean, standard deviation, 5 %, 50 % and
//! 95 % quantiles, the MCSE of the mean, bulk- and tail-ESS and R̂; printable and
//! serialisable.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ess::{ess_bulk, ess_tail, rhat};
use super::mcse::mcse_mean;
use crate::error::Result;
use crate::infer::stats::quantile_sorted;

/// `Some(x)` for a finite `x` (JSON has no NaN).
pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// One row of a [`Summary`]. Diagnostics are `None` where undefined (too few draws,
/// constant draws).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Quantity name.
    pub name: String,
    /// Mean over all draws.
    pub mean: f64,
    /// Standard deviation over all draws.
    pub sd: f64,
    /// 5 % quantile.
    pub q5: f64,
    /// Median.
    pub q50: f64,
    /// 95 % quantile.
    pub q95: f64,
    /// Monte Carlo standard error of the mean.
    pub mcse_mean: Option<f64>,
    /// Bulk effective sample size.
    pub ess_bulk: Option<f64>,
    /// Tail effective sample size.
    pub ess_tail: Option<f64>,
    /// Rank-normalised split-R̂ (needs at least 2 split chains).
    pub rhat: Option<f64>,
}

impl SummaryRow {
    /// The row for one quantity's draws, one slice per chain.
    pub fn new(name: impl Into<String>, chains: &[&[f64]]) -> Result<Self> {
        let mut all: Vec<f64> = chains.iter().flat_map(|c| c.iter().copied()).collect();
        let n = all.len() as f64;
        let mean = all.iter().sum::<f64>() / n;
        let sd = (all.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt();
        all.sort_by(f64::total_cmp);
        Ok(Self {
            name: name.into(),
            mean,
            sd,
            q5: quantile_sorted(&all, 0.05),
            q50: quantile_sorted(&all, 0.5),
            q95: quantile_sorted(&all, 0.95),
            mcse_mean: finite(mcse_mean(chains)?),
            ess_bulk: finite(ess_bulk(chains)?),
            ess_tail: finite(ess_tail(chains)?),
            rhat: finite(rhat(chains)?),
        })
    }
}

/// A table of [`SummaryRow`]s.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// One row per quantity.
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    /// The row of `name`, if present.
    pub fn row(&self, name: &str) -> Option<&SummaryRow> {
        self.rows.iter().find(|r| r.name == name)
    }
    /// The largest R̂ over the rows (`None` if no row has one).
    pub fn max_rhat(&self) -> Option<f64> {
        self.rows.iter().filter_map(|r| r.rhat).reduce(f64::max)
    }
    /// The smallest bulk-ESS over the rows.
    pub fn min_ess_bulk(&self) -> Option<f64> {
        self.rows.iter().filter_map(|r| r.ess_bulk).reduce(f64::min)
    }
    /// The smallest tail-ESS over the rows.
    pub fn min_ess_tail(&self) -> Option<f64> {
        self.rows.iter().filter_map(|r| r.ess_tail).reduce(f64::min)
    }
}

fn opt(x: Option<f64>, prec: usize) -> String {
    x.map_or_else(|| "NA".into(), |v| format!("{v:.prec$}"))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:<w$} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>8} {:>8} {:>6}",
            "name", "mean", "sd", "q5", "q50", "q95", "mcse", "ess_bulk", "ess_tail", "rhat"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<w$} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>9} {:>8} {:>8} {:>6}",
                r.name,
                r.mean,
                r.sd,
                r.q5,
                r.q50,
                r.q95,
                opt(r.mcse_mean, 4),
                opt(r.ess_bulk, 0),
                opt(r.ess_tail, 0),
                opt(r.rhat, 3)
            )?;
        }
        Ok(())
    }
}
