//! Cholesky factorisation A = L Lᵀ of a symmetric positive-definite matrix.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{LltError, cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};

use super::{Mat, MatMut, MatRef, Par};
use crate::error::{Error, Result, check_shape};

/// The Cholesky factor of a symmetric positive-definite matrix (lower triangle of `A` used).
#[derive(Clone, Debug)]
pub struct Llt {
    l: Mat<f64>,
}

impl Llt {
    /// Factorises `A` (only its lower triangle is read).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `A` is not square, [`Error::NonFinite`] for a NaN or
    /// infinite entry, [`Error::NotPositiveDefinite`] with the failing pivot and the value
    /// of the Schur complement's diagonal entry there.
    pub fn factor(a: MatRef<'_, f64>, par: Par) -> Result<Self> {
        Self::factor_named("cholesky", a, par)
    }

    /// Like [`Llt::factor`], naming the calling operation in errors.
    pub fn factor_named(op: &'static str, a: MatRef<'_, f64>, par: Par) -> Result<Self> {
        let n = a.nrows();
        check_shape(op, "A", (a.nrows(), a.ncols()), (n, n))?;
        let mut l = Mat::<f64>::zeros(n, n);
        for j in 0..n {
            for i in j..n {
                let v = a[(i, j)];
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        op,
                        index: i + j * n,
                        value: v,
                        context: format!("A[({i}, {j})]"),
                    });
                }
                l[(i, j)] = v;
            }
        }
        match factor_in_place(l.as_mut(), par) {
            Ok(()) => Ok(Self { l }),
            Err(pivot) => Err(Error::NotPositiveDefinite {
                op,
                pivot,
                value: schur_pivot(a, pivot, par),
            }),
        }
    }

    /// Factorises `A` in place, consuming it (only its lower triangle is read; no copy is
    /// made). Returns `None` if a pivot is not positive: the matrix is then lost, so call
    /// [`Llt::factor`] on the original for the diagnosis (failing pivot and its value).
    /// The caller checks finiteness.
    pub fn factor_owned(a: Mat<f64>, par: Par) -> Option<Self> {
        let mut l = a;
        if l.nrows() != l.ncols() {
            return None;
        }
        factor_in_place(l.as_mut(), par).ok()?;
        Some(Self { l })
    }

    /// Factorises `(A + Aᵀ)/2`, reading both triangles of `A` once (tiled, so the
    /// transposed walk stays in cache) straight into the factor's buffer: no intermediate
    /// symmetric copy. Errors as for [`Llt::factor`].
    pub fn factor_symmetrized(op: &'static str, a: MatRef<'_, f64>, par: Par) -> Result<Self> {
        const TILE: usize = 64;
        let n = a.nrows();
        check_shape(op, "A", (a.nrows(), a.ncols()), (n, n))?;
        let mut l = Mat::<f64>::zeros(n, n);
        for jb in (0..n).step_by(TILE) {
            for ib in (jb..n).step_by(TILE) {
                for j in jb..(jb + TILE).min(n) {
                    for i in ib.max(j)..(ib + TILE).min(n) {
                        l[(i, j)] = 0.5 * (a[(i, j)] + a[(j, i)]);
                    }
                }
            }
        }
        for j in 0..n {
            if let Some(k) = (j..n).find(|&i| !l[(i, j)].is_finite()) {
                let v = if a[(k, j)].is_finite() {
                    a[(j, k)]
                } else {
                    a[(k, j)]
                };
                let (r, c) = if a[(k, j)].is_finite() {
                    (j, k)
                } else {
                    (k, j)
                };
                return Err(Error::NonFinite {
                    op,
                    index: r + c * n,
                    value: v,
                    context: format!("A[({r}, {c})]"),
                });
            }
        }
        match factor_in_place(l.as_mut(), par) {
            Ok(()) => Ok(Self { l }),
            Err(pivot) => {
                let sym = super::symmetrize(a);
                Err(Error::NotPositiveDefinite {
                    op,
                    pivot,
                    value: schur_pivot(sym.as_ref(), pivot, par),
                })
            }
        }
    }

    /// Wraps an existing lower-triangular factor (entries above the diagonal are ignored).
    pub fn from_factor(l: Mat<f64>) -> Self {
        let mut l = l;
        let n = l.nrows();
        for j in 0..n {
            for i in 0..j {
                l[(i, j)] = 0.0;
            }
        }
        Self { l }
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.l.nrows()
    }

    /// The lower-triangular factor `L` (zeros above the diagonal).
    pub fn l(&self) -> MatRef<'_, f64> {
        self.l.as_ref()
    }

    /// Consumes the factorisation, returning `L`.
    pub fn into_l(self) -> Mat<f64> {
        self.l
    }

    /// log det A = 2 Σ ln Lᵢᵢ.
    pub fn logdet(&self) -> f64 {
        2.0 * (0..self.dim()).map(|i| self.l[(i, i)].ln()).sum::<f64>()
    }

    /// Solves `L X = B` in place.
    pub fn solve_l_in_place(&self, b: MatMut<'_, f64>, par: Par) {
        solve_lower_triangular_in_place(self.l.as_ref(), b, par);
    }

    /// Solves `Lᵀ X = B` in place.
    pub fn solve_lt_in_place(&self, b: MatMut<'_, f64>, par: Par) {
        solve_upper_triangular_in_place(self.l.transpose(), b, par);
    }

    /// Solves `A X = B` in place.
    pub fn solve_in_place(&self, mut b: MatMut<'_, f64>, par: Par) {
        self.solve_l_in_place(b.as_mut(), par);
        self.solve_lt_in_place(b, par);
    }

    /// `A⁻¹ b` for a vector.
    pub fn solve_vec(&self, b: &[f64], par: Par) -> Vec<f64> {
        let mut x = b.to_vec();
        let n = x.len();
        self.solve_in_place(MatMut::from_column_major_slice_mut(&mut x, n, 1), par);
        x
    }

    /// The full symmetric inverse `A⁻¹ = L⁻ᵀ L⁻¹`: a triangular inverse (n³/3 flops) and
    /// the lower half of a triangular product (n³/3 flops), then the upper half mirrored.
    pub fn inverse(&self, par: Par) -> Mat<f64> {
        let n = self.dim();
        let mut out = Mat::<f64>::zeros(n, n);
        let mut work = vec![0.0; n * n];
        self.inverse_into(out.as_mut(), &mut work, par);
        out
    }

    /// [`Llt::inverse`] into `out` (n × n), using `work` (at least n² entries, contents
    /// unspecified) for `L⁻¹`: no allocation.
    ///
    /// # Panics
    /// If `out` is not n × n or `work` is shorter than n² (programming errors).
    pub fn inverse_into(&self, mut out: MatMut<'_, f64>, work: &mut [f64], par: Par) {
        use faer::linalg::matmul::triangular::{BlockStructure, matmul};
        let n = self.dim();
        assert!(
            out.nrows() == n && out.ncols() == n && work.len() >= n * n,
            "inverse_into: buffer sizes"
        );
        let mut l_inv = MatMut::from_column_major_slice_mut(&mut work[..n * n], n, n);
        faer::linalg::triangular_inverse::invert_lower_triangular(
            l_inv.as_mut(),
            self.l.as_ref(),
            par,
        );
        // Only the lower triangle of L⁻¹ is read below, so the work buffer's upper part
        // may hold anything.
        matmul(
            out.as_mut(),
            BlockStructure::TriangularLower,
            faer::Accum::Replace,
            l_inv.as_ref().transpose(),
            BlockStructure::TriangularUpper,
            l_inv.as_ref(),
            BlockStructure::TriangularLower,
            1.0,
            par,
        );
        super::mirror_lower(out);
    }
}

/// In-place Cholesky of the lower triangle; `Err(pivot)` on a non-positive pivot.
fn factor_in_place(a: MatMut<'_, f64>, par: Par) -> std::result::Result<(), usize> {
    let n = a.nrows();
    let mut buf = MemBuffer::new(cholesky_in_place_scratch::<f64>(n, par, Default::default()));
    let mut a = a;
    match cholesky_in_place(
        a.as_mut(),
        Default::default(),
        par,
        MemStack::new(&mut buf),
        Default::default(),
    ) {
        Ok(_) => {
            // faer may use the strict upper triangle as workspace.
            for j in 0..n {
                match a.as_mut().col_mut(j).try_as_col_major_mut() {
                    Some(c) => c.as_slice_mut()[..j].fill(0.0),
                    None => {
                        for i in 0..j {
                            a[(i, j)] = 0.0;
                        }
                    }
                }
            }
            Ok(())
        }
        Err(LltError::NonPositivePivot { index }) => Err(index),
    }
}

/// The Schur-complement pivot `a_kk − ‖L₁₁⁻¹ a₁ₖ‖²` at the failing index `k` (recomputed
/// from the leading block, which did factorise).
fn schur_pivot(a: MatRef<'_, f64>, k: usize, par: Par) -> f64 {
    let n = a.nrows();
    if k >= n {
        return f64::NAN;
    }
    if k == 0 {
        return a[(0, 0)];
    }
    let mut l11 = Mat::<f64>::zeros(k, k);
    for j in 0..k {
        for i in j..k {
            l11[(i, j)] = a[(i, j)];
        }
    }
    if factor_in_place(l11.as_mut(), par).is_err() {
        return f64::NAN;
    }
    let mut col = Mat::<f64>::from_fn(k, 1, |i, _| a[(k, i)]);
    solve_lower_triangular_in_place(l11.as_ref(), col.as_mut(), par);
    a[(k, k)] - (0..k).map(|i| col[(i, 0)] * col[(i, 0)]).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize) -> Mat<f64> {
        let b = Mat::<f64>::from_fn(n, n, |i, j| ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.4);
        let mut a = &b * b.transpose();
        for i in 0..n {
            a[(i, i)] += 0.5;
        }
        a
    }

    #[test]
    fn reconstructs_and_inverts() {
        let n = 9;
        let a = spd(n);
        let llt = Llt::factor(a.as_ref(), Par::Seq).unwrap();
        let r = llt.l() * llt.l().transpose();
        assert!((&r - &a).norm_max() < 1e-12 * a.norm_max());
        let inv = llt.inverse(Par::Seq);
        let eye = &inv * &a;
        for i in 0..n {
            for j in 0..n {
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((eye[(i, j)] - e).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn reports_pivot_and_value() {
        // diag(1, 4, -2, 3): fails at pivot 2 with value -2.
        let mut a = Mat::<f64>::zeros(4, 4);
        for (i, d) in [1.0, 4.0, -2.0, 3.0].iter().enumerate() {
            a[(i, i)] = *d;
        }
        match Llt::factor(a.as_ref(), Par::Seq) {
            Err(Error::NotPositiveDefinite { pivot, value, .. }) => {
                assert_eq!(pivot, 2);
                assert!((value + 2.0).abs() < 1e-14);
            }
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        }
        // [[1, 2], [2, 1]]: pivot 1, Schur complement 1 - 4 = -3.
        let b = faer::mat![[1.0, 2.0], [2.0, 1.0]];
        match Llt::factor(b.as_ref(), Par::Seq) {
            Err(Error::NotPositiveDefinite { pivot, value, .. }) => {
                assert_eq!(pivot, 1);
                assert!((value + 3.0).abs() < 1e-14);
            }
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        }
    }

    #[test]
    fn nan_is_an_error() {
        let mut a = spd(3);
        a[(2, 1)] = f64::NAN;
        assert!(matches!(
            Llt::factor(a.as_ref(), Par::Seq),
            Err(Error::NonFinite { .. })
        ));
    }
}
