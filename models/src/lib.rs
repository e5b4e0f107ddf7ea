//! # mechml-models
//!
//! Models built on the engine, and the `mechml` program.
#![warn(missing_docs)]
// Index loops mirror the matrix formulas they implement (entry (i, j) = a[i + j * n]).
#![allow(clippy::needless_range_loop)]

pub mod cli;
pub mod emulator;
pub mod logistic;
pub mod ssm;
