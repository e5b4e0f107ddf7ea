//! Built-in block operations, one file per primitive: the forward computation in `f64`
//! (faer for dense work) with its pullback and pushforward beside it. All are methods on
//! [`Tape`](crate::ad::Tape):
//!
//! | operation | methods |
//! |---|---|
//! | element-wise | [`add`](crate::ad::Tape::add), `sub`, `mul`, `div`, `elementwise_mat`, `scale`, `scale_mat`, [`map`](crate::ad::Tape::map), `map_mat` |
//! | reductions | [`sum`](crate::ad::Tape::sum), `sum_mat`, `dot`, `sum_sq` |
//! | products | [`matmul`](crate::ad::Tape::matmul), `matvec`, `transpose`, [`quad_form`](crate::ad::Tape::quad_form) |
//! | triangular | [`solve_triangular`](crate::ad::Tape::solve_triangular), `solve_lower`, `solve_upper` |
//! | SPD | [`cholesky`](crate::ad::Tape::cholesky), `spd_solve`, `inv_quad`, `logdet_spd`, [`mvn_logpdf`](crate::ad::Tape::mvn_logpdf) |
//! | general | [`log_abs_det`](crate::ad::Tape::log_abs_det) |
//! | diagonal | [`diag`](crate::ad::Tape::diag), `diag_mat`, `trace` |
//!
//! On a tape of dual numbers (`Tape<Dual>`, for exact Hessian–vector products through
//! blocks with [`api::hvp_tape`](crate::ad::api::hvp_tape)) the likelihood blocks
//! `cholesky`, `solve_triangular`, `solve_lower`, `logdet_spd` and `mvn_logpdf` exist
//! with second-order pullbacks; `stack`, `stack_mat`, `var_vec` and `var_mat` work on any
//! tape. The other blocks are `Tape<f64>` only (using one on a dual tape does not compile).

mod cholesky;
mod diag;
mod dual;
mod elementwise;
mod logdet;
mod matmul;
mod quad;
mod reduce;
mod spd;
mod tri;
pub(crate) mod util;

pub use elementwise::Binary;
pub use tri::{Side, Uplo};
