//! Diagnostics on fixed draws against two independent implementations of Vehtari et al.
//! (2021): the R package `posterior` 1.4.0 (the authors' reference implementation) and
//! ArviZ 0.23.4: rank-normalised split R̂, bulk/tail/mean ESS, MCSE of the mean and of
//! quantiles, E-BFMI. The draws and ArviZ's values were written by
//! `benches/peers/arviz_diagnostics_reference.py` into
//! `tests/data/infer_diagnostics_reference.json`, posterior's by
//! `benches/peers/posterior_diagnostics_reference.R` (see `tests/data/INFER-PROVENANCE.md`);
//! a small case is also checked against a direct transcription of the formulas here.
//!
//! One known difference between the two references: ArviZ lets Geyer's initial positive
//! sequence run one lag pair further than Stan and `posterior` do (its loop bound is
//! `t < N − 3` on odd lags, theirs `t < N − 5` on even lags). It shows only when the
//! autocorrelation estimates stay positive to the end of the chain (the `heavy` quantity,
//! whose fourth chain is shifted); we follow Stan and `posterior`, and skip ArviZ's
//! bulk-ESS there.

use mechml_engine::infer::diagnostics::{
    ebfmi, ess_bulk, ess_mean, ess_tail, mcse_mean, mcse_quantile, rhat,
};
use serde_json::Value;

fn close(a: f64, b: f64, rel: f64, what: &str) {
    assert!(
        (a - b).abs() <= rel * b.abs().max(1.0),
        "{what}: ours {a}, reference {b}"
    );
}

#[test]
fn diagnostics_match_posterior_and_arviz_on_fixed_draws() {
    let arviz: Value =
        serde_json::from_str(include_str!("data/infer_diagnostics_reference.json")).unwrap();
    let post: Value =
        serde_json::from_str(include_str!("data/infer_diagnostics_posterior.json")).unwrap();
    let quantities = arviz["quantities"].as_array().unwrap();
    let post_q = post["quantities"].as_array().unwrap();
    for (q, pq) in quantities.iter().zip(post_q) {
        let name = q["name"].as_str().unwrap();
        assert_eq!(pq["name"].as_str().unwrap(), name);
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
        let ours = [
            ("rhat", rhat(&chains).unwrap()),
            ("ess_bulk", ess_bulk(&chains).unwrap()),
            ("ess_tail", ess_tail(&chains).unwrap()),
            ("ess_mean", ess_mean(&chains).unwrap()),
            ("mcse_mean", mcse_mean(&chains).unwrap()),
            ("mcse_q05", mcse_quantile(&chains, 0.05).unwrap()),
            ("mcse_q50", mcse_quantile(&chains, 0.5).unwrap()),
        ];
        for (key, value) in ours {
            let p = pq[key].as_f64().unwrap();
            close(value, p, 1e-9, &format!("{name} {key} (posterior)"));
            if name == "heavy" && key == "ess_bulk" {
                continue; // ArviZ's longer Geyer sequence (see the module docs).
            }
            let a = q[key].as_f64().unwrap();
            close(value, a, 1e-9, &format!("{name} {key} (ArviZ)"));
        }
        let e = q["ebfmi_chain0"].as_f64().unwrap();
        close(
            ebfmi(chains[0]),
            e,
            1e-12,
            &format!("{name} E-BFMI (ArviZ)"),
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

    // ESS, transcribed directly from eq. (10) and Geyer's sequences as Stan states them:
    // pairs P_k = ρ_{2k} + ρ_{2k+1} are kept while positive (pair starts t with t + 5 < N),
    // made non-increasing, and τ = −1 + 2 Σ_{kept pairs before the last start} P_k +
    // ρ_{last start} (the last even lag where positive).
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
    // With N = 8 the pair starts are t = 0, 2, 4.
    let mut pairs = vec![1.0 + rho(1)];
    let mut last_start = 0;
    let mut last_even = 1.0;
    let mut t = 0;
    while t + 5 < 8 && pairs[pairs.len() - 1] > 0.0 {
        t += 2;
        last_start = t;
        last_even = rho(t);
        let pair = rho(t) + rho(t + 1);
        if pair < 0.0 {
            break;
        }
        pairs.push(pair);
    }
    // Pairs strictly before the last start, made monotone.
    let n_before = last_start / 2;
    for k in 1..n_before {
        pairs[k] = pairs[k].min(pairs[k - 1]);
    }
    let before: f64 = pairs[..n_before].iter().sum();
    let tail = if last_start == 0 {
        1.0
    } else if last_even > 0.0 {
        last_even
    } else {
        0.0
    };
    let tau: f64 = -1.0 + 2.0 * before + tail;
    let s = 16.0_f64;
    let expected_ess = s / tau.max(1.0 / s.log10());
    let ours = ess_basic(&chains);
    assert!(
        (ours - expected_ess).abs() < 1e-10 * expected_ess,
        "{ours} vs {expected_ess}"
    );
}
