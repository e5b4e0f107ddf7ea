//! # mechml-models
//!
//! Models built on the engine, and the `mechml` program.
//!
//! * [`ssm`] — state-space models: linear-Gaussian models, the Kalman filter and smoother,
//!   exact discretisation, maximum likelihood, nonlinear filters and hybrid models, and the
//!   k-box energy-balance models with their climate science ([`ssm::ebm`]).
//! * [`emulator`] — emulation of expensive simulators: designs, runs (resumable), GP
//!   emulators (multi-output, PCA), validation, history matching, Kennedy–O'Hagan
//!   calibration by NUTS, Sobol' indices, and the energy-balance study of `mechml emulate`.
//! * [`de`] — learning inside differential equations: universal differential equations
//!   trained through the engine's adjoints (multiple shooting, windows, early stopping)
//!   and sparse regression (STLSQ) on learned terms.
//! * [`logistic`] — logistic growth fitted by gradient descent on the tape.
//! * `cli` (feature `cli`, on by default) — the `mechml` program: argument parsing, the
//!   configuration file, the pipeline, progress bars, plots and the report. Build with
//!   `--no-default-features` for the library alone (no clap, indicatif, plotters, toml or
//!   serde_json).
#![warn(missing_docs)]
// Index loops mirror the matrix formulas they implement (entry (i, j) = a[i + j * n]).
#![allow(clippy::needless_range_loop)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod da;
pub mod de;
pub mod emulator;
pub mod logistic;
pub mod ssm;

/// The guides `docs/da.md`, `docs/de.md` and `docs/emulator.md`, compiled and run as doctests so they
/// stay true.
#[cfg(doctest)]
mod doc_examples {
    #[doc = include_str!("../../docs/da.md")]
    struct DataAssimilation;
    #[doc = include_str!("../../docs/de.md")]
    struct DifferentialEquationLearning;
    #[doc = include_str!("../../docs/emulator.md")]
    struct Emulator;
}
