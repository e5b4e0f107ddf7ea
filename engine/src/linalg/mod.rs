//! Dense linear algebra on top of faer: Cholesky ([`Llt`]) with pivot-level errors and a
//! jitter policy that reports what it added ([`cholesky_with_jitter`]), LU with partial
//! pivoting ([`Lu`]), and small helpers.
//!
//! Parallelism is always an argument ([`Par`]); nothing reads a process-wide setting.
//!
//! The dense matrix types of the engine's public API are faer's, re-exported here
//! ([`Mat`], [`MatRef`], [`MatMut`], [`Par`]) so that a downstream crate can name them
//! (`mechml_engine::linalg::MatRef`) without depending on faer itself.

mod jitter;
mod llt;
mod lu;

/// faer's dense matrix types and parallelism setting, as used throughout the engine's API:
/// an owned column-major matrix, its immutable and mutable views, and `Par::Seq` /
/// `Par::rayon(n)`.
pub use faer::{Mat, MatMut, MatRef, Par};
pub use jitter::{JitterInfo, JitterPolicy, cholesky_with_jitter};
pub use llt::Llt;
pub use lu::Lu;

/// Tile size for transposed accesses (keeps both the row and the column walk in cache).
const TILE: usize = 64;

/// `(A + Aᵀ) / 2`.
pub fn symmetrize(a: MatRef<'_, f64>) -> Mat<f64> {
    let n = a.nrows();
    let mut out = Mat::<f64>::zeros(n, n);
    for jb in (0..n).step_by(TILE) {
        for ib in (jb..n).step_by(TILE) {
            for j in jb..(jb + TILE).min(n) {
                for i in ib.max(j)..(ib + TILE).min(n) {
                    let v = 0.5 * (a[(i, j)] + a[(j, i)]);
                    out[(i, j)] = v;
                    out[(j, i)] = v;
                }
            }
        }
    }
    out
}

/// Makes a square matrix symmetric in place by copying its lower triangle into the upper
/// (tiled, so the transposed walk stays in cache).
pub fn fill_upper_from_lower(a: &mut Mat<f64>) {
    mirror_lower(a.as_mut());
}

/// [`fill_upper_from_lower`] on a view.
pub fn mirror_lower(mut a: MatMut<'_, f64>) {
    let n = a.nrows();
    for jb in (0..n).step_by(TILE) {
        for ib in (jb..n).step_by(TILE) {
            for j in jb..(jb + TILE).min(n) {
                for i in ib.max(j + 1)..(ib + TILE).min(n) {
                    a[(j, i)] = a[(i, j)];
                }
            }
        }
    }
}
