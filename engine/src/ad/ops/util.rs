//! Small helpers shared by the built-in block operations.

use faer::{MatMut, MatRef};

use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result, check_finite};

/// A column-major slice as a faer view.
#[inline]
pub(crate) fn mat_ref(s: &[f64], r: usize, c: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(s, r, c)
}

/// A mutable column-major slice as a faer view.
#[inline]
pub(crate) fn mat_mut(s: &mut [f64], r: usize, c: usize) -> MatMut<'_, f64> {
    MatMut::from_column_major_slice_mut(s, r, c)
}

/// Column-major values of a faer matrix.
pub(crate) fn to_vec(m: MatRef<'_, f64>) -> Vec<f64> {
    let (r, c) = (m.nrows(), m.ncols());
    let mut v = Vec::with_capacity(r * c);
    for j in 0..c {
        for i in 0..r {
            v.push(m[(i, j)]);
        }
    }
    v
}

/// `dst += alpha * src` for a column-major slice.
pub(crate) fn add_scaled(dst: &mut [f64], src: MatRef<'_, f64>, alpha: f64) {
    let r = src.nrows();
    for j in 0..src.ncols() {
        for i in 0..r {
            dst[i + j * r] += alpha * src[(i, j)];
        }
    }
}

/// `dst += alpha * (src + srcᵀ) / 2` for a square column-major slice.
pub(crate) fn add_sym_scaled(dst: &mut [f64], src: MatRef<'_, f64>, alpha: f64) {
    let n = src.nrows();
    for j in 0..n {
        for i in 0..n {
            dst[i + j * n] += 0.5 * alpha * (src[(i, j)] + src[(j, i)]);
        }
    }
}

/// Checks that `a` is square and its values are finite.
pub(crate) fn check_square(op: &'static str, arg: &'static str, a: &VarMat<'_>) -> Result<usize> {
    let n = square_dim(op, arg, a.shape())?;
    check_finite(op, arg, a.values())?;
    Ok(n)
}

/// The side length of a square `shape`, or the error naming `arg`.
pub(crate) fn square_dim(
    op: &'static str,
    arg: &'static str,
    (r, c): (usize, usize),
) -> Result<usize> {
    if r != c {
        return Err(Error::ShapeMismatch {
            op,
            arg,
            expected: format!("{r}x{r} (square)"),
            found: format!("{r}x{c}"),
        });
    }
    Ok(r)
}

/// Checks that every argument is on `tape` or constant.
pub(crate) fn same_tape(op: &'static str, tape: &Tape, tapes: &[Option<&Tape>]) -> Result<()> {
    crate::ad::varmat::check_tape(op, tape, tapes)
}

/// A scalar block output as a [`Var`].
pub(crate) fn scalar_out<'t>(tape: &'t Tape, start: Option<u32>, value: f64) -> Var<'t> {
    VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value))
}
