//! `mechml assimilate CONFIG.toml`: a data-assimilation twin experiment
//! ([`da::twin`](crate::da::twin)) from a TOML configuration, and its report.
//!
//! The configuration is parsed and checked before any work ([`load`]): a syntax error, an
//! unknown key or a bad value is an input error (exit code 2) naming the file, line and
//! column of the setting. The methods then run in parallel (each from its own random
//! stream, so the numbers do not depend on the thread count), and the report folder is
//! written atomically ([`report`]): `results.json` (the setting and each method's time
//! means under `methods`), `series.csv`, `index.html` and the SVG pictures ([`plots`]).

pub mod plots;
pub mod report;

use std::path::Path;

use faer::Par;
use rayon::prelude::*;

use super::args::AssimilateOptions;
use super::config::ConfigSource;
use super::error::{CliError, CliResult};
use crate::da::Model;
use crate::da::twin::{Setting, TwinConfig, TwinResults, run_method};
use mechml_engine::Error;

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The option name of an engine error (its base, without an index), and its message.
fn option_of(e: &Error) -> (Option<String>, String) {
    match e {
        Error::InvalidOption { name, .. } => {
            let base = name
                .split(['[', ' ', '.'])
                .next()
                .unwrap_or(name)
                .to_string();
            (Some(base), e.to_string())
        }
        _ => (None, e.to_string()),
    }
}

/// Reads, parses and checks a twin-experiment configuration; every error is an input
/// error naming the file and, where it can, the line and column of the setting.
pub fn load(path: &Path) -> CliResult<TwinConfig> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::input(
            &label,
            None,
            None,
            format!("cannot read the configuration: {e}"),
        )
    })?;
    parse(&label, &text)
}

/// Parses and checks configuration `text` (see [`load`]).
pub fn parse(label: &str, text: &str) -> CliResult<TwinConfig> {
    let cfg: TwinConfig = toml::from_str(text).map_err(|e| {
        let (line, col) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        CliError::input(
            label,
            line,
            col,
            format!("invalid configuration: {}", e.message()),
        )
    })?;
    check(&cfg, &ConfigSource::file(label, text))?;
    Ok(cfg)
}

/// Checks each part of the configuration in turn, so that an error can point at its
/// section; then the whole (which checks what spans sections).
fn check(cfg: &TwinConfig, src: &ConfigSource) -> CliResult<()> {
    let at = |section: &[&str], e: Error| -> CliError {
        let (name, message) = option_of(&e);
        let mut path: Vec<&str> = section.to_vec();
        if let Some(n) = name.as_deref() {
            path.push(n);
        }
        let (line, column) = src.locate(&path);
        CliError::input(&src.label, line, column, message)
    };
    let truth = cfg.model.build().map_err(|e| at(&["model"], e))?;
    let da = match &cfg.assimilation_model {
        Some(m) => m.build().map_err(|e| at(&["assimilation_model"], e))?,
        None => truth,
    };
    cfg.observations.build(da.n_state()).map_err(|e| {
        let section: &[&str] = match option_of(&e).0.as_deref() {
            Some("noise_std") | None => &["observations"],
            Some(_) => &["observations", "operator"],
        };
        at(section, e)
    })?;
    for (i, m) in cfg.methods.iter().enumerate() {
        let idx = i.to_string();
        m.validate().map_err(|e| at(&["methods", &idx], e))?;
    }
    cfg.validate()
        .map_err(|e| match option_of(&e).0.as_deref() {
            Some("cycles") => at(&["experiment", "burn_in"], e),
            Some("assimilation_model") => at(&[], e),
            Some("methods") => at(&[], e),
            _ => at(&["experiment"], e),
        })
}

/// Runs the experiment of `config` with `opts` and writes the report into `opts.out`.
pub fn run(config: &Path, opts: &AssimilateOptions, command: String) -> CliResult<()> {
    opts.validate()?;
    let mut cfg = load(config)?;
    if let Some(s) = opts.seed {
        cfg.seed = s;
    }
    if let Some(c) = opts.cycles {
        if c <= cfg.experiment.burn_in {
            return Err(CliError::usage(format!(
                "--cycles {c}: must exceed the configuration's burn_in ({})",
                cfg.experiment.burn_in
            )));
        }
        cfg.experiment.cycles = c;
    }
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = opts.threads {
        builder = builder.num_threads(t);
    }
    let pool = builder
        .build()
        .map_err(|e| CliError::Runtime(format!("starting worker threads: {e}")))?;
    let threads = pool.current_num_threads();
    let say = |m: String| {
        if !opts.quiet {
            eprintln!("{m}");
        }
    };
    let t0 = std::time::Instant::now();
    say(format!(
        "mechml assimilate: {} (seed {}), {} cycles, {} method(s), {threads} thread(s)",
        cfg.name,
        cfg.seed,
        cfg.experiment.cycles,
        cfg.methods.len()
    ));
    let results = pool.install(|| -> CliResult<(TwinResults, Vec<f64>)> {
        let setting = Setting::generate(&cfg)?;
        say(format!(
            "  truth, observations and climatology: {:.1} s",
            t0.elapsed().as_secs_f64()
        ));
        let runs = (0..cfg.methods.len())
            .into_par_iter()
            .map(|i| {
                let t = std::time::Instant::now();
                let r = run_method(&setting, i, Par::rayon(0))?;
                let secs = t.elapsed().as_secs_f64();
                say(format!(
                    "  {:<36} rmse.a {:.4}  ({secs:.1} s)",
                    r.label, r.summary.rmse_analysis
                ));
                Ok((r, secs))
            })
            .collect::<mechml_engine::Result<Vec<_>>>()?;
        let (methods, secs): (Vec<_>, Vec<_>) = runs.into_iter().unzip();
        Ok((
            TwinResults {
                name: cfg.name.clone(),
                seed: cfg.seed,
                n_state: setting.n_state(),
                cycles: cfg.experiment.cycles,
                burn_in: cfg.experiment.burn_in,
                step_time: setting.model.step_time(),
                truth_fields: setting.truth_fields(),
                methods,
            },
            secs,
        ))
    })?;
    let (twin, method_secs) = results;
    let meta = report::RunInfo {
        config: config.display().to_string(),
        command,
        threads,
        wall_time_s: t0.elapsed().as_secs_f64(),
        method_time_s: method_secs,
    };
    report::write(&opts.out, &twin, &meta)?;
    print!("{}", report::summary(&twin, &opts.out));
    Ok(())
}
