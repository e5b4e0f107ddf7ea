//! Operations on a symmetric positive-definite matrix through one Cholesky factorisation:
//! solves, the inverse quadratic form, the log-determinant, and the Gaussian log-density.
//!
//! Each treats its matrix argument as $\operatorname{sym}(A) = \tfrac12 (A + A^\top)$, so the
//! gradient it returns is symmetric. Pullbacks (Giles 2008, §2.2.3 and §2.2.5; Rasmussen &
//! Williams 2006, eq. 5.9), with $\alpha = A^{-1} y$:
//!
//! * $X = A^{-1} B$: $\bar B = A^{-1} \bar X$, $\bar A = -\operatorname{sym}(\bar B X^\top)$;
//! * $q = y^\top A^{-1} y$: $\bar y = 2 \bar q \alpha$, $\bar A = -\bar q \alpha \alpha^\top$;
//! * $\ell = \log \det A$: $\bar A = \bar \ell A^{-1}$;
//! * $g = \log \mathcal N(y \mid 0, K)$: $\bar y = -\bar g \alpha$,
//!   $\bar K = \tfrac12 \bar g (\alpha \alpha^\top - K^{-1})$.
//!
//! The inverse needed by the last two is formed in the pullback only (≈ 2n³/3 flops after
//! the n³/3 of the factorisation), so a value-and-gradient costs about three factorisations.
//!
//! Second order (on `Tape<Dual>`, see [`dual`](super::dual)), with `d(A⁻¹) = −A⁻¹ dA A⁻¹`:
//!
//! * `ℓ = log det A`: `Ā₁ = ℓ̄₁ A⁻¹ − ℓ̄₀ A⁻¹ A₁ A⁻¹`;
//! * `ℓ = log N(y | 0, K)`, `α = K⁻¹ y`: `ȳ₁ = −(ḡ₁ α + ḡ₀ α₁)`,
//!   `K̄₁ = ½ ḡ₁ (α αᵀ − K⁻¹) + ½ ḡ₀ (α₁ αᵀ + α α₁ᵀ + K⁻¹ K₁ K⁻¹)`,
//!   with `α₁ = K⁻¹ (y₁ − K₁ α)`.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::varmat::check_tape;
use crate::ad::{Dual, Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result, check_finite, check_len};
use crate::linalg::{Llt, symmetrize};

use super::dual::{check_finite_dual, check_square_dual, mm, scalar_out_dual, split};
use super::util::{add_sym_scaled, mat_mut, mat_ref, same_tape, scalar_out, to_vec};

fn factor(op: &'static str, a: &VarMat<'_>, par: Par) -> Result<Llt> {
    Llt::factor_symmetrized(op, a.as_faer(), par)
}

/// Σᵢⱼ Xᵢⱼ Yᵢⱼ.
fn frobenius(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

struct SpdSolveOp {
    llt: Llt,
    x: Mat<f64>,
    par: Par,
}

impl BlockOp for SpdSolveOp {
    fn name(&self) -> &'static str {
        "spd_solve"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let (r, c) = (self.x.nrows(), self.x.ncols());
        let mut bbar = mat_ref(g, r, c).to_owned();
        self.llt.solve_in_place(bbar.as_mut(), self.par);
        if let Some(mut da) = inputs.arg(0) {
            let mut prod = Mat::<f64>::zeros(r, r);
            matmul(
                prod.as_mut(),
                Accum::Replace,
                bbar.as_ref(),
                self.x.transpose(),
                1.0,
                self.par,
            );
            add_sym_scaled(&mut da, prod.as_ref(), -1.0);
        }
        if let Some(mut db) = inputs.arg(1) {
            super::util::add_scaled(&mut db, bbar.as_ref(), 1.0);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let (r, c) = (self.x.nrows(), self.x.ncols());
        let mut rhs = match inputs.arg(1) {
            Some(t) => mat_ref(&t, r, c).to_owned(),
            None => Mat::zeros(r, c),
        };
        if let Some(ta) = inputs.arg(0) {
            let da = symmetrize(mat_ref(&ta, r, r));
            matmul(
                rhs.as_mut(),
                Accum::Add,
                da.as_ref(),
                self.x.as_ref(),
                -1.0,
                self.par,
            );
        }
        self.llt.solve_in_place(rhs.as_mut(), self.par);
        mat_mut(out, r, c).copy_from(rhs.as_ref());
        Ok(())
    }
}

struct InvQuadOp {
    alpha: Vec<f64>,
}

impl BlockOp for InvQuadOp {
    fn name(&self) -> &'static str {
        "inv_quad"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let n = self.alpha.len();
        let a = &self.alpha;
        if let Some(mut da) = inputs.arg(0) {
            for j in 0..n {
                for i in 0..n {
                    da[i + j * n] -= g[0] * a[i] * a[j];
                }
            }
        }
        if let Some(mut dy) = inputs.arg(1) {
            dy.iter_mut().zip(a).for_each(|(d, a)| *d += 2.0 * g[0] * a);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let n = self.alpha.len();
        let a = &self.alpha;
        let mut d = 0.0;
        if let Some(ty) = inputs.arg(1) {
            d += 2.0 * frobenius(&ty, a);
        }
        if let Some(ta) = inputs.arg(0) {
            let sa = symmetrize(mat_ref(&ta, n, n));
            for j in 0..n {
                for i in 0..n {
                    d -= a[i] * sa[(i, j)] * a[j];
                }
            }
        }
        out[0] = d;
        Ok(())
    }
}

struct LogdetSpdOp {
    llt: Llt,
    par: Par,
}

impl BlockOp for LogdetSpdOp {
    fn name(&self) -> &'static str {
        "logdet_spd"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let n = self.llt.dim();
        if let (Some(mut da), scratch) = inputs.arg_with_scratch(0, 2 * n * n) {
            let (inv, work) = scratch.split_at_mut(n * n);
            self.llt.inverse_into(mat_mut(inv, n, n), work, self.par);
            da.iter_mut()
                .zip(inv.iter())
                .for_each(|(d, v)| *d += g[0] * v);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        out[0] = match inputs.arg(0) {
            Some(ta) => frobenius(&to_vec(self.llt.inverse(self.par).as_ref()), &ta),
            None => 0.0,
        };
        Ok(())
    }
}

struct MvnLogpdfOp {
    llt: Llt,
    alpha: Vec<f64>,
    par: Par,
}

impl BlockOp for MvnLogpdfOp {
    fn name(&self) -> &'static str {
        "mvn_logpdf"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let n = self.alpha.len();
        let a = &self.alpha;
        let g = g[0];
        if let (Some(mut dk), scratch) = inputs.arg_with_scratch(1, 2 * n * n) {
            let (inv, work) = scratch.split_at_mut(n * n);
            self.llt.inverse_into(mat_mut(inv, n, n), work, self.par);
            for j in 0..n {
                let gaj = 0.5 * g * a[j];
                let col = &inv[j * n..(j + 1) * n];
                let dcol = &mut dk[j * n..(j + 1) * n];
                for ((d, &ai), &v) in dcol.iter_mut().zip(a).zip(col) {
                    *d += gaj * ai - 0.5 * g * v;
                }
            }
        }
        if let Some(mut dy) = inputs.arg(0) {
            dy.iter_mut().zip(a).for_each(|(d, a)| *d -= g * a);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let n = self.alpha.len();
        let a = &self.alpha;
        let mut d = 0.0;
        if let Some(ty) = inputs.arg(0) {
            d -= frobenius(&ty, a);
        }
        if let Some(tk) = inputs.arg(1) {
            let sk = symmetrize(mat_ref(&tk, n, n));
            let inv = self.llt.inverse(self.par);
            for j in 0..n {
                for i in 0..n {
                    d += 0.5 * (a[i] * a[j] - inv[(i, j)]) * sk[(i, j)];
                }
            }
        }
        out[0] = d;
        Ok(())
    }
}

impl Tape {
    /// `X = A⁻¹ B` for symmetric positive-definite `A`, by Cholesky.
    pub fn spd_solve<'t>(&'t self, a: &VarMat<'t>, b: &VarMat<'t>) -> Result<VarMat<'t>> {
        let op = "spd_solve";
        same_tape(op, self, &[a.tape(), b.tape()])?;
        let par = self.par();
        let llt = factor(op, a, par)?;
        let (r, c) = b.shape();
        if r != a.nrows() {
            return Err(Error::ShapeMismatch {
                op,
                arg: "B",
                expected: format!("{}xK", a.nrows()),
                found: format!("{r}x{c}"),
            });
        }
        check_finite(op, "B", b.values())?;
        let mut x = b.to_faer();
        llt.solve_in_place(x.as_mut(), par);
        let vals = to_vec(x.as_ref());
        let start = self.push_block(SpdSolveOp { llt, x, par }, &[a.arg(), b.arg()], r * c)?;
        Ok(VarMat::from_block(self, start, r, c, vals))
    }

    /// `yᵀ A⁻¹ y` for symmetric positive-definite `A`.
    pub fn inv_quad<'t>(&'t self, a: &VarMat<'t>, y: &VarVec<'t>) -> Result<Var<'t>> {
        let op = "inv_quad";
        same_tape(op, self, &[a.tape(), y.tape()])?;
        let par = self.par();
        let llt = factor(op, a, par)?;
        crate::error::check_len(op, "y", y.len(), a.nrows())?;
        check_finite(op, "y", y.values())?;
        let alpha = llt.solve_vec(y.values(), par);
        let q = frobenius(&alpha, y.values());
        let start = self.push_block(InvQuadOp { alpha }, &[a.arg(), y.arg()], 1)?;
        Ok(scalar_out(self, start, q))
    }

    /// `log det A` for symmetric positive-definite `A`, by Cholesky.
    pub fn logdet_spd<'t>(&'t self, a: &VarMat<'t>) -> Result<Var<'t>> {
        let op = "logdet_spd";
        same_tape(op, self, &[a.tape()])?;
        let par = self.par();
        let llt = factor(op, a, par)?;
        let v = llt.logdet();
        let start = self.push_block(LogdetSpdOp { llt, par }, &[a.arg()], 1)?;
        Ok(scalar_out(self, start, v))
    }

    /// The Gaussian log-density `log N(y | 0, K) = −½ yᵀK⁻¹y − ½ log det K − (n/2) log 2π`,
    /// as one block (one factorisation forward; the inverse in the pullback).
    pub fn mvn_logpdf<'t>(&'t self, y: &VarVec<'t>, k: &VarMat<'t>) -> Result<Var<'t>> {
        let op = "mvn_logpdf";
        same_tape(op, self, &[y.tape(), k.tape()])?;
        let par = self.par();
        let llt = factor(op, k, par)?;
        crate::error::check_len(op, "y", y.len(), k.nrows())?;
        check_finite(op, "y", y.values())?;
        let alpha = llt.solve_vec(y.values(), par);
        let n = y.len() as f64;
        let v = -0.5 * frobenius(&alpha, y.values())
            - 0.5 * llt.logdet()
            - 0.5 * n * (2.0 * std::f64::consts::PI).ln();
        let start = self.push_block(MvnLogpdfOp { llt, alpha, par }, &[y.arg(), k.arg()], 1)?;
        Ok(scalar_out(self, start, v))
    }
}

// Second order: the blocks on a tape of dual numbers.

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

/// The log-determinant and the Gaussian log-density on a tape of dual numbers: they
/// differentiate the same functions as their `f64` namesakes, and their pullbacks propagate
/// second-order information, so [`api::hvp_tape`](crate::ad::api::hvp_tape) is exact
/// through them.
impl Tape<Dual> {
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
