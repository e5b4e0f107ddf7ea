//! The standard Lorenz-96 twin experiment of Sakov & Oke (2008), run long, with the
//! published time-mean analysis RMSEs beside ours.
//!
//! ```sh
//! cargo run --profile bench -p mechml-models --example da_sakov2008 -- [CONFIG] [CYCLES] [SEEDS]
//! ```
//!
//! CONFIG defaults to `models/data/l96_sakov2008.toml`; CYCLES overrides its cycle count
//! (the burn-in stays); SEEDS > 1 repeats the experiment with seeds `seed, seed + 1, …`
//! and prints the mean and the standard error over the replicates.

use mechml_models::da::twin::{TwinConfig, run_twin};

/// Published values (Sakov & Oke 2008 Table 1 and Bocquet 2011, as reproduced by DAPPER's
/// `dapper/mods/Lorenz96/sakov2008.py`), by method name.
fn published(method: &str) -> Option<f64> {
    Some(match method {
        "enkf" => 0.22,
        "denkf" => 0.18,
        "etkf" => 0.18,
        "enkf_n" => 0.21,
        "letkf" => 0.22,
        "ekf" => 0.24,
        "var3d" => 0.41,
        "optimal_interpolation" => 0.95,
        "climatology" => 3.6,
        _ => return None,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .cloned()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/data/l96_sakov2008.toml").into());
    let mut cfg: TwinConfig = toml::from_str(&std::fs::read_to_string(&path)?)?;
    if let Some(c) = args.get(1) {
        cfg.experiment.cycles = c.parse()?;
    }
    let seeds: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let base = cfg.seed;
    let mut table: Vec<(String, String, Vec<f64>, Vec<f64>)> = Vec::new();
    for s in 0..seeds {
        cfg.seed = base + s;
        let t = std::time::Instant::now();
        let res = run_twin(&cfg, faer::Par::rayon(0))?;
        eprintln!("seed {}: {:.1} s", cfg.seed, t.elapsed().as_secs_f64());
        for (k, m) in res.methods.iter().enumerate() {
            if table.len() <= k {
                let kind = m.config.method.name().to_string();
                table.push((m.label.clone(), kind, Vec::new(), Vec::new()));
            }
            table[k].2.push(m.summary.rmse_analysis);
            table[k]
                .3
                .push(m.summary.spread_analysis.unwrap_or(f64::NAN));
        }
    }
    println!(
        "{} cycles (burn-in {}), {} seed(s)\n{:<36} {:>9} {:>9} {:>9} {:>9}",
        cfg.experiment.cycles,
        cfg.experiment.burn_in,
        seeds,
        "method",
        "rmse.a",
        "± s.e.",
        "spread",
        "published"
    );
    for (label, kind, rmse, spread) in &table {
        let n = rmse.len() as f64;
        let mean = rmse.iter().sum::<f64>() / n;
        let se = if rmse.len() > 1 {
            (rmse.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
        } else {
            f64::NAN
        };
        let sp = spread.iter().sum::<f64>() / n;
        let p = published(kind).map_or("-".into(), |v| format!("{v:.2}"));
        println!("{label:<36} {mean:>9.4} {se:>9.4} {sp:>9.4} {p:>9}");
    }
    Ok(())
}
