//! Automatic differentiation: forward mode ([`Dual`], [`DualN`]) and reverse mode on a
//! caller-owned [`Tape`], over one scalar trait [`Real`].
//!
//! # Example
//! ```
//! use mechml_engine::ad::{Real, Tape};
//!
//! // Written once, generic over the scalar type.
//! fn rosenbrock<R: Real>(x: &[R]) -> R {
//!     let mut f = R::zero();
//!     for i in 0..x.len() - 1 {
//!         f += (x[i + 1] - x[i].square()).square() * 100.0 + (R::one() - x[i]).square();
//!     }
//!     f
//! }
//!
//! assert_eq!(rosenbrock(&[1.0, 1.0]), 0.0);              // f64
//! let tape = Tape::new();
//! let x = tape.vars(&[0.5, 0.5]);
//! let f = rosenbrock(&x);                                 // recorded
//! let g = tape.gradient(&f)?;
//! let (x0, x1) = (0.5_f64, 0.5_f64);
//! assert!((g.wrt(&x[0]) - (-400.0 * x0 * (x1 - x0 * x0) - 2.0 * (1.0 - x0))).abs() < 1e-12);
//! assert!((g.wrt(&x[1]) - 200.0 * (x1 - x0 * x0)).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```
//!
//! # Second derivatives
//! [`api::hvp`] and [`api::hessian`] are exact (forward over reverse: the function runs on
//! a tape of [`Dual`] numbers) for a [`api::ScalarFn`] made of scalar operations. For a
//! closure that uses block operations, [`api::hvp_tape`] records it on a `Tape<Dual>`,
//! where the blocks with second-order pullbacks exist: `cholesky`, `solve_triangular`,
//! `solve_lower`, `logdet_spd`, `mvn_logpdf` ([`ops`]), plus `stack`, `stack_mat`,
//! `var_vec`, `var_mat` and any user block implementing `BlockOp<Dual>`. The other
//! built-in blocks (`matmul`, `map`, `sum`, …) are `Tape<f64>` only: calling one on a dual
//! tape does not compile, so a Hessian–vector product is never silently wrong; write that
//! part with scalar operations instead.
//!
//! # Check mode
//! [`Tape::set_check_finite`] turns on checks that report the first NaN or infinity (in
//! a scalar value or partial derivative, a leaf, a block output, or an adjoint left by a
//! block's pullback) as an [`Error::NonFinite`](crate::Error::NonFinite) naming the
//! operation.
//!
//! # Costs
//! A scalar operation on the tape costs one entry of
//! [`scalar_entry_bytes::<f64>()`](scalar_entry_bytes) = 24 bytes (two `u32` parents, two
//! `f64` partials), plus 8 bytes of adjoint during the reverse sweep. Block operations
//! ([`block`]) cost one record plus whatever they save for their pullback.

pub mod api;
pub mod block;
pub mod dual;
pub mod fused;
pub mod gradcheck;
pub mod ops;
pub mod real;
pub mod special;
pub mod tangent;
pub mod tape;
pub mod var;
pub mod varmat;

pub use block::{ArgAdj, BlockArg, BlockOp, InputAdjoints, InputTangents};
pub use dual::{Dual, DualN};
pub use fused::FusedOp;
pub use real::Real;
pub use tangent::Tangent;
pub use tape::{Adjoints, Tape, TapeStats, scalar_entry_bytes};
pub use var::Var;
pub use varmat::{VarMat, VarVec};
