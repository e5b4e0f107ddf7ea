//! Cholesky factorisation as a block:
//! $$L = \operatorname{chol}\big(\tfrac12 (A + A^\top)\big), \qquad L L^\top = \tfrac12 (A + A^\top).$$
//!
//! Pullback (Murray 2016, "Differentiation of the Cholesky decomposition",
//! arXiv:1602.07527, §3.1): with $\Phi$ taking the lower triangle and halving the diagonal,
//! $$S = L^{-\top} \Phi(L^\top \bar L) L^{-1}, \qquad \bar A = \tfrac12 (S + S^\top)$$
//! (the input is symmetrised, so its gradient is symmetric). Pushforward:
//! $$\dot L = L \Phi(L^{-1} \dot A L^{-\top}).$$

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::{Accum, Mat, MatRef, Par};

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::varmat::check_tape;
use crate::ad::{Dual, Tape, VarMat};
use crate::error::Result;
use crate::linalg::{Llt, symmetrize};

use super::dual::{add_dual, check_square_dual, join, mm, split};
use super::tri::{Uplo, masked, tri_solve_left};
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
        matmul(
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

// Second order: the block on a tape of dual numbers.

/// `L⁻ᵀ X` for lower-triangular `L`.
fn solve_lt(l: MatRef<'_, f64>, x: MatRef<'_, f64>, par: Par) -> Mat<f64> {
    let mut out = x.to_owned();
    tri_solve_left(l, Uplo::Lower, true, out.as_mut(), par);
    out
}

/// `X L⁻¹` for lower-triangular `L` (as `(L⁻ᵀ Xᵀ)ᵀ`).
fn right_solve_l(l: MatRef<'_, f64>, x: MatRef<'_, f64>, par: Par) -> Mat<f64> {
    solve_lt(l, x.transpose(), par).transpose().to_owned()
}

/// Keeps the lower triangle.
fn lower(x: MatRef<'_, f64>) -> Mat<f64> {
    masked(x, Uplo::Lower)
}

struct DualCholeskyOp {
    l0: Mat<f64>,
    l1: Mat<f64>,
    par: Par,
}

impl BlockOp<Dual> for DualCholeskyOp {
    fn name(&self) -> &'static str {
        "cholesky"
    }
    fn pullback(&self, g: &[Dual], inputs: &mut InputAdjoints<'_, Dual>) -> Result<()> {
        let Some(mut da) = inputs.arg(0) else {
            return Ok(());
        };
        let (n, par) = (self.l0.nrows(), self.par);
        let (g0, g1) = split(g, n, n);
        let (g0, g1) = (lower(g0.as_ref()), lower(g1.as_ref()));
        let (l0, l1) = (self.l0.as_ref(), self.l1.as_ref());
        // S₀ = L⁻ᵀ Φ(Lᵀ L̄₀) L⁻¹.
        let mut p0 = mm(l0.transpose(), g0.as_ref(), par);
        phi(&mut p0);
        let s0 = sandwich_inv_lt(l0, p0, par);
        // S₁ = L⁻ᵀ Φ(L₁ᵀ L̄₀ + Lᵀ L̄₁) L⁻¹ − L⁻ᵀ L₁ᵀ S₀ − S₀ L₁ L⁻¹.
        let mut p1 = mm(l1.transpose(), g0.as_ref(), par);
        matmul(
            p1.as_mut(),
            Accum::Add,
            l0.transpose(),
            g1.as_ref(),
            1.0,
            par,
        );
        phi(&mut p1);
        let mut s1 = sandwich_inv_lt(l0, p1, par);
        s1 -= solve_lt(l0, mm(l1.transpose(), s0.as_ref(), par).as_ref(), par);
        s1 -= right_solve_l(l0, mm(s0.as_ref(), l1, par).as_ref(), par);
        add_dual(
            &mut da,
            symmetrize(s0.as_ref()).as_ref(),
            symmetrize(s1.as_ref()).as_ref(),
        );
        Ok(())
    }
}

/// The Cholesky block on a tape of dual numbers: it differentiates the same function as
/// its `f64` namesake, and its pullback propagates second-order information, so
/// [`api::hvp_tape`](crate::ad::api::hvp_tape) is exact through it.
impl Tape<Dual> {
    /// The lower Cholesky factor of `(A + Aᵀ)/2`, as one block (see
    /// [`Tape::cholesky`](Tape::cholesky) on `Tape<f64>`).
    ///
    /// # Errors
    /// Shape, non-finite (value or tangent) and not-positive-definite errors.
    pub fn cholesky<'t>(&'t self, a: &VarMat<'t, Dual>) -> Result<VarMat<'t, Dual>> {
        let op = "cholesky";
        check_tape(op, self, &[a.tape()])?;
        let n = check_square_dual(op, "A", a)?;
        let par = self.par();
        let (a0, a1) = split(a.values(), n, n);
        let l0 = Llt::factor_symmetrized(op, a0.as_ref(), par)?.into_l();
        // L₁ = L Φ(L⁻¹ sym(A₁) L⁻ᵀ).
        let mut m = symmetrize(a1.as_ref());
        tri_solve_left(l0.as_ref(), Uplo::Lower, false, m.as_mut(), par);
        let mut inner = m.transpose().to_owned();
        tri_solve_left(l0.as_ref(), Uplo::Lower, false, inner.as_mut(), par);
        phi(&mut inner);
        let l1 = mm(l0.as_ref(), inner.as_ref(), par);
        let vals = join(l0.as_ref(), l1.as_ref());
        let start = self.push_block(DualCholeskyOp { l0, l1, par }, &[a.arg()], n * n)?;
        Ok(VarMat::from_block(self, start, n, n, vals))
    }
}
