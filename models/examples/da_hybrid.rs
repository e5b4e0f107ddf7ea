//! Hybrid data assimilation and machine learning on two-scale Lorenz-96 (Brajard et al.
//! 2021), with the default settings of [`HybridConfig`]: prints the analysis RMSE of each
//! assimilation–training iteration and the forecast RMSE by lead time of the coarse model,
//! the hybrid model and the correction trained on the true states.
//!
//! ```sh
//! cargo run --release -p mechml-models --example da_hybrid -- [TRAIN_CYCLES] [SEED] [network]
//! ```
//!
//! A third argument `network` learns the local network correction (default
//! [`NetworkOptions`]) instead of the polynomial.

use mechml_models::da::hybrid::{CorrectionKind, HybridConfig, run_hybrid};
use mechml_models::da::network_correction::NetworkOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = HybridConfig::default();
    if let Some(c) = args.first() {
        cfg.train_cycles = c.parse()?;
    }
    if let Some(s) = args.get(1) {
        cfg.seed = s.parse()?;
    }
    if args.get(2).is_some_and(|a| a == "network") {
        cfg.correction = CorrectionKind::Network(NetworkOptions::default());
    }
    let t = std::time::Instant::now();
    let res = run_hybrid(&cfg)?;
    eprintln!("{:.1} s", t.elapsed().as_secs_f64());
    for (i, it) in res.iterations.iter().enumerate() {
        println!(
            "iteration {i}: analysis RMSE {:.4}, {} parameters",
            it.analysis_rmse,
            it.coef.len()
        );
    }
    println!("climatological std {:.3}", res.climate_std);
    println!(
        "{:>6} {:>9} {:>9} {:>9}",
        "lead", "coarse", "hybrid", "truth-fit"
    );
    for (k, lt) in res.lead_times.iter().enumerate() {
        println!(
            "{lt:>6.2} {:>9.4} {:>9.4} {:>9.4}",
            res.rmse_coarse[k], res.rmse_hybrid[k], res.rmse_truth_trained[k]
        );
    }
    Ok(())
}
