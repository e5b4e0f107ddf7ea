//! LU factorisation with partial pivoting, P A = L U, for general square matrices.

use faer::Conj;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::{factor, solve};
use faer::perm::PermRef;

use super::{Mat, MatMut, MatRef, Par};
use crate::error::{Error, Result, check_shape};

/// An LU factorisation with partial pivoting.
#[derive(Clone, Debug)]
pub struct Lu {
    lu: Mat<f64>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    n_transpositions: usize,
}

impl Lu {
    /// Factorises a square matrix.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if not square, [`Error::NonFinite`] on NaN/∞ input,
    /// [`Error::Singular`] if a pivot is exactly zero.
    pub fn factor(a: MatRef<'_, f64>, par: Par) -> Result<Self> {
        let n = a.nrows();
        check_shape("lu", "A", (a.nrows(), a.ncols()), (n, n))?;
        let mut lu = a.to_owned();
        for j in 0..n {
            for i in 0..n {
                if !lu[(i, j)].is_finite() {
                    return Err(Error::NonFinite {
                        op: "lu",
                        index: i + j * n,
                        value: lu[(i, j)],
                        context: format!("A[({i}, {j})]"),
                    });
                }
            }
        }
        let mut perm = vec![0usize; n];
        let mut perm_inv = vec![0usize; n];
        let req = factor::lu_in_place_scratch::<usize, f64>(n, n, par, Default::default());
        let mut buf = MemBuffer::new(req);
        let (info, _) = factor::lu_in_place(
            lu.as_mut(),
            &mut perm,
            &mut perm_inv,
            par,
            MemStack::new(&mut buf),
            Default::default(),
        );
        if let Some(i) = (0..n).find(|&i| lu[(i, i)] == 0.0) {
            return Err(Error::Singular { op: "lu", index: i });
        }
        Ok(Self {
            lu,
            perm,
            perm_inv,
            n_transpositions: info.transposition_count,
        })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.lu.nrows()
    }

    fn perm(&self) -> PermRef<'_, usize> {
        PermRef::new_checked(&self.perm, &self.perm_inv, self.dim())
    }

    /// `(sign, ln |det A|)`.
    pub fn log_abs_det(&self) -> (f64, f64) {
        let mut sign = if self.n_transpositions.is_multiple_of(2) {
            1.0
        } else {
            -1.0
        };
        let mut l = 0.0;
        for i in 0..self.dim() {
            let u = self.lu[(i, i)];
            if u < 0.0 {
                sign = -sign;
            }
            l += u.abs().ln();
        }
        (sign, l)
    }

    /// Solves `A X = B` in place.
    pub fn solve_in_place(&self, b: MatMut<'_, f64>, par: Par) {
        let req = solve::solve_in_place_scratch::<usize, f64>(self.dim(), b.ncols(), par);
        let mut buf = MemBuffer::new(req);
        let lu = self.lu.as_ref();
        solve::solve_in_place_with_conj(
            lu,
            lu,
            self.perm(),
            Conj::No,
            b,
            par,
            MemStack::new(&mut buf),
        );
    }

    /// Solves `Aᵀ X = B` in place.
    pub fn solve_transpose_in_place(&self, b: MatMut<'_, f64>, par: Par) {
        let req = solve::solve_transpose_in_place_scratch::<usize, f64>(self.dim(), b.ncols(), par);
        let mut buf = MemBuffer::new(req);
        let lu = self.lu.as_ref();
        solve::solve_transpose_in_place_with_conj(
            lu,
            lu,
            self.perm(),
            Conj::No,
            b,
            par,
            MemStack::new(&mut buf),
        );
    }

    /// `A⁻¹`.
    pub fn inverse(&self, par: Par) -> Mat<f64> {
        let n = self.dim();
        let mut x = Mat::<f64>::identity(n, n);
        self.solve_in_place(x.as_mut(), par);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_determinant() {
        let a = faer::mat![[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]];
        // det = 0(1-0) - 2(1-0) + 1(0-3) = -5
        let lu = Lu::factor(a.as_ref(), Par::Seq).unwrap();
        let (s, l) = lu.log_abs_det();
        assert!((s * l.exp() + 5.0).abs() < 1e-12);
        let mut b = Mat::<f64>::from_fn(3, 1, |i, _| i as f64 + 1.0);
        let b0 = b.clone();
        lu.solve_in_place(b.as_mut(), Par::Seq);
        assert!((&a * &b - &b0).norm_max() < 1e-12);
        let mut c = b0.clone();
        lu.solve_transpose_in_place(c.as_mut(), Par::Seq);
        assert!((a.transpose() * &c - &b0).norm_max() < 1e-12);
    }

    #[test]
    fn singular_is_an_error() {
        let a = faer::mat![[1.0, 2.0], [2.0, 4.0]];
        assert!(matches!(
            Lu::factor(a.as_ref(), Par::Seq),
            Err(Error::Singular { .. })
        ));
    }
}
