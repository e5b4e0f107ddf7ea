//! # mechml-engine
//!
//! The numerical engine of mechml: automatic differentiation ([`ad`]), with every routine
//! built on it differentiable.
#![warn(missing_docs)]

pub mod ad;
pub mod error;
pub mod linalg;
pub mod ode;

pub use error::{Error, Result};

#[cfg(feature = "testing")]
pub mod testing;
