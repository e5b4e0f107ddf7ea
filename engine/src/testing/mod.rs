//! Proptest strategies and helpers for checking numerical code (feature `testing`).
//!
//! Downstream crates use them to property-test their own primitives:
//! ```
//! use mechml_engine::testing::spd_matrix;
//! use proptest::prelude::*;
//! proptest!(|(a in spd_matrix(4))| {
//!     let llt = mechml_engine::linalg::Llt::factor(a.as_ref(), mechml_engine::linalg::Par::Seq);
//!     prop_assert!(llt.is_ok());
//! });
//! ```

use crate::linalg::{Mat, MatRef};
use proptest::prelude::*;

pub mod blocks;
pub mod expr;
pub mod ode;

/// A vector of `n` finite values in `[lo, hi]`.
pub fn vec_in(n: usize, lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(lo..=hi, n)
}

/// A `r x c` matrix with entries in `[-1, 1]`.
pub fn matrix(r: usize, c: usize) -> impl Strategy<Value = Mat<f64>> {
    vec_in(r * c, -1.0, 1.0).prop_map(move |v| Mat::from_fn(r, c, |i, j| v[i + j * r]))
}

/// A symmetric positive-definite `n x n` matrix `B Bᵀ / n + I / 2` (eigenvalues in
/// `[0.5, n + 0.5]`, so condition numbers stay moderate).
pub fn spd_matrix(n: usize) -> impl Strategy<Value = Mat<f64>> {
    matrix(n, n).prop_map(move |b| {
        let mut a = &b * b.transpose() * (1.0 / n.max(1) as f64);
        for i in 0..n {
            a[(i, i)] += 0.5;
        }
        a
    })
}

/// A lower-triangular `n x n` matrix with diagonal in `[1, 2]` and off-diagonal entries
/// in `[-0.5, 0.5]`.
pub fn lower_triangular(n: usize) -> impl Strategy<Value = Mat<f64>> {
    matrix(n, n).prop_map(move |b| {
        Mat::from_fn(n, n, |i, j| match i.cmp(&j) {
            std::cmp::Ordering::Greater => 0.5 * b[(i, j)],
            std::cmp::Ordering::Equal => 1.5 + 0.5 * b[(i, j)],
            std::cmp::Ordering::Less => 0.0,
        })
    })
}

/// A well-conditioned general `n x n` matrix `2 I + B / 2`.
pub fn well_conditioned(n: usize) -> impl Strategy<Value = Mat<f64>> {
    matrix(n, n).prop_map(move |b| {
        Mat::from_fn(n, n, |i, j| {
            0.5 * b[(i, j)] + if i == j { 2.0 } else { 0.0 }
        })
    })
}

/// Column-major values of a faer matrix.
pub fn col_major(m: &Mat<f64>) -> Vec<f64> {
    let mut v = Vec::with_capacity(m.nrows() * m.ncols());
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            v.push(m[(i, j)]);
        }
    }
    v
}

/// `A⁻¹` by Gauss–Jordan elimination with partial pivoting: a dense reference written
/// independently of faer's factorisations, for checking them (and anything built on them)
/// on small matrices.
///
/// # Errors
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `A` is not square,
/// [`Error::Singular`](crate::Error::Singular) naming the column where no non-zero pivot is
/// left.
pub fn gauss_jordan_inverse(a: MatRef<'_, f64>) -> crate::Result<Mat<f64>> {
    let n = a.nrows();
    crate::error::check_shape("gauss_jordan_inverse", "A", (a.nrows(), a.ncols()), (n, n))?;
    let mut m = a.to_owned();
    let mut inv = Mat::<f64>::identity(n, n);
    for c in 0..n {
        let mut p = c;
        for i in c + 1..n {
            if m[(i, c)].abs() > m[(p, c)].abs() {
                p = i;
            }
        }
        if m[(p, c)] == 0.0 || !m[(p, c)].is_finite() {
            return Err(crate::Error::Singular {
                op: "gauss_jordan_inverse",
                index: c,
            });
        }
        for j in 0..n {
            let (t1, t2) = (m[(c, j)], m[(p, j)]);
            m[(c, j)] = t2;
            m[(p, j)] = t1;
            let (t1, t2) = (inv[(c, j)], inv[(p, j)]);
            inv[(c, j)] = t2;
            inv[(p, j)] = t1;
        }
        let d = m[(c, c)];
        for j in 0..n {
            m[(c, j)] /= d;
            inv[(c, j)] /= d;
        }
        for i in 0..n {
            if i != c {
                let f = m[(i, c)];
                for j in 0..n {
                    m[(i, j)] -= f * m[(c, j)];
                    inv[(i, j)] -= f * inv[(c, j)];
                }
            }
        }
    }
    Ok(inv)
}

/// Reference problems of the Gaussian-process workloads (`WORKLOADS.md` §4–5).
pub mod gp_workloads {
    use std::path::{Path, PathBuf};

    use crate::error::{Error, Result};
    use crate::gp::Inputs;

    /// The shared workload folder (`<workspace>/../shared/workloads`), where the workload
    /// files come from (tests and benchmarks read the copies in [`data_dir`]).
    pub fn shared_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/workloads")
    }

    /// `engine/tests/data`: the copies of the GP workload files shipped with the repository
    /// (`gp_n{500,1000,2000,4000,20000,100000}.csv`; provenance and checksums in its
    /// `PROVENANCE.md`), so that reference tests and benchmarks run on a clean clone.
    pub fn data_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
    }

    /// `θ₀ = (log 0.3, log 0.5, log 1.0, log 1, log 0.01)`: ARD squared-exponential
    /// lengthscales, signal variance and noise variance of the workloads.
    pub fn theta0() -> [f64; 5] {
        [0.3f64.ln(), 0.5f64.ln(), 0.0, 0.0, 0.01f64.ln()]
    }

    /// Reads a workload CSV (`x1,x2,x3,y` with a header line), keeping the first `limit`
    /// rows if given.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (argument `path`) naming the file that cannot be read, with
    /// the remedy; [`Error::InvalidArgument`] naming the line that does not parse.
    pub fn read_csv(path: &Path, limit: Option<usize>) -> Result<(Inputs, Vec<f64>)> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid_option(
                "read_csv",
                "path",
                path.display(),
                format!(
                    "a readable file (reading failed: {e}); the GP workload files are in \
                     ../shared/workloads, see WORKLOADS.md section 4"
                ),
            )
        })?;
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for (ln, line) in text.lines().enumerate().skip(1) {
            if limit.is_some_and(|l| ys.len() >= l) {
                break;
            }
            if line.trim().is_empty() {
                continue;
            }
            let vals: std::result::Result<Vec<f64>, _> =
                line.split(',').map(|t| t.trim().parse::<f64>()).collect();
            match vals {
                Ok(v) if v.len() == 4 => {
                    xs.extend_from_slice(&v[..3]);
                    ys.push(v[3]);
                }
                _ => {
                    return Err(Error::InvalidArgument {
                        op: "read_csv",
                        message: format!(
                            "{} line {}: expected four numbers, got {line:?}",
                            path.display(),
                            ln + 1
                        ),
                    });
                }
            }
        }
        Ok((Inputs::new(ys.len(), 3, xs)?, ys))
    }
}
