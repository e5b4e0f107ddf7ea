//! Small dense kernels generic over [`Real`], on column-major slices.
//!
//! State-space models have small states (2–10 components), where the overhead of a
//! general BLAS call dominates. These loops run at full speed on `f64`, propagate tangents
//! on dual numbers and record themselves on a tape, so the same code serves values,
//! forward-mode derivatives and recorded reverse passes.
//!
//! Matrices are `&[R]` in column-major order: entry `(i, j)` of an `r x c` matrix is
//! `a[i + j * r]`. Callers own the output buffers (`*_into` functions overwrite them).
//!
//! ```
//! use mechml_engine::ssm::dense::{cholesky_in_place, matmul};
//! let a = [4.0, 2.0, 2.0, 3.0]; // [[4, 2], [2, 3]]
//! let mut l = a;
//! cholesky_in_place(&mut l, 2, "example")?;
//! let lt = [l[0], l[2], l[1], l[3]];
//! let back = matmul(&l, &lt, 2, 2, 2);
//! assert!(back.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-14));
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::ad::Real;
use crate::error::{Error, Result};

/// `out = a (r x k) * b (k x c)`.
#[inline]
pub fn matmul_into<R: Real>(a: &[R], b: &[R], r: usize, k: usize, c: usize, out: &mut [R]) {
    debug_assert!(a.len() >= r * k && b.len() >= k * c && out.len() >= r * c);
    for j in 0..c {
        for i in 0..r {
            out[i + j * r] = R::zero();
        }
        for l in 0..k {
            let blj = b[l + j * k];
            for i in 0..r {
                out[i + j * r] += a[i + l * r] * blj;
            }
        }
    }
}

/// `out = a (r x k) * bᵀ` where `b` is `c x k`.
#[inline]
pub fn matmul_nt_into<R: Real>(a: &[R], b: &[R], r: usize, k: usize, c: usize, out: &mut [R]) {
    for j in 0..c {
        for i in 0..r {
            out[i + j * r] = R::zero();
        }
        for l in 0..k {
            let bjl = b[j + l * c];
            for i in 0..r {
                out[i + j * r] += a[i + l * r] * bjl;
            }
        }
    }
}

/// `out = aᵀ * b` where `a` is `k x r` and `b` is `k x c`.
#[inline]
pub fn matmul_tn_into<R: Real>(a: &[R], b: &[R], r: usize, k: usize, c: usize, out: &mut [R]) {
    for j in 0..c {
        for i in 0..r {
            let mut s = R::zero();
            for l in 0..k {
                s += a[l + i * k] * b[l + j * k];
            }
            out[i + j * r] = s;
        }
    }
}

/// `out = a (r x c) * x`.
#[inline]
pub fn matvec_into<R: Real>(a: &[R], x: &[R], r: usize, c: usize, out: &mut [R]) {
    for o in out.iter_mut().take(r) {
        *o = R::zero();
    }
    for j in 0..c {
        let xj = x[j];
        for i in 0..r {
            out[i] += a[i + j * r] * xj;
        }
    }
}

/// `out = aᵀ x` where `a` is `r x c` (so `out` has length `c`).
#[inline]
pub fn matvec_t_into<R: Real>(a: &[R], x: &[R], r: usize, c: usize, out: &mut [R]) {
    for j in 0..c {
        let mut s = R::zero();
        for i in 0..r {
            s += a[i + j * r] * x[i];
        }
        out[j] = s;
    }
}

/// A new `r x c` product `a * b`.
pub fn matmul<R: Real>(a: &[R], b: &[R], r: usize, k: usize, c: usize) -> Vec<R> {
    let mut out = vec![R::zero(); r * c];
    matmul_into(a, b, r, k, c, &mut out);
    out
}

/// The transpose of an `r x c` matrix.
pub fn transpose<R: Real>(a: &[R], r: usize, c: usize) -> Vec<R> {
    let mut out = vec![R::zero(); r * c];
    for j in 0..c {
        for i in 0..r {
            out[j + i * c] = a[i + j * r];
        }
    }
    out
}

/// The `n x n` identity.
pub fn identity<R: Real>(n: usize) -> Vec<R> {
    let mut out = vec![R::zero(); n * n];
    for i in 0..n {
        out[i + i * n] = R::one();
    }
    out
}

/// Replaces a square matrix by its symmetric part `(A + Aᵀ) / 2`.
#[inline]
pub fn symmetrize_in_place<R: Real>(a: &mut [R], n: usize) {
    for j in 0..n {
        for i in 0..j {
            let s = (a[i + j * n] + a[j + i * n]) * 0.5;
            a[i + j * n] = s;
            a[j + i * n] = s;
        }
    }
}

/// The maximum absolute column sum ‖A‖₁ of an `n x n` matrix (on values).
pub fn norm1<R: Real>(a: &[R], n: usize) -> f64 {
    let mut best = 0.0_f64;
    for j in 0..n {
        let s: f64 = (0..n).map(|i| a[i + j * n].value().abs()).sum();
        best = best.max(s);
    }
    best
}

/// In-place lower Cholesky factor `A = L Lᵀ` of a symmetric `n x n` matrix (reads the
/// lower triangle, zeroes the strict upper one). Fails on a non-positive pivot.
pub fn cholesky_in_place<R: Real>(a: &mut [R], n: usize, op: &'static str) -> Result<()> {
    for j in 0..n {
        let mut d = a[j + j * n];
        for k in 0..j {
            d -= a[j + k * n] * a[j + k * n];
        }
        if d.value() <= 0.0 || !d.value().is_finite() {
            return Err(Error::NotPositiveDefinite {
                op,
                pivot: j,
                value: d.value(),
            });
        }
        let l = d.sqrt();
        a[j + j * n] = l;
        let inv = l.recip();
        for i in j + 1..n {
            let mut s = a[i + j * n];
            for k in 0..j {
                s -= a[i + k * n] * a[j + k * n];
            }
            a[i + j * n] = s * inv;
        }
        for i in 0..j {
            a[i + j * n] = R::zero();
        }
    }
    Ok(())
}

/// Solves `L x = b` in place (forward substitution) for lower-triangular `L`.
#[inline]
pub fn solve_lower_in_place<R: Real>(l: &[R], n: usize, b: &mut [R]) {
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i + k * n] * b[k];
        }
        b[i] = s / l[i + i * n];
    }
}

/// Solves `Lᵀ x = b` in place (back substitution) for lower-triangular `L`.
#[inline]
pub fn solve_lower_t_in_place<R: Real>(l: &[R], n: usize, b: &mut [R]) {
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k + i * n] * b[k];
        }
        b[i] = s / l[i + i * n];
    }
}

/// The inverse of `A = L Lᵀ` from its Cholesky factor, written into `out` (`n x n`).
pub fn chol_inverse_into<R: Real>(l: &[R], n: usize, out: &mut [R]) {
    for j in 0..n {
        let col = &mut out[j * n..(j + 1) * n];
        for (i, c) in col.iter_mut().enumerate() {
            *c = if i == j { R::one() } else { R::zero() };
        }
        solve_lower_in_place(l, n, col);
        solve_lower_t_in_place(l, n, col);
    }
    symmetrize_in_place(out, n);
}

/// Solves `A X = B` for a general square `A` (`n x n`) and `B` (`n x c`) by Gaussian
/// elimination with partial pivoting (pivots chosen on values, so the derivative is that
/// of the chosen elimination order, which is exact). `B` is overwritten by `X`.
pub fn lu_solve_in_place<R: Real>(
    a: &[R],
    n: usize,
    b: &mut [R],
    c: usize,
    op: &'static str,
) -> Result<()> {
    let mut m = a.to_vec();
    for k in 0..n {
        // Pivot: the largest entry of column k at or below the diagonal.
        let mut p = k;
        let mut best = m[k + k * n].value().abs();
        for i in k + 1..n {
            let v = m[i + k * n].value().abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        if best <= 0.0 || !best.is_finite() {
            return Err(Error::Singular { op, index: k });
        }
        if p != k {
            for j in 0..n {
                m.swap(k + j * n, p + j * n);
            }
            for j in 0..c {
                b.swap(k + j * n, p + j * n);
            }
        }
        let inv = m[k + k * n].recip();
        for i in k + 1..n {
            let f = m[i + k * n] * inv;
            for j in k + 1..n {
                let t = m[k + j * n];
                m[i + j * n] -= f * t;
            }
            for j in 0..c {
                let t = b[k + j * n];
                b[i + j * n] -= f * t;
            }
        }
    }
    for j in 0..c {
        for i in (0..n).rev() {
            let mut s = b[i + j * n];
            for k in i + 1..n {
                s -= m[i + k * n] * b[k + j * n];
            }
            b[i + j * n] = s / m[i + i * n];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_and_inverse_reconstruct() {
        // A = [[4, 2, 0.4], [2, 5, 1], [0.4, 1, 3]]
        let a = [4.0, 2.0, 0.4, 2.0, 5.0, 1.0, 0.4, 1.0, 3.0];
        let mut l = a;
        cholesky_in_place(&mut l, 3, "test").unwrap();
        let lt = transpose(&l, 3, 3);
        let back = matmul(&l, &lt, 3, 3, 3);
        for (x, y) in back.iter().zip(&a) {
            assert!((x - y).abs() < 1e-14);
        }
        let mut inv = [0.0; 9];
        chol_inverse_into(&l, 3, &mut inv);
        let eye = matmul(&a, &inv, 3, 3, 3);
        for i in 0..3 {
            for j in 0..3 {
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((eye[i + 3 * j] - e).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn cholesky_reports_pivot() {
        let mut a = [1.0, 2.0, 2.0, 1.0];
        let e = cholesky_in_place(&mut a, 2, "test").unwrap_err();
        assert!(matches!(e, Error::NotPositiveDefinite { pivot: 1, .. }));
    }

    #[test]
    fn lu_solves_with_pivoting() {
        // A needs a row swap: [[0, 1], [2, 3]]
        let a = [0.0, 2.0, 1.0, 3.0];
        let mut b = [1.0, 8.0];
        lu_solve_in_place(&a, 2, &mut b, 1, "test").unwrap();
        // x = [2.5, 1]: 0*2.5 + 1*1 = 1; 2*2.5 + 3*1 = 8.
        assert!((b[0] - 2.5).abs() < 1e-15 && (b[1] - 1.0).abs() < 1e-15);
        let singular = [1.0, 2.0, 2.0, 4.0];
        let mut b = [1.0, 1.0];
        assert!(lu_solve_in_place(&singular, 2, &mut b, 1, "test").is_err());
    }

    #[test]
    fn products_agree_with_transposes() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2x3
        let b = [1.0, 0.5, -1.0, 2.0, 0.0, 1.0]; // 3x2
        let ab = matmul(&a, &b, 2, 3, 2);
        let bt = transpose(&b, 3, 2);
        let mut ab2 = [0.0; 4];
        matmul_nt_into(&a, &bt, 2, 3, 2, &mut ab2);
        let at = transpose(&a, 2, 3);
        let mut ab3 = [0.0; 4];
        matmul_tn_into(&at, &b, 2, 3, 2, &mut ab3);
        for i in 0..4 {
            assert!((ab[i] - ab2[i]).abs() < 1e-15 && (ab[i] - ab3[i]).abs() < 1e-15);
        }
        // Rows of a: [1 3 5], [2 4 6]; first column of b: [1, 0.5, −1].
        assert!((ab[0] - (1.0 + 1.5 - 5.0)).abs() < 1e-15);
    }
}
