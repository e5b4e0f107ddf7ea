//! The `mechml` program.
//!
//! `mechml demo` fits the logistic-growth model to synthetic data by gradient descent on
//! the tape, printing the loss as it goes.

use std::process::ExitCode;

use mechml_models::logistic;

fn demo() -> mechml_engine::Result<()> {
    let truth = [0.8, 50.0, 2.0];
    println!("mechml demo: logistic growth N(t) = K / (1 + (K/N0 - 1) exp(-r t))");
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

fn usage() {
    eprintln!("usage: mechml demo");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => match demo() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Some("-h" | "--help" | "help") => {
            usage();
            ExitCode::SUCCESS
        }
        _ => {
            usage();
            ExitCode::from(2)
        }
    }
}
