//! `mechml emulate CONFIG.toml`: the emulation study of
//! [`emulator::ebm`](crate::emulator::ebm) (design, runs, PCA emulators, history matching
//! in waves, Kennedy–O'Hagan calibration, Sobol' indices) with the conventions of
//! `mechml run`: every input checked before any work (bad input: exit code 2 with the
//! file, line and column of the setting), the report written atomically into `--out`
//! (`results.json` and `index.html` with its pictures). With `--runs DIR` the simulator
//! runs of each wave are logged to `DIR/wave<k>.jsonl`, and a second call with the same
//! folder resumes an interrupted study without repeating finished runs.

mod plots;
mod report;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::args::RunOptions;
use super::config::ConfigSource;
use super::error::{CliError, CliResult};
use crate::emulator::ebm::{StudyConfig, StudyResults, run_study};
use crate::emulator::simulator::{LocalRunner, Progress as RunProgress};

/// Everything in the `results.json` of `mechml emulate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmulateResults {
    /// Report title.
    pub title: String,
    /// Program version.
    pub version: String,
    /// The command that produced the report.
    pub command: String,
    /// Seed used (the configuration's seed plus `--seed`).
    pub seed: u64,
    /// Worker threads used.
    pub threads: usize,
    /// Wall time of the whole run, seconds.
    pub wall_time_s: f64,
    /// NROY fraction of the parameter box after each wave (also in `study.waves`).
    pub nroy_fraction: Vec<f64>,
    /// The study's results: waves, NROY sample, LOO, posterior summaries, Sobol' indices.
    pub study: StudyResults,
    /// The configuration used.
    pub config: StudyConfig,
}

/// The path of an engine error's setting: `history.waves` → `["history", "waves"]`.
fn setting_path(e: &mechml_engine::Error) -> Option<Vec<String>> {
    match e {
        mechml_engine::Error::InvalidOption { name, .. } => {
            Some(name.split('.').map(str::to_string).collect())
        }
        _ => None,
    }
}

/// Reads, parses and checks a study configuration; every error is an input error naming
/// the file (and the line and column of the setting where it can be located).
pub fn load(path: &Path) -> CliResult<StudyConfig> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(&label, None, None, format!("cannot read: {e}")))?;
    parse(&label, &text)
}

/// Parses and checks the TOML text of a study configuration (see [`load`]).
pub fn parse(label: &str, text: &str) -> CliResult<StudyConfig> {
    let config: StudyConfig = toml::from_str(text).map_err(|e| {
        let (line, column) = match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (Some(line), Some(col))
            }
            None => (None, None),
        };
        CliError::input(
            label,
            line,
            column,
            format!("invalid emulation study: {}", e.message()),
        )
    })?;
    config.validate().map_err(|e| {
        let src = ConfigSource::file(label, text);
        match setting_path(&e) {
            Some(p) => {
                let (line, column) = src.locate(&p.iter().map(String::as_str).collect::<Vec<_>>());
                CliError::input(label, line, column, e.to_string())
            }
            None => CliError::input(label, None, None, e.to_string()),
        }
    })?;
    for f in [&config.temperature_file, &config.forcing_file]
        .into_iter()
        .flatten()
    {
        if !Path::new(f).is_file() {
            let key = if Some(f) == config.temperature_file.as_ref() {
                "temperature_file"
            } else {
                "forcing_file"
            };
            return Err(ConfigSource::file(label, text).error(&[key], format!("{f}: no such file")));
        }
    }
    Ok(config)
}

/// Runs `mechml emulate`: checks the options, the output folder and the configuration,
/// runs the study on a pool of `--threads` workers and writes the report.
pub fn run(
    config_path: &Path,
    opts: &RunOptions,
    runs: Option<&PathBuf>,
    command: String,
) -> CliResult<()> {
    opts.validate()?;
    super::report::check_out(&opts.out)?;
    let mut config = load(config_path)?;
    if let Some(dir) = runs {
        if dir.exists() && !dir.is_dir() {
            return Err(CliError::usage(format!(
                "--runs {}: exists and is not a folder",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::usage(format!("--runs {}: {e}", dir.display())))?;
    }
    config.seed = config.seed.wrapping_add(opts.seed);
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = opts.threads {
        builder = builder.num_threads(t);
    }
    let pool = builder
        .build()
        .map_err(|e| CliError::Runtime(format!("starting worker threads: {e}")))?;
    let bars = super::progress::Progress::new(
        opts.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let bar = bars.bar(config.design.runs as u64, "simulator runs");
    let report_progress = |p: &RunProgress| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
    };
    let t0 = std::time::Instant::now();
    let study = pool
        .install(|| {
            run_study(
                &config,
                &LocalRunner::default(),
                runs.map(PathBuf::as_path),
                Some(&report_progress),
            )
        })
        .map_err(|e| match e {
            // Data files named in the configuration that do not parse are bad input.
            mechml_engine::Error::InvalidArgument {
                op: "emulate data",
                message,
            } => CliError::input(config_path.display().to_string(), None, None, message),
            e => CliError::Runtime(format!("emulation study: {e}")),
        })?;
    bar.finish_and_clear();
    let results = EmulateResults {
        title: "mechml emulate: the two-box energy-balance model, emulated, history-matched and calibrated against HadCRUT5".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command,
        seed: config.seed,
        threads: pool.current_num_threads(),
        wall_time_s: t0.elapsed().as_secs_f64(),
        nroy_fraction: study.nroy_fraction.clone(),
        study,
        config,
    };
    super::report::write_with(&opts.out, |dir| report::fill(dir, &results))?;
    print!("{}", report::summary(&results, &opts.out));
    Ok(())
}
