//! The `mechml` program (feature `cli`): argument parsing and checking ([`args`]), the
//! configuration file, its checks and its resolution against the data into the
//! engine's inputs ([`config`], [`csv`]), the pipeline that runs the climate science of
//! [`ssm::ebm`](crate::ssm::ebm) ([`pipeline`]), and the report ([`report`], [`plots`],
//! [`results`]), `mechml assimilate`, the data-assimilation twin experiments of
//! [`da`](crate::da) with their report ([`assimilate`]), and `mechml emulate` in
//! [`emulate`]. The binary (`src/bin/mechml.rs`) only calls [`main`].
//!
//! Exit codes: 0 success, 1 a failure while computing or writing, 2 bad input (arguments,
//! configuration, data), with a message naming the file, line and column where known.
//! A report is written to a temporary folder and renamed into place, so a failed run
//! never leaves a half-written report.

pub mod args;
pub mod assimilate;
pub mod config;
pub mod csv;
pub mod demo;
pub mod emulate;
pub mod error;
pub mod honest;
pub mod pipeline;
pub mod plots;
mod plots_synthetic;
pub mod posterior;
pub mod progress;
pub mod report;
mod report_bayes;
pub mod results;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, RunOptions};
use error::{CliError, CliResult};

/// Runs the program with the process's arguments; returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: Cli) -> CliResult<()> {
    let command_line: String = std::env::args().collect::<Vec<_>>().join(" ");
    match cli.command {
        Command::Demo(opts) => {
            // Every input is checked before any work: the options, the output folder,
            // then the configuration and its data.
            opts.validate()?;
            report::check_out(&opts.out)?;
            let res = demo::resolved()?;
            run_pipeline(&res, &opts, command_line)
        }
        Command::Run { config, options } => {
            options.validate()?;
            report::check_out(&options.out)?;
            let res = config::load(&config)?;
            run_pipeline(&res, &options, command_line)
        }
        Command::Emulate {
            config,
            runs,
            options,
        } => emulate::run(&config, &options, runs.as_ref(), command_line),
        Command::Logistic => logistic(),
        Command::Assimilate { config, options } => {
            options.validate()?;
            report::check_out(&options.out)?;
            assimilate::run(&config, &options, command_line)
        }
    }
}

fn run_pipeline(res: &config::Resolved, opts: &RunOptions, command: String) -> CliResult<()> {
    opts.validate()?;
    let mut res = res.clone();
    match opts.draws {
        Some(0) => res.config.bayes.enabled = false,
        Some(n) => {
            res.config.bayes.warmup = n;
            res.config.bayes.draws = n;
        }
        None => {}
    }
    let res = &res;
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = opts.threads {
        builder = builder.num_threads(t);
    }
    report::check_out(&opts.out)?;
    let pool = builder
        .build()
        .map_err(|e| CliError::Runtime(format!("starting worker threads: {e}")))?;
    let progress = progress::Progress::new(
        opts.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let settings = pipeline::RunSettings {
        seed: opts.seed,
        command,
    };
    let t0 = std::time::Instant::now();
    let mut results = pool.install(|| pipeline::run(res, &settings, &progress))?;
    results.wall_time_s = t0.elapsed().as_secs_f64();
    report::write(&opts.out, &results, res)?;
    print!("{}", report::summary(&results, &opts.out));
    Ok(())
}

/// The logistic-growth example (the program's first demo).
fn logistic() -> CliResult<()> {
    use crate::logistic;
    let truth = [0.8, 50.0, 2.0];
    println!("mechml logistic: logistic growth N(t) = K / (1 + (K/N0 - 1) exp(-r t))");
    println!(
        "true parameters: r = {}, K = {}, N0 = {}; 40 noisy observations (sd 1, seed 7)",
        truth[0], truth[1], truth[2]
    );
    let (t, y) = logistic::simulate(truth, 40, 15.0, 1.0, 7)?;
    let fit = logistic::fit(&t, &y, [0.3, 30.0, 5.0], 20_000, |it, loss| {
        if it % 200 == 0 {
            println!("  iteration {it:5}  loss {loss:.6}");
        }
    })?;
    println!(
        "fitted: r = {:.4}, K = {:.3}, N0 = {:.4}  (loss {:.6}, |grad| {:.2e}, {} iterations, converged: {})",
        fit.params[0],
        fit.params[1],
        fit.params[2],
        fit.loss_trace.last().copied().unwrap_or(f64::NAN),
        fit.grad_norm,
        fit.loss_trace.len() - 1,
        fit.converged
    );
    Ok(())
}
