//! # mechml-models
//!
//! Models built on the engine, and the `mechml` program.
#![warn(missing_docs)]

pub mod logistic;
