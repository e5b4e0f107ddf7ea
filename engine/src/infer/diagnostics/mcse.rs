//! Monte Carlo standard errors (Vehtari et al. 2021, §4.4; the `posterior` R package's
//! `mcse_mean` and `mcse_quantile`).
//!
//! * Mean: `sd / √ESS_mean`.
//! * Quantile `q_p`: with `S_eff` the ESS of `I(θ ≤ q_p)`, the ±1σ points
//!   `a = (B⁻¹(0.1587), B⁻¹(0.8413))` of `Beta(S_eff p + 1, S_eff (1 − p) + 1)` select
//!   the order statistics `θ_(⌊a₁S⌋)` and `θ_(⌈a₂S⌉)` of all `S` draws; the MCSE is half
//!   their distance (eq. 17–18).

use super::ess::{check_chains, ess_mean, ess_quantile};
use crate::error::Result;
use crate::infer::stats::beta_quantile;

/// Monte Carlo standard error of the posterior mean.
pub fn mcse_mean(chains: &[&[f64]]) -> Result<f64> {
    check_chains("mcse_mean", chains)?;
    let all: Vec<f64> = chains.iter().flat_map(|c| c.iter().copied()).collect();
    let n = all.len() as f64;
    let m = all.iter().sum::<f64>() / n;
    let sd = (all.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt();
    Ok(sd / ess_mean(chains)?.sqrt())
}

/// Monte Carlo standard error of the `p`-quantile.
pub fn mcse_quantile(chains: &[&[f64]], p: f64) -> Result<f64> {
    check_chains("mcse_quantile", chains)?;
    let ess = ess_quantile(chains, p)?;
    if ess.is_nan() {
        return Ok(f64::NAN);
    }
    let mut all: Vec<f64> = chains.iter().flat_map(|c| c.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let s = all.len();
    // Φ(∓1) to the 7 digits the reference implementations use.
    let (lo_p, hi_p) = (0.158_655_3, 0.841_344_7);
    let a1 = beta_quantile(ess * p + 1.0, ess * (1.0 - p) + 1.0, lo_p);
    let a2 = beta_quantile(ess * p + 1.0, ess * (1.0 - p) + 1.0, hi_p);
    // 1-based order statistics as in the reference implementation.
    let i1 = ((a1 * s as f64).floor() as usize).max(1);
    let i2 = ((a2 * s as f64).ceil() as usize).min(s);
    Ok((all[i2 - 1] - all[i1 - 1]) / 2.0)
}
