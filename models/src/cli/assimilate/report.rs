//! The report of `mechml assimilate`: `results.json`, `series.csv`, the pictures and
//! `index.html`, written atomically through [`cli::report::write_with`](crate::cli::report::write_with).

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::plots;
use crate::cli::error::{CliError, CliResult};
use crate::da::twin::{Diagnostics, MethodConfig, TwinResults};

/// How the experiment was run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The configuration file.
    pub config: String,
    /// The command line.
    pub command: String,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock time of the whole run, seconds.
    pub wall_time_s: f64,
    /// Wall-clock time of each method, seconds (methods run in parallel).
    pub method_time_s: Vec<f64>,
}

/// One method's line of `results.json`: its time means after the burn-in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    /// Label.
    pub label: String,
    /// The method's configuration.
    pub config: MethodConfig,
    /// Time-mean analysis RMSE.
    pub rmse_analysis: f64,
    /// Time-mean analysis spread (methods with an uncertainty estimate).
    pub spread_analysis: Option<f64>,
    /// Time-mean forecast RMSE.
    pub rmse_forecast: f64,
    /// Time-mean forecast spread.
    pub spread_forecast: Option<f64>,
    /// Time-mean smoothed RMSE (EnKS).
    pub rmse_smoothed: Option<f64>,
    /// Forecast rank histogram (ensemble methods), `N + 1` bins.
    pub rank_histogram: Option<Vec<u64>>,
    /// The method's internals.
    pub diagnostics: Diagnostics,
    /// Wall-clock time, seconds.
    pub wall_time_s: f64,
}

/// The content of `results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssimilateResults {
    /// Name of the setting.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Dimension of the assimilated state.
    pub n_state: usize,
    /// Cycles.
    pub cycles: usize,
    /// Cycles left out of the time means.
    pub burn_in: usize,
    /// Model time between cycles.
    pub step_time: f64,
    /// How it was run.
    pub run: RunInfo,
    /// One entry per method, in the order of the configuration.
    pub methods: Vec<MethodSummary>,
}

impl AssimilateResults {
    /// The summary of a twin experiment.
    pub fn new(twin: &TwinResults, run: &RunInfo) -> Self {
        Self {
            name: twin.name.clone(),
            seed: twin.seed,
            n_state: twin.n_state,
            cycles: twin.cycles,
            burn_in: twin.burn_in,
            step_time: twin.step_time,
            run: run.clone(),
            methods: twin
                .methods
                .iter()
                .enumerate()
                .map(|(i, m)| MethodSummary {
                    label: m.label.clone(),
                    config: m.config.clone(),
                    rmse_analysis: m.summary.rmse_analysis,
                    spread_analysis: m.summary.spread_analysis,
                    rmse_forecast: m.summary.rmse_forecast,
                    spread_forecast: m.summary.spread_forecast,
                    rmse_smoothed: m.summary.rmse_smoothed,
                    rank_histogram: m.rank_histogram.clone(),
                    diagnostics: m.diagnostics.clone(),
                    wall_time_s: run.method_time_s.get(i).copied().unwrap_or(f64::NAN),
                })
                .collect(),
        }
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Runtime(format!("writing {what}: {e}"))
}

/// Writes the report into `out` atomically; returns the files written.
pub fn write(out: &Path, twin: &TwinResults, run: &RunInfo) -> CliResult<Vec<String>> {
    crate::cli::report::write_with(out, |dir| fill(dir, twin, run))
}

fn fill(dir: &Path, twin: &TwinResults, run: &RunInfo) -> CliResult<Vec<String>> {
    let summary = AssimilateResults::new(twin, run);
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|e| CliError::Runtime(format!("serialising results: {e}")))?;
    std::fs::write(dir.join("results.json"), json).map_err(io("results.json"))?;
    std::fs::write(dir.join("series.csv"), series_csv(twin)).map_err(io("series.csv"))?;
    let mut files = vec!["results.json".to_string(), "series.csv".to_string()];
    plots::rmse(&dir.join("rmse.svg"), twin)?;
    files.push("rmse.svg".into());
    if twin.methods.iter().any(|m| m.rank_histogram.is_some()) {
        plots::rank_histograms(&dir.join("rank_histograms.svg"), twin)?;
        files.push("rank_histograms.svg".into());
    }
    if let Some(k) = plots::hovmoller_method(twin) {
        plots::hovmoller(&dir.join("hovmoller.svg"), twin, k)?;
        files.push("hovmoller.svg".into());
    }
    std::fs::write(dir.join("index.html"), html(&summary, twin, &files))
        .map_err(io("index.html"))?;
    files.push("index.html".into());
    Ok(files)
}

/// `cycle,time,<label> rmse_a,<label> spread_a,…`: the analysis RMSE and spread of every
/// method at every cycle.
pub fn series_csv(twin: &TwinResults) -> String {
    let mut s = String::from("cycle,time");
    for m in &twin.methods {
        let l = m.label.replace([',', '"'], " ");
        let _ = write!(s, ",{l} rmse_analysis,{l} spread_analysis");
    }
    s.push('\n');
    for k in 0..twin.cycles {
        let _ = write!(s, "{},{}", k + 1, (k + 1) as f64 * twin.step_time);
        for m in &twin.methods {
            let r = m.analysis.rmse.get(k).copied().unwrap_or(f64::NAN);
            let sp = m
                .analysis
                .spread
                .as_ref()
                .and_then(|v| v.get(k).copied())
                .map_or(String::new(), |v| v.to_string());
            let _ = write!(s, ",{r},{sp}");
        }
        s.push('\n');
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.4}"))
}

fn html(r: &AssimilateResults, twin: &TwinResults, files: &[String]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mechml assimilate: {name}</title>\n\
         <style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse}}td,th{{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}img{{max-width:100%}}</style>\n</head>\n<body>\n\
         <h1>Twin experiment: {name}</h1>\n<p>{n} state variables, {c} cycles of {dt} model time units \
         (the first {b} left out of the time means), seed {seed}; {t} thread(s), {w:.1} s. \
         Configuration <code>{cfg}</code>; command <code>{cmd}</code>.</p>\n",
        name = esc(&r.name),
        n = r.n_state,
        c = r.cycles,
        dt = r.step_time,
        b = r.burn_in,
        seed = r.seed,
        t = r.run.threads,
        w = r.run.wall_time_s,
        cfg = esc(&r.run.config),
        cmd = esc(&r.run.command),
    );
    h.push_str(
        "<h2>Time means after the burn-in</h2>\n<p>RMSE of the estimate against the truth and \
         the spread (the method's own error estimate: a reliable method has spread ≈ RMSE).</p>\n\
         <table>\n<tr><th>method</th><th>analysis RMSE</th><th>analysis spread</th>\
         <th>forecast RMSE</th><th>forecast spread</th><th>notes</th><th>time (s)</th></tr>\n",
    );
    for m in &r.methods {
        let mut notes = Vec::new();
        if let Some(v) = m.rmse_smoothed {
            notes.push(format!("smoothed RMSE {v:.4}"));
        }
        if let Some(v) = m.diagnostics.enkf_n_inflation {
            notes.push(format!("mean inflation {v:.3}"));
        }
        if let Some(v) = m.diagnostics.mean_local_obs {
            notes.push(format!("{v:.1} local obs"));
        }
        if let Some(v) = m.diagnostics.mean_iterations {
            notes.push(format!("{v:.1} iterations/cycle"));
        }
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{:.4}</td><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
            esc(&m.label),
            m.rmse_analysis,
            opt(m.spread_analysis),
            m.rmse_forecast,
            opt(m.spread_forecast),
            esc(&notes.join("; ")),
            m.wall_time_s
        );
    }
    h.push_str("</table>\n");
    let figure = |h: &mut String, file: &str, title: &str, text: &str| {
        if files.iter().any(|f| f == file) {
            let _ = write!(
                h,
                "<h2>{title}</h2>\n<p>{text}</p>\n<img src=\"{file}\" alt=\"{title}\">\n"
            );
        }
    };
    figure(
        &mut h,
        "rmse.svg",
        "RMSE and spread over time",
        "Analysis RMSE (solid) and spread (dashed) of each method at every cycle; the grey \
         line marks the end of the burn-in.",
    );
    figure(
        &mut h,
        "rank_histograms.svg",
        "Rank histograms",
        "Rank of the truth among the forecast members, pooled over variables and cycles after \
         the burn-in (Anderson 1996; Hamill 2001). Flat: reliable; U-shaped: too little spread; \
         domed: too much.",
    );
    if let Some(k) = plots::hovmoller_method(twin) {
        figure(
            &mut h,
            "hovmoller.svg",
            "Hovmöller diagrams",
            &format!(
                "Truth, analysis mean and analysis error of {} (the method with the lowest \
                 analysis RMSE) over the first recorded cycles.",
                esc(&twin.methods[k].label)
            ),
        );
    }
    h.push_str(
        "<p>Files: <a href=\"results.json\">results.json</a> (the time means under \
         <code>methods</code>), <a href=\"series.csv\">series.csv</a> (RMSE and spread at \
         every cycle).</p>\n</body>\n</html>\n",
    );
    h
}

/// The one-screen summary printed at the end of a run.
pub fn summary(twin: &TwinResults, out: &Path) -> String {
    let mut s = format!(
        "{}: {} cycles (burn-in {}), seed {}\n{:<36} {:>9} {:>9}\n",
        twin.name, twin.cycles, twin.burn_in, twin.seed, "method", "rmse.a", "spread.a"
    );
    for m in &twin.methods {
        let _ = writeln!(
            s,
            "{:<36} {:>9.4} {:>9}",
            m.label,
            m.summary.rmse_analysis,
            opt(m.summary.spread_analysis)
        );
    }
    let _ = writeln!(s, "report: {}", out.join("index.html").display());
    s
}
