//! Worked case 3 of docs/de.md: Lotka–Volterra inference on the Hudson's Bay hare and lynx
//! pelts, 1900–1920 (Carpenter 2018's Stan case study): multi-start MLE with Laplace and
//! profile 95 % intervals, the posterior by NUTS (4 chains × (1,000 warm-up + 1,000
//! draws), Stan's adaptation, random inits in (−2, 2), single-threaded) with R̂, ESS and
//! divergences, the posterior predictive bands and, with the `cli` feature, the figures.
//!
//! ```sh
//! taskset -c 1 cargo run -p mechml-models --profile bench --example de_harelynx -- [OUT_DIR]
//! ```
//!
//! Prints `ESS/s` = smallest bulk ESS / sampling time (the NumPyro peer prints the same:
//! `benches/peers/de_harelynx_numpyro.py`).

use std::time::Instant;

use mechml_engine::infer::stats::quantile_sorted;
use mechml_engine::infer::{Init, NutsOptions};
use mechml_models::de::harelynx::{
    LvPriors, MleOptions, PARAM_NAMES, Pelts, default_solver, fit_mle, predictive_bands,
    sample_posterior,
};

/// CPU time of the calling thread in seconds (Linux: utime + stime of
/// `/proc/thread-self/stat`, in clock ticks of 10 ms); `NaN` where unavailable.
fn thread_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which ends with ')'): state is field 3, utime 14.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    if f.len() == 2 {
        (f[0] + f[1]) / 100.0
    } else {
        f64::NAN
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("open".into(), |x| format!("{x:.4}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/de_harelynx".into());
    std::fs::create_dir_all(&out)?;
    let data = Pelts::hudson_bay()?;
    let solver = default_solver();

    let t = Instant::now();
    let mle = fit_mle(&data, &MleOptions::default())?;
    println!(
        "MLE ({} of 8 starts converged, ln L = {:.4}, {:.2} s incl. 8 profiles)",
        mle.starts_ok,
        mle.log_likelihood,
        t.elapsed().as_secs_f64()
    );
    println!(
        "warning: with 21 yearly points the Laplace intervals undercover (90 % intervals \
         covered ≈ 0.76 in the seeded study of examples/de_harelynx_coverage.rs); prefer the \
         profile intervals or the NUTS posterior below"
    );
    println!(
        "{:<11} {:>9} {:>23} {:>23}",
        "param", "MLE", "Laplace 95%", "profile 95%"
    );
    let prof = mle.profile.clone().unwrap_or_default();
    for (j, name) in PARAM_NAMES.iter().enumerate() {
        let p = prof.get(j);
        println!(
            "{:<11} {:>9.4} [{:>9}, {:>9}] [{:>9}, {:>9}]",
            name,
            mle.theta[j],
            fmt(mle.wald[j].lower),
            fmt(mle.wald[j].upper),
            fmt(p.and_then(|i| i.lower)),
            fmt(p.and_then(|i| i.upper)),
        );
    }

    let nuts = NutsOptions {
        n_chains: 4,
        n_warmup: 1000,
        n_draws: 1000,
        init: Init::Random { radius: 2.0 },
        seed: 2018,
        parallel: false,
        ..NutsOptions::default()
    };
    let (t, cpu0) = (Instant::now(), thread_cpu_secs());
    let post = sample_posterior(&data, &LvPriors::default(), solver, &nuts)?;
    let (secs, cpu) = (t.elapsed().as_secs_f64(), thread_cpu_secs() - cpu0);
    println!("\n{}", post.summary);
    let d = &post.diagnostics;
    let min_ess = d.min_ess_bulk.unwrap_or(0.0);
    let grads: u64 = post.chains.iter().map(|c| c.n_grad_evals).sum();
    println!(
        "NUTS: {:.2} s wall, {:.2} s thread CPU (warm-up + sampling, 1 thread), {} gradients \
         ({:.1} µs each), divergences {} (warm-up {}), max R-hat {:.4}, min bulk ESS {:.0}, \
         ESS/s {:.1} (wall), {:.1} (CPU)",
        secs,
        cpu,
        grads,
        1e6 * secs / grads as f64,
        d.divergences,
        d.warmup_divergences,
        d.max_rhat.unwrap_or(f64::NAN),
        min_ess,
        min_ess / secs,
        min_ess / cpu
    );
    for w in &d.warnings {
        println!("warning: {w}");
    }
    println!(
        "\n{:<11} {:>9} {:>9} {:>9} {:>9}",
        "param", "mean", "sd", "q10", "q90"
    );
    for name in PARAM_NAMES {
        let mut v: Vec<f64> = post.draws_of(name)?.into_iter().flatten().collect();
        v.sort_by(f64::total_cmp);
        let row = post.summary.row(name).ok_or("missing row")?;
        println!(
            "{:<11} {:>9.4} {:>9.4} {:>9.4} {:>9.4}",
            name,
            row.mean,
            row.sd,
            quantile_sorted(&v, 0.1),
            quantile_sorted(&v, 0.9)
        );
    }

    let bands = predictive_bands(&post, &data, 1, &solver, 7)?;
    let (c50, c90) = bands.coverage(&data)?;
    println!(
        "posterior predictive coverage of the 42 counts: {:.0} % in the 50 % bands, {:.0} % in the 90 % bands",
        100.0 * c50,
        100.0 * c90
    );
    #[cfg(feature = "cli")]
    {
        use mechml_models::de::harelynx::plot::{bands_svg, pairs_svg};
        let fine = predictive_bands(&post, &data, 8, &solver, 7)?;
        let p1 = std::path::Path::new(&out).join("harelynx_bands.svg");
        bands_svg(&p1, &data, &fine)?;
        let p2 = std::path::Path::new(&out).join("harelynx_pairs.svg");
        pairs_svg(&p2, &post, &PARAM_NAMES[..6])?;
        println!("figures: {} and {}", p1.display(), p2.display());
    }
    std::fs::write(
        std::path::Path::new(&out).join("harelynx_posterior.json"),
        serde_json::to_string(&post.summary)?,
    )?;
    Ok(())
}
