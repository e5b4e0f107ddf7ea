//! The likelihood blocks on a tape of dual numbers (`Tape<Dual>`), for exact
//! Hessian–vector products by forward-over-reverse through block operations
//! ([`api::hvp_tape`](crate::ad::api::hvp_tape)).
//!
//! Each input is `A = A₀ + ε A₁` (value and tangent along the direction `v` of the product).
//! The forward pass computes the output's value and its tangent (the block's pushforward);
//! the pullback receives dual output adjoints `Ḡ = Ḡ₀ + ε Ḡ₁` and returns the dual input
//! adjoints: the first-order rule applied to `Ḡ₀`, plus, in the tangent, the same rule
//! applied to `Ḡ₁` and the derivative of the rule along `A₁`. With `d(A⁻¹) = −A⁻¹ dA A⁻¹`
//! (Giles 2008, "Collected matrix derivative results", §2.2.3):
//!
//! * Cholesky `L = chol(A)`, pullback `Ā = sym(S)`, `S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹` (Murray 2016,
//!   arXiv:1602.07527, §3.1): `S₁ = L⁻ᵀ Φ(L₁ᵀ L̄₀ + Lᵀ L̄₁) L⁻¹ − L⁻ᵀ L₁ᵀ S₀ − S₀ L₁ L⁻¹`;
//! * triangular solve `X = T⁻¹ B`: `B̄₁ = T⁻ᵀ (X̄₁ − T₁ᵀ B̄₀)`,
//!   `T̄₁ = −mask(B̄₁ X₀ᵀ + B̄₀ X₁ᵀ)` (and the transposed forms for `X = B T⁻¹`);
//! * `ℓ = log det A`: `Ā₁ = ℓ̄₁ A⁻¹ − ℓ̄₀ A⁻¹ A₁ A⁻¹`;
//! * `ℓ = log N(y | 0, K)`, `α = K⁻¹ y`: `ȳ₁ = −(ḡ₁ α + ḡ₀ α₁)`,
//!   `K̄₁ = ½ ḡ₁ (α αᵀ − K⁻¹) + ½ ḡ₀ (α₁ αᵀ + α α₁ᵀ + K⁻¹ K₁ K⁻¹)`,
//!   with `α₁ = K⁻¹ (y₁ − K₁ α)`.
//!
//! Matrix arguments are symmetrised (`sym(A) = (A + Aᵀ)/2`) and triangular ones masked,
//! exactly as the `f64` blocks do, so both tapes differentiate the same function.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::varmat::check_tape;
use crate::ad::{Dual, Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result, check_len};
use crate::linalg::{Llt, symmetrize};

use super::cholesky::{phi, sandwich_inv_lt};
use super::tri::{Side, Uplo, in_triangle, masked, tri_solve_left};

/// Values and tangents of a column-major dual matrix, as two `f64` matrices.
fn split(vals: &[Dual], r: usize, c: usize) -> (Mat<f64>, Mat<f64>) {
    (
        Mat::from_fn(r, c, |i, j| vals[i + j * r].v),
        Mat::from_fn(r, c, |i, j| vals[i + j * r].d[0]),
    )
}

/// Column-major dual values from a value and a tangent matrix.
fn join(v: MatRef<'_, f64>, t: MatRef<'_, f64>) -> Vec<Dual> {
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
fn mm(a: MatRef<'_, f64>, b: MatRef<'_, f64>, par: Par) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, par);
    out
}

/// Checks that a dual matrix is square with finite values and tangents.
fn check_square_dual(op: &'static str, arg: &'static str, a: &VarMat<'_, Dual>) -> Result<usize> {
    let n = super::util::square_dim(op, arg, a.shape())?;
    check_finite_dual(op, arg, a.values())?;
    Ok(n)
}

fn check_finite_dual(op: &'static str, arg: &'static str, xs: &[Dual]) -> Result<()> {
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
fn add_dual(dst: &mut [Dual], v: MatRef<'_, f64>, t: MatRef<'_, f64>) {
    let r = v.nrows();
    for j in 0..v.ncols() {
        for i in 0..r {
            let d = &mut dst[i + j * r];
            d.v += v[(i, j)];
            d.d[0] += t[(i, j)];
        }
    }
}

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

struct DualLogdetOp {
    inv: Mat<f64>,
    /// A⁻¹ sym(A₁) A⁻¹ (minus the tangent of A⁻¹).
    m: Mat<f64>,
}

impl BlockOp<Dual> for DualLogdetOp {
    fn name(&self) -> &'static str {
        "logdet_spd"
    }
    fn pullback(&self, g: &[Dual], inputs: &mut InputAdjoints<'_, Dual>) -> Result<()> {
        let (g0, g1) = (g[0].v, g[0].d[0]);
        if let Some(mut da) = inputs.arg(0) {
            let n = self.inv.nrows();
            for j in 0..n {
                for i in 0..n {
                    let d = &mut da[i + j * n];
                    d.v += g0 * self.inv[(i, j)];
                    d.d[0] += g1 * self.inv[(i, j)] - g0 * self.m[(i, j)];
                }
            }
        }
        Ok(())
    }
}

struct DualMvnOp {
    alpha0: Vec<f64>,
    alpha1: Vec<f64>,
    inv: Mat<f64>,
    /// K⁻¹ sym(K₁) K⁻¹.
    m: Mat<f64>,
}

impl BlockOp<Dual> for DualMvnOp {
    fn name(&self) -> &'static str {
        "mvn_logpdf"
    }
    fn pullback(&self, g: &[Dual], inputs: &mut InputAdjoints<'_, Dual>) -> Result<()> {
        let (g0, g1) = (g[0].v, g[0].d[0]);
        let (a0, a1) = (&self.alpha0, &self.alpha1);
        if let Some(mut dy) = inputs.arg(0) {
            for (i, d) in dy.iter_mut().enumerate() {
                d.v -= g0 * a0[i];
                d.d[0] -= g1 * a0[i] + g0 * a1[i];
            }
        }
        if let Some(mut dk) = inputs.arg(1) {
            let n = a0.len();
            for j in 0..n {
                for i in 0..n {
                    let outer = a0[i] * a0[j] - self.inv[(i, j)];
                    let d = &mut dk[i + j * n];
                    d.v += 0.5 * g0 * outer;
                    d.d[0] += 0.5 * g1 * outer
                        + 0.5 * g0 * (a1[i] * a0[j] + a0[i] * a1[j] + self.m[(i, j)]);
                }
            }
        }
        Ok(())
    }
}

/// `K⁻¹` and `K⁻¹ sym(K₁) K⁻¹` from a factorisation.
fn inverse_and_sandwich(llt: &Llt, k1s: MatRef<'_, f64>, par: Par) -> (Mat<f64>, Mat<f64>) {
    let inv = llt.inverse(par);
    let m = mm(mm(inv.as_ref(), k1s, par).as_ref(), inv.as_ref(), par);
    (inv, m)
}

/// The scalar output of a block on a dual tape.
fn scalar_out_dual<'t>(tape: &'t Tape<Dual>, start: Option<u32>, value: Dual) -> Var<'t, Dual> {
    VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value))
}

/// The likelihood blocks on a tape of dual numbers. They differentiate the same functions as
/// their `f64` namesakes on `Tape<f64>`, and their pullbacks propagate second-order
/// information, so [`api::hvp_tape`](crate::ad::api::hvp_tape) is exact through them.
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

    /// `log det A` for symmetric positive-definite `A` (see
    /// [`Tape::logdet_spd`](Tape::logdet_spd) on `Tape<f64>`).
    pub fn logdet_spd<'t>(&'t self, a: &VarMat<'t, Dual>) -> Result<Var<'t, Dual>> {
        let op = "logdet_spd";
        check_tape(op, self, &[a.tape()])?;
        let n = check_square_dual(op, "A", a)?;
        let par = self.par();
        let (a0, a1) = split(a.values(), n, n);
        let llt = Llt::factor_symmetrized(op, a0.as_ref(), par)?;
        let a1s = symmetrize(a1.as_ref());
        let (inv, m) = inverse_and_sandwich(&llt, a1s.as_ref(), par);
        // ℓ₁ = tr(A⁻¹ sym(A₁)).
        let mut l1 = 0.0;
        for j in 0..n {
            for i in 0..n {
                l1 += inv[(i, j)] * a1s[(i, j)];
            }
        }
        let value = Dual::dual(llt.logdet(), l1);
        let start = self.push_block(DualLogdetOp { inv, m }, &[a.arg()], 1)?;
        Ok(scalar_out_dual(self, start, value))
    }

    /// The Gaussian log-density `log N(y | 0, K)` (see
    /// [`Tape::mvn_logpdf`](Tape::mvn_logpdf) on `Tape<f64>`).
    pub fn mvn_logpdf<'t>(
        &'t self,
        y: &VarVec<'t, Dual>,
        k: &VarMat<'t, Dual>,
    ) -> Result<Var<'t, Dual>> {
        let op = "mvn_logpdf";
        check_tape(op, self, &[y.tape(), k.tape()])?;
        let n = check_square_dual(op, "K", k)?;
        check_len(op, "y", y.len(), n)?;
        check_finite_dual(op, "y", y.values())?;
        let par = self.par();
        let (k0, k1) = split(k.values(), n, n);
        let llt = Llt::factor_symmetrized(op, k0.as_ref(), par)?;
        let y0: Vec<f64> = y.values().iter().map(|d| d.v).collect();
        let y1: Vec<f64> = y.values().iter().map(|d| d.d[0]).collect();
        let alpha0 = llt.solve_vec(&y0, par);
        let k1s = symmetrize(k1.as_ref());
        // α₁ = K⁻¹ (y₁ − sym(K₁) α).
        let k1a = mm(
            k1s.as_ref(),
            MatRef::from_column_major_slice(&alpha0, n, 1),
            par,
        );
        let rhs: Vec<f64> = (0..n).map(|i| y1[i] - k1a[(i, 0)]).collect();
        let alpha1 = llt.solve_vec(&rhs, par);
        let (inv, m) = inverse_and_sandwich(&llt, k1s.as_ref(), par);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let mut trace = 0.0;
        for j in 0..n {
            for i in 0..n {
                trace += inv[(i, j)] * k1s[(i, j)];
            }
        }
        let v0 = -0.5 * dot(&alpha0, &y0)
            - 0.5 * llt.logdet()
            - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
        // ℓ₁ = −y₁ᵀ α + ½ αᵀ sym(K₁) α − ½ tr(K⁻¹ sym(K₁)).
        let alpha_k1_alpha: f64 = (0..n).map(|i| alpha0[i] * k1a[(i, 0)]).sum();
        let v1 = -dot(&y1, &alpha0) + 0.5 * alpha_k1_alpha - 0.5 * trace;
        let rec = DualMvnOp {
            alpha0,
            alpha1,
            inv,
            m,
        };
        let start = self.push_block(rec, &[y.arg(), k.arg()], 1)?;
        Ok(scalar_out_dual(self, start, Dual::dual(v0, v1)))
    }
}
