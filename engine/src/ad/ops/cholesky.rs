//! Cholesky factorisation as a block: L = chol((A + Aᵀ)/2).
//!
//! Pullback (Murray 2016, "Differentiation of the Cholesky decomposition",
//! arXiv:1602.07527, §3.1): with Φ taking the lower triangle and halving the diagonal,
//! S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹ and Ā = (S + Sᵀ)/2 (the input is symmetrised, so its gradient is
//! symmetric). Pushforward: dL = L Φ(L⁻¹ dA L⁻ᵀ).

use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::{Accum, Mat, MatRef, Par};

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Tape, VarMat};
use crate::error::Result;
use crate::linalg::{Llt, symmetrize};

use super::tri::{Uplo, tri_solve_left};
use super::util::{add_sym_scaled, mat_mut, mat_ref, same_tape, to_vec};

/// Φ(X): lower triangle with the diagonal halved, in place.
pub(super) fn phi(x: &mut Mat<f64>) {
    let n = x.nrows();
    for j in 0..n {
        for i in 0..j {
            x[(i, j)] = 0.0;
        }
        x[(j, j)] *= 0.5;
    }
}

/// `L⁻ᵀ P L⁻¹` for lower-triangular `L`.
pub(super) fn sandwich_inv_lt(l: MatRef<'_, f64>, p: Mat<f64>, par: Par) -> Mat<f64> {
    let mut x = p;
    tri_solve_left(l, Uplo::Lower, true, x.as_mut(), par); // X = L⁻ᵀ P
    let mut st = x.transpose().to_owned();
    tri_solve_left(l, Uplo::Lower, true, st.as_mut(), par); // Sᵀ = L⁻ᵀ Xᵀ
    st.transpose().to_owned()
}

struct CholeskyOp {
    l: Mat<f64>,
    par: Par,
}

impl BlockOp for CholeskyOp {
    fn name(&self) -> &'static str {
        "cholesky"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let Some(mut da) = inputs.arg(0) else {
            return Ok(());
        };
        let n = self.l.nrows();
        let lbar = mat_ref(g, n, n);
        // P = Φ(Lᵀ tril(L̄)).
        let mut p = Mat::<f64>::zeros(n, n);
        tri_matmul(
            p.as_mut(),
            BlockStructure::Rectangular,
            Accum::Replace,
            self.l.transpose(),
            BlockStructure::TriangularUpper,
            lbar,
            BlockStructure::TriangularLower,
            1.0,
            self.par,
        );
        phi(&mut p);
        let s = sandwich_inv_lt(self.l.as_ref(), p, self.par);
        add_sym_scaled(&mut da, s.as_ref(), 1.0);
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let n = self.l.nrows();
        let Some(ta) = inputs.arg(0) else {
            out.iter_mut().for_each(|o| *o = 0.0);
            return Ok(());
        };
        let mut m = symmetrize(mat_ref(&ta, n, n));
        tri_solve_left(self.l.as_ref(), Uplo::Lower, false, m.as_mut(), self.par); // L⁻¹ dA
        let mut mt = m.transpose().to_owned();
        tri_solve_left(self.l.as_ref(), Uplo::Lower, false, mt.as_mut(), self.par); // (L⁻¹ dA L⁻ᵀ)ᵀ
        let mut inner = mt.transpose().to_owned();
        phi(&mut inner);
        faer::linalg::matmul::matmul(
            mat_mut(out, n, n),
            Accum::Replace,
            self.l.as_ref(),
            inner.as_ref(),
            1.0,
            self.par,
        );
        Ok(())
    }
}

impl Tape {
    /// The lower Cholesky factor of `(A + Aᵀ)/2` (zeros above the diagonal), as one block.
    ///
    /// # Errors
    /// [`Error::NotPositiveDefinite`](crate::Error::NotPositiveDefinite) with the failing
    /// pivot and its value; shape and non-finite errors.
    pub fn cholesky<'t>(&'t self, a: &VarMat<'t>) -> Result<VarMat<'t>> {
        same_tape("cholesky", self, &[a.tape()])?;
        let n = a.nrows();
        let par = self.par();
        let llt = Llt::factor_symmetrized("cholesky", a.as_faer(), par)?;
        let l = llt.into_l();
        let vals = to_vec(l.as_ref());
        let start = self.push_block(CholeskyOp { l, par }, &[a.arg()], n * n)?;
        Ok(VarMat::from_block(self, start, n, n, vals))
    }
}
