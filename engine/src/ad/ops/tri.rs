//! Triangular solves on either side: `T X = B` (left) or `X T = B` (right), `T` lower or
//! upper triangular (entries outside the triangle are ignored and get zero adjoint).
//!
//! Pullback (Giles 2008, §2.2.3), left side: B̄ = T⁻ᵀ X̄, T̄ = −mask(B̄ Xᵀ);
//! right side: B̄ = X̄ T⁻ᵀ, T̄ = −mask(Xᵀ B̄).

use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Tape, VarMat};
use crate::error::{Error, Result, check_finite};

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
            faer::linalg::matmul::matmul(prod.as_mut(), Accum::Replace, lhs, rhs, 1.0, self.par);
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
                Side::Left => faer::linalg::matmul::matmul(
                    rhs.as_mut(),
                    Accum::Add,
                    dt.as_ref(),
                    self.x.as_ref(),
                    -1.0,
                    self.par,
                ),
                Side::Right => faer::linalg::matmul::matmul(
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
