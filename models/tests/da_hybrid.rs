//! The hybrid DA + ML experiment (`da::hybrid`, Brajard et al. 2021) on a small two-scale
//! Lorenz-96: a correction learned from the ETKF's analyses of sparse, noisy observations
//! must forecast the (independently simulated) truth better than the coarse model alone,
//! for both the polynomial and the network correction. The full-size study is
//! `examples/da_hybrid.rs` (docs/da.md).

use mechml_models::da::hybrid::{CorrectionKind, HybridConfig, run_hybrid};
use mechml_models::da::network_correction::NetworkOptions;

fn small(correction: CorrectionKind) -> HybridConfig {
    HybridConfig {
        k: 12,
        j: 8,
        members: 20,
        train_cycles: 800,
        burn_in: 100,
        iterations: 2,
        test_starts: 20,
        test_spacing: 10,
        max_lead: 4,
        correction,
        ..HybridConfig::default()
    }
}

/// Forecast RMSE at the first leads: hybrid (trained on analyses) below the coarse model,
/// and the truth-trained correction no worse than 1.2× the hybrid's own (it sees the
/// states the analyses only estimate).
fn check(kind: CorrectionKind) {
    let r = run_hybrid(&small(kind.clone())).unwrap();
    eprintln!(
        "{kind:?}: coarse {:?} hybrid {:?} truth-trained {:?}",
        r.rmse_coarse, r.rmse_hybrid, r.rmse_truth_trained
    );
    for lead in 0..2 {
        let (c, h, t) = (
            r.rmse_coarse[lead],
            r.rmse_hybrid[lead],
            r.rmse_truth_trained[lead],
        );
        assert!(
            h < 0.9 * c,
            "{kind:?} lead {lead}: hybrid {h} vs coarse {c}"
        );
        assert!(
            t < 1.2 * h,
            "{kind:?} lead {lead}: truth-trained {t} vs hybrid {h}"
        );
    }
    assert!(r.iterations.iter().all(|i| i.analysis_rmse.is_finite()));
}

#[test]
fn polynomial_correction_beats_the_coarse_model() {
    check(CorrectionKind::Polynomial);
}

#[test]
fn network_correction_beats_the_coarse_model() {
    check(CorrectionKind::Network(NetworkOptions {
        epochs: 8,
        batch: 64,
        ..NetworkOptions::default()
    }));
}

#[test]
fn bad_network_options_are_errors() {
    let e = run_hybrid(&small(CorrectionKind::Network(NetworkOptions {
        hidden: 0,
        ..NetworkOptions::default()
    })))
    .unwrap_err();
    assert!(e.to_string().contains("hidden"), "{e}");
}
