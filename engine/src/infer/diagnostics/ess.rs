//! Effective sample size and split-R̂ on several chains of one quantity (Vehtari, Gelman,
//! Simpson, Carpenter & Bürkner 2021, "Rank-normalization, folding, and localization: an
//! improved R̂ for assessing convergence of MCMC", Bayesian Analysis 16(2), 667–718).
//!
//! * Chains are split in halves (a middle draw of an odd-length chain is dropped).
//! * Split-R̂ (§2, eq. 3–4): with `N` draws per split chain, `W` the mean within-chain
//!   variance and `B/N` the variance of the chain means,
//!   `R̂ = √(((N−1)/N · W + B/N) / W)`.
//! * Rank normalisation (§4.1, eq. 14): `z = Φ⁻¹((r − 3/8) / (S + 1/4))` with `r` the
//!   average rank among all `S` draws. Bulk-R̂ is R̂ of `z`; the folded draws
//!   `|θ − median θ|` give tail-R̂; the reported R̂ is the larger (§4.2).
//! * ESS (§3, eq. 10–11): `ρ̂_t = 1 − (W − (1/M) Σ_m s_m² ρ̂_{t,m}) / var⁺` from each
//!   chain's autocovariances, summed with Geyer's (1992) initial positive and initial
//!   monotone sequences, `τ̂ = −1 + 2 Σ_{t=0}^{2k+1} ρ̂_t` (with the last even lag's
//!   correction), `ESS = MN / max(τ̂, 1/log₁₀(MN))`. Bulk-ESS is the ESS of the
//!   rank-normalised split chains; tail-ESS the smaller ESS of the indicators
//!   `I(θ ≤ q₀.₀₅)` and `I(θ ≤ q₀.₉₅)` (§4.3).
//!
//! Functions return `NaN` where the quantity is undefined (fewer than 4 draws per chain,
//! a non-finite draw, or draws that are all equal), as the `posterior` R package returns
//! `NA`.

use super::fft::autocovariance;
use crate::error::{Error, Result};
use crate::infer::stats::{normal_quantile, quantile_sorted};

/// Checks that there is at least one chain, all of the same length.
pub(crate) fn check_chains(op: &'static str, chains: &[&[f64]]) -> Result<usize> {
    let Some(first) = chains.first() else {
        return Err(Error::invalid_option(op, "chains", 0, "at least one chain"));
    };
    let n = first.len();
    if let Some((m, c)) = chains.iter().enumerate().find(|(_, c)| c.len() != n) {
        return Err(Error::ShapeMismatch {
            op,
            arg: "chains",
            expected: format!("every chain of length {n} (that of chain 0)"),
            found: format!("chain {m} of length {}", c.len()),
        });
    }
    Ok(n)
}

/// Splits each chain into its first and second halves.
pub fn split_chains(chains: &[&[f64]]) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        let n = c.len();
        if n < 2 {
            out.push(c.to_vec());
            continue;
        }
        let half = n / 2;
        out.push(c[..half].to_vec());
        out.push(c[n - half..].to_vec());
    }
    out
}

fn degenerate(chains: &[Vec<f64>]) -> bool {
    let Some(first) = chains.first().and_then(|c| c.first()) else {
        return true;
    };
    chains.iter().flatten().any(|v| !v.is_finite()) || chains.iter().flatten().all(|v| v == first)
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn var(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// R̂ of already-split (or otherwise prepared) chains, eq. (3)–(4).
pub fn rhat_basic(chains: &[Vec<f64>]) -> f64 {
    let n = chains.first().map_or(0, |c| c.len());
    if n < 3 || chains.len() < 2 || degenerate(chains) {
        return f64::NAN;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let w = chains.iter().map(|c| var(c)).sum::<f64>() / chains.len() as f64;
    let b = n as f64 * var(&means);
    let nf = n as f64;
    ((b / w + nf - 1.0) / nf).sqrt()
}

/// ESS of already-split chains, eq. (10)–(11) with Geyer's initial monotone sequence.
pub fn ess_basic(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains.first().map_or(0, |c| c.len());
    if n < 4 || degenerate(chains) {
        return f64::NAN;
    }
    let acov: Vec<Vec<f64>> = chains.iter().map(|c| autocovariance(c)).collect();
    let nf = n as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let mean_var = acov.iter().map(|a| a[0]).sum::<f64>() / m as f64 * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        var_plus += var(&means);
    }
    let rho = |t: usize| -> f64 {
        1.0 - (mean_var - acov.iter().map(|a| a[t]).sum::<f64>() / m as f64) / var_plus
    };
    let mut rho_hat = vec![0.0; n];
    // Geyer's initial positive sequence over pairs (ρ_{2k}, ρ_{2k+1}).
    let mut t = 0usize;
    let mut even = 1.0;
    rho_hat[0] = even;
    let mut odd = rho(1);
    rho_hat[1] = odd;
    while t + 5 < n && !(even + odd).is_nan() && even + odd > 0.0 {
        t += 2;
        even = rho(t);
        odd = rho(t + 1);
        if even + odd >= 0.0 {
            rho_hat[t] = even;
            rho_hat[t + 1] = odd;
        }
    }
    let max_t = t;
    // The last even lag enters the improved estimate (Vehtari et al. 2021, appendix).
    if even > 0.0 {
        rho_hat[max_t] = even;
    }
    // Geyer's initial monotone sequence.
    let mut t = 0usize;
    while t + 4 <= max_t {
        t += 2;
        let prev = rho_hat[t - 2] + rho_hat[t - 1];
        if rho_hat[t] + rho_hat[t + 1] > prev {
            rho_hat[t] = prev / 2.0;
            rho_hat[t + 1] = prev / 2.0;
        }
    }
    let s = (m * n) as f64;
    let tau = -1.0 + 2.0 * rho_hat[..max_t].iter().sum::<f64>() + rho_hat[max_t];
    let tau = tau.max(1.0 / s.log10());
    s / tau
}

/// Average ranks (1-based; ties share the mean of their ranks) of all draws.
fn ranks(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let mut idx: Vec<usize> = (0..all.len()).collect();
    idx.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut r = vec![0.0; all.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && all[idx[j + 1]] == all[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    let mut out = Vec::with_capacity(chains.len());
    let mut at = 0;
    for c in chains {
        out.push(r[at..at + c.len()].to_vec());
        at += c.len();
    }
    out
}

/// Rank-normalised draws `Φ⁻¹((r − 3/8)/(S + 1/4))`, eq. (14).
pub fn z_scale(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    if chains.iter().flatten().any(|v| !v.is_finite()) {
        return chains.to_vec();
    }
    let s = chains.iter().map(|c| c.len()).sum::<usize>() as f64;
    ranks(chains)
        .into_iter()
        .map(|c| {
            c.into_iter()
                .map(|r| normal_quantile((r - 0.375) / (s + 0.25)))
                .collect()
        })
        .collect()
}

/// Median of all draws.
fn median(chains: &[Vec<f64>]) -> f64 {
    let mut all: Vec<f64> = chains.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    quantile_sorted(&all, 0.5)
}

/// Rank-normalised split-R̂: the larger of bulk-R̂ and tail-R̂ (§4.2).
pub fn rhat(chains: &[&[f64]]) -> Result<f64> {
    check_chains("rhat", chains)?;
    let split = split_chains(chains);
    let bulk = rhat_basic(&z_scale(&split));
    let med = median(&split);
    let folded: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|v| (v - med).abs()).collect())
        .collect();
    let tail = rhat_basic(&z_scale(&folded));
    Ok(if bulk.is_nan() || tail.is_nan() {
        f64::NAN
    } else {
        bulk.max(tail)
    })
}

/// Bulk-ESS: ESS of the rank-normalised split chains.
pub fn ess_bulk(chains: &[&[f64]]) -> Result<f64> {
    check_chains("ess_bulk", chains)?;
    Ok(ess_basic(&z_scale(&split_chains(chains))))
}

/// ESS of the indicator `I(θ ≤ q_p)` on split chains, `q_p` the `p`-quantile of the
/// draws.
pub fn ess_quantile(chains: &[&[f64]], p: f64) -> Result<f64> {
    check_chains("ess_quantile", chains)?;
    let split = split_chains(chains);
    // The quantile of all draws (a middle draw dropped by the split included).
    let mut all: Vec<f64> = chains.iter().flat_map(|c| c.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let q = quantile_sorted(&all, p);
    let ind: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|&v| f64::from(u8::from(v <= q))).collect())
        .collect();
    Ok(ess_basic(&ind))
}

/// Tail-ESS: the smaller of the ESS of the 5 % and 95 % quantile indicators.
pub fn ess_tail(chains: &[&[f64]]) -> Result<f64> {
    let lo = ess_quantile(chains, 0.05)?;
    let hi = ess_quantile(chains, 0.95)?;
    Ok(if lo.is_nan() || hi.is_nan() {
        f64::NAN
    } else {
        lo.min(hi)
    })
}

/// ESS for the mean: ESS of the split chains themselves.
pub fn ess_mean(chains: &[&[f64]]) -> Result<f64> {
    check_chains("ess_mean", chains)?;
    Ok(ess_basic(&split_chains(chains)))
}
