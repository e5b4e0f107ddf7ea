//! Diagnostics on fixed draws against ArviZ 0.23.4 (an independent implementation of
//! Vehtari et al. 2021): rank-normalised split R̂, bulk/tail/mean ESS, MCSE of the mean
//! and of quantiles, E-BFMI. The draws and the reference values were written by
//! `benches/peers/arviz_diagnostics_reference.py` into
//! `tests/data/infer_diagnostics_reference.json` (see its provenance field); a small
//! case is also checked against a direct transcription of the formulas in this file.

use mechml_engine::infer::diagnostics::{
    ebfmi, ess_bulk, ess_mean, ess_tail, mcse_mean, mcse_quantile, rhat,
};
use serde_json::Value;

fn close(a: f64, b: f64, rel: f64, what: &str) {
    assert!(
        (a - b).abs() <= rel * b.abs().max(1e-12),
        "{what}: ours {a}, reference {b}"
    );
}

#[test]
fn diagnostics_match_arviz_on_fixed_draws() {
    let text = include_str!("data/infer_diagnostics_reference.json");
    let v: Value = serde_json::from_str(text).unwrap();
    for q in v["quantities"].as_array().unwrap() {
        let name = q["name"].as_str().unwrap();
        let draws: Vec<Vec<f64>> = q["draws"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let chains: Vec<&[f64]> = draws.iter().map(|c| c.as_slice()).collect();
        let r = |k: &str| q[k].as_f64().unwrap();
        close(
            rhat(&chains).unwrap(),
            r("rhat"),
            1e-10,
            &format!("{name} rhat"),
        );
        close(
            ess_bulk(&chains).unwrap(),
            r("ess_bulk"),
            1e-9,
            &format!("{name} ess_bulk"),
        );
        close(
            ess_tail(&chains).unwrap(),
            r("ess_tail"),
            1e-9,
            &format!("{name} ess_tail"),
        );
        close(
            ess_mean(&chains).unwrap(),
            r("ess_mean"),
            1e-9,
            &format!("{name} ess_mean"),
        );
        close(
            mcse_mean(&chains).unwrap(),
            r("mcse_mean"),
            1e-9,
            &format!("{name} mcse_mean"),
        );
        for (p, key) in [(0.05, "mcse_q05"), (0.5, "mcse_q50")] {
            let ours = mcse_quantile(&chains, p).unwrap();
            assert!(
                (ours - r(key)).abs() <= 1e-9 * r(key).abs().max(1.0),
                "{name} {key}: {ours} vs {}",
                r(key)
            );
        }
        close(
            ebfmi(chains[0]),
            r("ebfmi_chain0"),
            1e-12,
            &format!("{name} ebfmi"),
        );
    }
}

/// Split-R̂ and ESS of a tiny set written out by hand from eq. (3)–(4) and (10)–(11)
/// (no ranks: `rhat_basic`, `ess_basic` on already-split chains).
#[test]
fn basic_formulas_by_hand() {
    use mechml_engine::infer::diagnostics::ess::{ess_basic, rhat_basic};
    let chains = vec![
        vec![0.1, -0.4, 0.9, 1.3, 0.2, -0.7, 0.5, 0.0],
        vec![1.1, 0.4, 1.9, 0.3, 1.2, 0.7, 1.5, 1.0],
    ];
    let n = 8.0;
    let mean = |c: &[f64]| c.iter().sum::<f64>() / c.len() as f64;
    let var = |c: &[f64]| {
        let m = mean(c);
        c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (c.len() as f64 - 1.0)
    };
    let means = [mean(&chains[0]), mean(&chains[1])];
    let w = (var(&chains[0]) + var(&chains[1])) / 2.0;
    let b = n * var(&means);
    let expected = (((n - 1.0) / n * w + b / n) / w).sqrt();
    assert!((rhat_basic(&chains) - expected).abs() < 1e-14);

    // ESS, transcribed directly: ρ_t from direct autocovariances (eq. 10), Geyer's
    // initial positive sequence over pairs, then the monotone sequence, τ = −1 + 2 Σ ρ.
    let m = chains.len() as f64;
    let acov = |c: &[f64], t: usize| {
        let mu = mean(c);
        (0..c.len() - t)
            .map(|k| (c[k] - mu) * (c[k + t] - mu))
            .sum::<f64>()
            / n
    };
    let mean_var = chains.iter().map(|c| acov(c, 0)).sum::<f64>() / m * n / (n - 1.0);
    let var_plus = mean_var * (n - 1.0) / n + var(&means);
    let rho =
        |t: usize| 1.0 - (mean_var - chains.iter().map(|c| acov(c, t)).sum::<f64>() / m) / var_plus;
    let mut pairs = vec![rho(0) + rho(1)];
    let mut last_even = rho(0);
    let mut t = 0;
    // Lags up to N − 3 (the reference's bound t + 5 < N on the pair start).
    while t + 5 < 8 && *pairs.last().unwrap() > 0.0 {
        t += 2;
        last_even = rho(t);
        let p = rho(t) + rho(t + 1);
        if p < 0.0 {
            break;
        }
        pairs.push(p);
    }
    for k in 1..pairs.len() {
        pairs[k] = pairs[k].min(pairs[k - 1]);
    }
    // τ = −1 + 2 Σ_{pairs before the last} + the last even lag where positive.
    let full: f64 = pairs[..pairs.len() - 1].iter().sum();
    let last = if last_even > 0.0 { last_even } else { 0.0 };
    let tau: f64 = -1.0 + 2.0 * full + last;
    let s = 16.0_f64;
    let expected_ess = s / tau.max(1.0 / s.log10());
    assert!(
        (ess_basic(&chains) - expected_ess).abs() < 1e-10 * expected_ess,
        "{} vs {expected_ess}",
        ess_basic(&chains)
    );
}
