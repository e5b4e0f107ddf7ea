//! Triangular solves on either side: `T X = B` (left) or `X T = B` (right), `T` lower or
//! upper triangular (entries outside the triangle are ignored and get zero adjoint).
//!
//! Pullback (Giles 2008, "Collected matrix derivative results", §2.2.3), left side
//! ($X = T^{-1} B$) and right side ($X = B T^{-1}$):
//! $$\bar B = T^{-\top} \bar X,\quad \bar T = -\operatorname{mask}(\bar B X^\top);
//! \qquad \bar B = \bar X T^{-\top},\quad \bar T = -\operatorname{mask}(X^\top \bar B),$$
//! where mask keeps the triangle that is used.
//!
//! Second order (on `Tape<Dual>`, see [`dual`](super::dual)), left side:
//! `B̄₁ = T⁻ᵀ (X̄₁ − T₁ᵀ B̄₀)`, `T̄₁ = −mask(B̄₁ X₀ᵀ + B̄₀ X₁ᵀ)`, and the transposed forms for
//! `X = B T⁻¹`; the tangent of the solution is `X₁ = T⁻¹ (B₁ − T₁ X₀)`.

use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::varmat::check_tape;
use crate::ad::{Dual, Tape, VarMat};
use crate::error::{Error, Result, check_finite};

use super::dual::{add_dual, check_finite_dual, check_square_dual, join, mm, split};
use super::util::{mat_mut, mat_ref, same_tape, to_vec};

/// Which triangle of `T` is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uplo {
    /// Lower triangle (with diagonal).
    Lower,
    /// Upper triangle (with diagonal).
    Upper,
}

/// Which side `T` multiplies the unknown from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `T X = B`.
    Left,
    /// `X T = B`.
    Right,
}

/// Solves `op(T) X = rhs` in place, `op(T) = T` or `Tᵀ`.
pub(crate) fn tri_solve_left(
    t: MatRef<'_, f64>,
    uplo: Uplo,
    transpose: bool,
    rhs: MatMut<'_, f64>,
    par: Par,
) {
    match (uplo, transpose) {
        (Uplo::Lower, false) => solve_lower_triangular_in_place(t, rhs, par),
        (Uplo::Lower, true) => solve_upper_triangular_in_place(t.transpose(), rhs, par),
        (Uplo::Upper, false) => solve_upper_triangular_in_place(t, rhs, par),
        (Uplo::Upper, true) => solve_lower_triangular_in_place(t.transpose(), rhs, par),
    }
}

pub(super) fn in_triangle(uplo: Uplo, i: usize, j: usize) -> bool {
    match uplo {
        Uplo::Lower => i >= j,
        Uplo::Upper => i <= j,
    }
}

/// The triangle of `t` (zeros elsewhere).
pub(super) fn masked(t: MatRef<'_, f64>, uplo: Uplo) -> Mat<f64> {
    Mat::from_fn(t.nrows(), t.ncols(), |i, j| {
        if in_triangle(uplo, i, j) {
            t[(i, j)]
        } else {
            0.0
        }
    })
}

struct TriSolveOp {
    t: Mat<f64>,
    x: Mat<f64>,
    uplo: Uplo,
    side: Side,
    par: Par,
}

impl BlockOp for TriSolveOp {
    fn name(&self) -> &'static str {
        "solve_triangular"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let (r, c) = (self.x.nrows(), self.x.ncols());
        let n = self.t.nrows();
        let gx = mat_ref(g, r, c);
        // B̄ (r x c).
        let bbar: Mat<f64> = match self.side {
            Side::Left => {
                let mut b = gx.to_owned();
                tri_solve_left(self.t.as_ref(), self.uplo, true, b.as_mut(), self.par);
                b
            }
            Side::Right => {
                let mut bt = gx.transpose().to_owned();
                tri_solve_left(self.t.as_ref(), self.uplo, false, bt.as_mut(), self.par);
                bt.transpose().to_owned()
            }
        };
        if let Some(mut dt) = inputs.arg(0) {
            let mut prod = Mat::<f64>::zeros(n, n);
            let (lhs, rhs) = match self.side {
                Side::Left => (bbar.as_ref(), self.x.transpose()),
                Side::Right => (self.x.transpose(), bbar.as_ref()),
            };
            matmul(prod.as_mut(), Accum::Replace, lhs, rhs, 1.0, self.par);
            for j in 0..n {
                for i in 0..n {
                    if in_triangle(self.uplo, i, j) {
                        dt[i + j * n] -= prod[(i, j)];
                    }
                }
            }
        }
        if let Some(mut db) = inputs.arg(1) {
            super::util::add_scaled(&mut db, bbar.as_ref(), 1.0);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let (r, c) = (self.x.nrows(), self.x.ncols());
        let n = self.t.nrows();
        // rhs = dB - dT X (left) or dB - X dT (right).
        let mut rhs = match inputs.arg(1) {
            Some(tb) => mat_ref(&tb, r, c).to_owned(),
            None => Mat::zeros(r, c),
        };
        if let Some(tt) = inputs.arg(0) {
            let dt = masked(mat_ref(&tt, n, n), self.uplo);
            match self.side {
                Side::Left => matmul(
                    rhs.as_mut(),
                    Accum::Add,
                    dt.as_ref(),
                    self.x.as_ref(),
                    -1.0,
                    self.par,
                ),
                Side::Right => matmul(
                    rhs.as_mut(),
                    Accum::Add,
                    self.x.as_ref(),
                    dt.as_ref(),
                    -1.0,
                    self.par,
                ),
            }
        }
        let dx = match self.side {
            Side::Left => {
                tri_solve_left(self.t.as_ref(), self.uplo, false, rhs.as_mut(), self.par);
                rhs
            }
            Side::Right => {
                let mut rt = rhs.transpose().to_owned();
                tri_solve_left(self.t.as_ref(), self.uplo, true, rt.as_mut(), self.par);
                rt.transpose().to_owned()
            }
        };
        mat_mut(out, r, c).copy_from(dx.as_ref());
        Ok(())
    }
}

impl Tape {
    /// Solves `T X = B` (`Side::Left`) or `X T = B` (`Side::Right`) with `T` triangular.
    ///
    /// # Errors
    /// Shape mismatches, non-finite input, or [`Error::Singular`] for a zero diagonal entry.
    pub fn solve_triangular<'t>(
        &'t self,
        t: &VarMat<'t>,
        b: &VarMat<'t>,
        uplo: Uplo,
        side: Side,
    ) -> Result<VarMat<'t>> {
        let op = "solve_triangular";
        let n = super::util::check_square(op, "T", t)?;
        check_solve_rhs(op, n, b.shape(), side)?;
        let (r, c) = b.shape();
        check_finite(op, "B", b.values())?;
        same_tape(op, self, &[t.tape(), b.tape()])?;
        if let Some(i) = (0..n).find(|&i| t.value_at(i, i) == 0.0) {
            return Err(Error::Singular { op, index: i });
        }
        let par = self.par();
        let tm = masked(t.as_faer(), uplo);
        let x = match side {
            Side::Left => {
                let mut x = b.to_faer();
                tri_solve_left(tm.as_ref(), uplo, false, x.as_mut(), par);
                x
            }
            Side::Right => {
                let mut xt = b.as_faer().transpose().to_owned();
                tri_solve_left(tm.as_ref(), uplo, true, xt.as_mut(), par);
                xt.transpose().to_owned()
            }
        };
        let vals = to_vec(x.as_ref());
        let start = self.push_block(
            TriSolveOp {
                t: tm,
                x,
                uplo,
                side,
                par,
            },
            &[t.arg(), b.arg()],
            r * c,
        )?;
        Ok(VarMat::from_block(self, start, r, c, vals))
    }

    /// `L⁻¹ B` for lower-triangular `L`.
    pub fn solve_lower<'t>(&'t self, l: &VarMat<'t>, b: &VarMat<'t>) -> Result<VarMat<'t>> {
        self.solve_triangular(l, b, Uplo::Lower, Side::Left)
    }

    /// `U⁻¹ B` for upper-triangular `U`.
    pub fn solve_upper<'t>(&'t self, u: &VarMat<'t>, b: &VarMat<'t>) -> Result<VarMat<'t>> {
        self.solve_triangular(u, b, Uplo::Upper, Side::Left)
    }
}

/// Checks that the right-hand side `B` of a triangular solve with an `n x n` factor has
/// `n` rows (`side = Left`: `T X = B`) or `n` columns (`Right`: `X T = B`).
pub(crate) fn check_solve_rhs(
    op: &'static str,
    n: usize,
    (r, c): (usize, usize),
    side: Side,
) -> Result<()> {
    let need = match side {
        Side::Left => r,
        Side::Right => c,
    };
    if need != n {
        return Err(Error::ShapeMismatch {
            op,
            arg: "B",
            expected: match side {
                Side::Left => format!("{n}xK"),
                Side::Right => format!("Kx{n}"),
            },
            found: format!("{r}x{c}"),
        });
    }
    Ok(())
}

// Second order: the block on a tape of dual numbers.

struct DualTriSolveOp {
    t0: Mat<f64>,
    t1: Mat<f64>,
    x0: Mat<f64>,
    x1: Mat<f64>,
    uplo: Uplo,
    side: Side,
    par: Par,
}

impl DualTriSolveOp {
    /// `op(T₀)⁻¹ Y` (left) or `Y op(T₀)⁻¹` (right), `op(T) = T` or `Tᵀ`.
    fn solve(&self, y: MatRef<'_, f64>, transpose: bool, side: Side) -> Mat<f64> {
        match side {
            Side::Left => {
                let mut out = y.to_owned();
                tri_solve_left(
                    self.t0.as_ref(),
                    self.uplo,
                    transpose,
                    out.as_mut(),
                    self.par,
                );
                out
            }
            Side::Right => {
                let mut out = y.transpose().to_owned();
                tri_solve_left(
                    self.t0.as_ref(),
                    self.uplo,
                    !transpose,
                    out.as_mut(),
                    self.par,
                );
                out.transpose().to_owned()
            }
        }
    }
}

impl BlockOp<Dual> for DualTriSolveOp {
    fn name(&self) -> &'static str {
        "solve_triangular"
    }
    fn pullback(&self, g: &[Dual], inputs: &mut InputAdjoints<'_, Dual>) -> Result<()> {
        let (r, c) = (self.x0.nrows(), self.x0.ncols());
        let n = self.t0.nrows();
        let par = self.par;
        let (gx0, gx1) = split(g, r, c);
        let (t1, x0, x1) = (self.t1.as_ref(), self.x0.as_ref(), self.x1.as_ref());
        // B̄ = T⁻ᵀ X̄ (left) or X̄ T⁻ᵀ (right), and its tangent.
        let (b0, b1, tbar0, tbar1) = match self.side {
            Side::Left => {
                let b0 = self.solve(gx0.as_ref(), true, Side::Left);
                let mut rhs = gx1;
                matmul(
                    rhs.as_mut(),
                    Accum::Add,
                    t1.transpose(),
                    b0.as_ref(),
                    -1.0,
                    par,
                );
                let b1 = self.solve(rhs.as_ref(), true, Side::Left);
                let tbar0 = mm(b0.as_ref(), x0.transpose(), par);
                let mut tbar1 = mm(b1.as_ref(), x0.transpose(), par);
                matmul(
                    tbar1.as_mut(),
                    Accum::Add,
                    b0.as_ref(),
                    x1.transpose(),
                    1.0,
                    par,
                );
                (b0, b1, tbar0, tbar1)
            }
            Side::Right => {
                let b0 = self.solve(gx0.as_ref(), true, Side::Right);
                let mut rhs = gx1;
                matmul(
                    rhs.as_mut(),
                    Accum::Add,
                    b0.as_ref(),
                    t1.transpose(),
                    -1.0,
                    par,
                );
                let b1 = self.solve(rhs.as_ref(), true, Side::Right);
                let tbar0 = mm(x0.transpose(), b0.as_ref(), par);
                let mut tbar1 = mm(x1.transpose(), b0.as_ref(), par);
                matmul(
                    tbar1.as_mut(),
                    Accum::Add,
                    x0.transpose(),
                    b1.as_ref(),
                    1.0,
                    par,
                );
                (b0, b1, tbar0, tbar1)
            }
        };
        if let Some(mut dt) = inputs.arg(0) {
            for j in 0..n {
                for i in 0..n {
                    if in_triangle(self.uplo, i, j) {
                        let d = &mut dt[i + j * n];
                        d.v -= tbar0[(i, j)];
                        d.d[0] -= tbar1[(i, j)];
                    }
                }
            }
        }
        if let Some(mut db) = inputs.arg(1) {
            add_dual(&mut db, b0.as_ref(), b1.as_ref());
        }
        Ok(())
    }
}

/// The triangular solves on a tape of dual numbers: they differentiate the same function
/// as their `f64` namesakes, and their pullback propagates second-order information, so
/// [`api::hvp_tape`](crate::ad::api::hvp_tape) is exact through them.
impl Tape<Dual> {
    /// Solves `T X = B` (`Side::Left`) or `X T = B` (`Side::Right`) with `T` triangular
    /// (see [`Tape::solve_triangular`](Tape::solve_triangular) on `Tape<f64>`).
    ///
    /// # Errors
    /// Shape mismatches, non-finite input, or [`Error::Singular`] for a zero diagonal entry.
    pub fn solve_triangular<'t>(
        &'t self,
        t: &VarMat<'t, Dual>,
        b: &VarMat<'t, Dual>,
        uplo: Uplo,
        side: Side,
    ) -> Result<VarMat<'t, Dual>> {
        let op = "solve_triangular";
        let n = check_square_dual(op, "T", t)?;
        super::tri::check_solve_rhs(op, n, b.shape(), side)?;
        let (r, c) = b.shape();
        check_finite_dual(op, "B", b.values())?;
        check_tape(op, self, &[t.tape(), b.tape()])?;
        if let Some(i) = (0..n).find(|&i| t.value_at(i, i).v == 0.0) {
            return Err(Error::Singular { op, index: i });
        }
        let par = self.par();
        let (t0, t1) = split(t.values(), n, n);
        let (t0, t1) = (masked(t0.as_ref(), uplo), masked(t1.as_ref(), uplo));
        let (b0, b1) = split(b.values(), r, c);
        let mut rec = DualTriSolveOp {
            t0,
            t1,
            x0: Mat::zeros(0, 0),
            x1: Mat::zeros(0, 0),
            uplo,
            side,
            par,
        };
        // X₀ = op⁻¹(B₀); X₁ = op⁻¹(B₁ − T₁ X₀) (left) or op⁻¹(B₁ − X₀ T₁) (right).
        let x0 = rec.solve(b0.as_ref(), false, side);
        let mut rhs = b1;
        match side {
            Side::Left => matmul(
                rhs.as_mut(),
                Accum::Add,
                rec.t1.as_ref(),
                x0.as_ref(),
                -1.0,
                par,
            ),
            Side::Right => matmul(
                rhs.as_mut(),
                Accum::Add,
                x0.as_ref(),
                rec.t1.as_ref(),
                -1.0,
                par,
            ),
        }
        let x1 = rec.solve(rhs.as_ref(), false, side);
        let vals = join(x0.as_ref(), x1.as_ref());
        (rec.x0, rec.x1) = (x0, x1);
        let start = self.push_block(rec, &[t.arg(), b.arg()], r * c)?;
        Ok(VarMat::from_block(self, start, r, c, vals))
    }

    /// `L⁻¹ B` for lower-triangular `L`.
    pub fn solve_lower<'t>(
        &'t self,
        l: &VarMat<'t, Dual>,
        b: &VarMat<'t, Dual>,
    ) -> Result<VarMat<'t, Dual>> {
        self.solve_triangular(l, b, Uplo::Lower, Side::Left)
    }
}
