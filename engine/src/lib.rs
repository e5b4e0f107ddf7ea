//! # mechml-engine
//!
//! The numerical engine of mechml: automatic differentiation ([`ad`]), with every routine
//! built on it differentiable.
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod ad;
pub mod error;
pub mod gp;
pub mod infer;
pub mod linalg;
pub mod nn;
pub mod ode;
pub mod optim;
pub mod param;
pub mod sde;
pub mod solver;
pub mod ssm;

pub use error::{Error, Result};

#[cfg(feature = "testing")]
pub mod testing;

/// The code in the top-level README and the guides under `docs/`, compiled and run as
/// doctests so they stay true.
#[cfg(doctest)]
mod doc_examples {
    #[doc = include_str!("../../README.md")]
    struct Readme;
    #[doc = include_str!("../../docs/extending.md")]
    struct Extending;
    #[doc = include_str!("../../docs/infer.md")]
    struct Infer;
    #[doc = include_str!("../../docs/gp.md")]
    struct Gp;
    #[doc = include_str!("../../docs/ode.md")]
    struct Ode;
    #[doc = include_str!("../../docs/sde.md")]
    struct Sde;
    #[doc = include_str!("../../docs/architecture.md")]
    struct Architecture;
}
