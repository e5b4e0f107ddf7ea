//! One home for every parameter: named scalar parameters with their transforms to the
//! unconstrained scale ([`Transform`]), and the ordered list a model exposes
//! ([`ParamLayout`]): names, values, which are held fixed (by name or by group), and the
//! packing between the full natural-scale vector θ and the free unconstrained vector `z`
//! that optimisers and samplers move.
//!
//! Models (Gaussian processes, state-space models, energy-balance models) describe their
//! structure in their own types and keep the *values* of their parameters only here, so a
//! fit never has to write values back into several places.
//!
//! ```
//! use mechml_engine::param::{Param, ParamLayout};
//! let mut layout = ParamLayout::new(vec![
//!     Param::positive("variance", 1.0),
//!     Param::positive("lengthscale[0]", 0.5),
//!     Param::positive("lengthscale[1]", 2.0),
//!     Param::real("mean", 0.0),
//! ])?;
//! layout.fix("lengthscale")?;             // a group: every "lengthscale[i]"
//! assert_eq!(layout.free_names(), vec!["variance", "mean"]);
//! let z = layout.free_unconstrained()?;   // [ln 1, 0]
//! let theta = layout.natural(&[0.5f64.ln(), 3.0])?;
//! assert_eq!(theta, vec![0.5, 0.5, 2.0, 3.0]);
//! # let _ = z;
//! # Ok::<(), mechml_engine::Error>(())
//! ```

pub mod layout;
pub mod transform;

pub use layout::{Param, ParamLayout};
pub use transform::Transform;
