//! Dense linear algebra on top of faer: Cholesky ([`Llt`]) with pivot-level errors and a
//! jitter policy that reports what it added ([`cholesky_with_jitter`]), LU with partial
//! pivoting ([`Lu`]), and small helpers.
//!
//! Parallelism is always an argument ([`Par`]); nothing reads a process-wide setting.

mod jitter;
mod llt;
mod lu;

pub use faer::Par;
pub use jitter::{JitterInfo, JitterPolicy, cholesky_with_jitter};
pub use llt::Llt;
pub use lu::Lu;

use faer::{Mat, MatRef};

/// `(A + Aᵀ) / 2`.
pub fn symmetrize(a: MatRef<'_, f64>) -> Mat<f64> {
    let n = a.nrows();
    Mat::from_fn(n, n, |i, j| 0.5 * (a[(i, j)] + a[(j, i)]))
}

/// Makes a square matrix symmetric in place by copying its lower triangle into the upper.
pub fn fill_upper_from_lower(a: &mut Mat<f64>) {
    let n = a.nrows();
    for j in 0..n {
        for i in 0..j {
            a[(i, j)] = a[(j, i)];
        }
    }
}
