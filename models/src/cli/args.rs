//! Command-line arguments, parsed and checked before anything runs ([`RunOptions::validate`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::error::{CliError, CliResult};

/// `mechml`: mechanistic machine learning — fits stochastic energy-balance models to the
/// observed temperature record with exact gradients, and projects them.
#[derive(Debug, Parser)]
#[command(
    name = "mechml",
    version,
    about = "mechml: fit stochastic energy-balance models to the temperature record with exact gradients, compare them, and project them (mechanistic machine learning)"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit 2- and 3-box energy-balance models to HadCRUT5 (1850–2022) driven by historical
    /// forcing, compare them, derive ECS and TCR, project to 2100 under the RCPs, and write
    /// a report (data compiled into the program).
    Demo(RunOptions),
    /// The same pipeline on your own data and settings (a TOML configuration).
    Run {
        /// The configuration file.
        config: PathBuf,
        /// Output options.
        #[command(flatten)]
        options: RunOptions,
    },
    /// Emulate the two-box energy-balance model run over 1850–2022 (a design, PCA
    /// emulators), history-match it against HadCRUT5 in waves, calibrate it with a model
    /// discrepancy by NUTS and compute Sobol' indices (a TOML study, e.g.
    /// models/data/emulate_ebm.toml).
    Emulate {
        /// The study configuration.
        config: PathBuf,
        /// Folder of the run logs (`wave<k>.jsonl`): a second call with the same folder
        /// resumes an interrupted study without repeating finished simulator runs.
        #[arg(long)]
        runs: Option<PathBuf>,
        /// Output options.
        #[command(flatten)]
        options: RunOptions,
    },
    /// Logistic growth fitted by gradient descent on the tape (a small first example).
    Logistic,
    /// A data-assimilation twin experiment (a TOML configuration, e.g.
    /// `models/data/l96_sakov2008.toml`): a truth run, synthetic observations, and each
    /// method assimilating them; writes RMSE and spread over time, the time-mean table,
    /// rank histograms and Hovmöller diagrams.
    Assimilate {
        /// The configuration file.
        config: PathBuf,
        /// Output options.
        #[command(flatten)]
        options: AssimilateOptions,
    },
}

/// Options of `assimilate`.
#[derive(Debug, Args, Clone)]
pub struct AssimilateOptions {
    /// Report folder (written atomically; a previous mechml report there is replaced).
    #[arg(long, default_value = "mechml-assimilate")]
    pub out: PathBuf,
    /// Seed of the experiment (default: the configuration's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Assimilation cycles (default: the configuration's `experiment.cycles`).
    #[arg(long)]
    pub cycles: Option<usize>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress messages.
    #[arg(long)]
    pub quiet: bool,
}

impl AssimilateOptions {
    /// Checks what clap cannot: at least one worker thread and one cycle.
    pub fn validate(&self) -> CliResult<()> {
        if self.threads == Some(0) {
            return Err(CliError::usage("--threads must be at least 1"));
        }
        if self.cycles == Some(0) {
            return Err(CliError::usage("--cycles must be at least 1"));
        }
        Ok(())
    }
}

/// Options shared by `demo` and `run`.
#[derive(Debug, Args, Clone)]
pub struct RunOptions {
    /// Report folder (written atomically; a previous mechml report there is replaced).
    #[arg(long, default_value = "mechml-report")]
    pub out: PathBuf,
    /// Seed of every random choice (starts, parameter draws, synthetic data).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Warm-up iterations and draws per chain of the Bayesian fit, replacing those of
    /// `[bayes]` (0 skips the Bayesian fit; e.g. `--draws 100` for a quick look).
    #[arg(long)]
    pub draws: Option<usize>,
}

impl RunOptions {
    /// Checks what clap cannot: at least one worker thread, a bounded number of draws.
    pub fn validate(&self) -> CliResult<()> {
        if self.threads == Some(0) {
            return Err(CliError::usage("--threads must be at least 1"));
        }
        if let Some(n) = self.draws
            && n > super::config::MAX_NUTS_ITERATIONS
        {
            return Err(CliError::usage(format!(
                "--draws must be at most {}, got {n}",
                super::config::MAX_NUTS_ITERATIONS
            )));
        }
        Ok(())
    }
}
