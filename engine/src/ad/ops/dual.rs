//! Shared pieces of the second-order blocks: the likelihood blocks on a tape of dual
//! numbers (`Tape<Dual>`), for exact Hessian–vector products by forward-over-reverse
//! through block operations ([`api::hvp_tape`](crate::ad::api::hvp_tape)).
//!
//! Each input is `A = A₀ + ε A₁` (value and tangent along the direction `v` of the product).
//! The forward pass computes the output's value and its tangent (the block's pushforward);
//! the pullback receives dual output adjoints `Ḡ = Ḡ₀ + ε Ḡ₁` and returns the dual input
//! adjoints: the first-order rule applied to `Ḡ₀`, plus, in the tangent, the same rule
//! applied to `Ḡ₁` and the derivative of the rule along `A₁`, with
//! `d(A⁻¹) = −A⁻¹ dA A⁻¹` (Giles 2008, "Collected matrix derivative results", §2.2.3).
//! Each primitive's dual version sits in the primitive's file, below its `f64` version:
//! `cholesky` ([`Tape::<Dual>::cholesky`](crate::ad::Tape::cholesky)), `tri`
//! (`solve_triangular`, `solve_lower`), `spd` (`logdet_spd`, `mvn_logpdf`).
//!
//! Matrix arguments are symmetrised (`sym(A) = (A + Aᵀ)/2`) and triangular ones masked,
//! exactly as the `f64` blocks do, so both tapes differentiate the same function.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use crate::ad::{Dual, Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result};

/// Values and tangents of a column-major dual matrix, as two `f64` matrices.
pub(super) fn split(vals: &[Dual], r: usize, c: usize) -> (Mat<f64>, Mat<f64>) {
    (
        Mat::from_fn(r, c, |i, j| vals[i + j * r].v),
        Mat::from_fn(r, c, |i, j| vals[i + j * r].d[0]),
    )
}

/// Column-major dual values from a value and a tangent matrix.
pub(super) fn join(v: MatRef<'_, f64>, t: MatRef<'_, f64>) -> Vec<Dual> {
    let (r, c) = (v.nrows(), v.ncols());
    let mut out = Vec::with_capacity(r * c);
    for j in 0..c {
        for i in 0..r {
            out.push(Dual::dual(v[(i, j)], t[(i, j)]));
        }
    }
    out
}

/// `A B`.
pub(super) fn mm(a: MatRef<'_, f64>, b: MatRef<'_, f64>, par: Par) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, par);
    out
}

/// Checks that a dual matrix is square with finite values and tangents.
pub(super) fn check_square_dual(
    op: &'static str,
    arg: &'static str,
    a: &VarMat<'_, Dual>,
) -> Result<usize> {
    let n = super::util::square_dim(op, arg, a.shape())?;
    check_finite_dual(op, arg, a.values())?;
    Ok(n)
}

/// Checks that dual values and tangents are finite.
pub(super) fn check_finite_dual(op: &'static str, arg: &'static str, xs: &[Dual]) -> Result<()> {
    match xs
        .iter()
        .position(|x| !x.v.is_finite() || !x.d[0].is_finite())
    {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            op,
            index: i,
            value: if xs[i].v.is_finite() {
                xs[i].d[0]
            } else {
                xs[i].v
            },
            context: format!("{arg} (value or tangent)"),
        }),
    }
}

/// Adds a value and a tangent matrix into a dual adjoint (column-major).
pub(super) fn add_dual(dst: &mut [Dual], v: MatRef<'_, f64>, t: MatRef<'_, f64>) {
    let r = v.nrows();
    for j in 0..v.ncols() {
        for i in 0..r {
            let d = &mut dst[i + j * r];
            d.v += v[(i, j)];
            d.d[0] += t[(i, j)];
        }
    }
}

/// The scalar output of a block on a dual tape.
pub(super) fn scalar_out_dual<'t>(
    tape: &'t Tape<Dual>,
    start: Option<u32>,
    value: Dual,
) -> Var<'t, Dual> {
    VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value))
}
