//! Matrix product C = A B and transpose.
//!
//! Pullback (Giles 2008, "Collected matrix derivative results", §2.2.2):
//! Ā += C̄ Bᵀ, B̄ += Aᵀ C̄.

use faer::Accum;
use faer::linalg::matmul::matmul;

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Tape, VarMat, VarVec};
use crate::error::{Error, Result};

use super::util::{mat_mut, mat_ref, same_tape, to_vec};

struct MatMulOp {
    a: Vec<f64>,
    b: Vec<f64>,
    m: usize,
    k: usize,
    n: usize,
    par: faer::Par,
}

impl BlockOp for MatMulOp {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let (m, k, n) = (self.m, self.k, self.n);
        let gm = mat_ref(g, m, n);
        if let Some(mut da) = inputs.arg(0) {
            matmul(
                mat_mut(&mut da, m, k),
                Accum::Add,
                gm,
                mat_ref(&self.b, k, n).transpose(),
                1.0,
                self.par,
            );
        }
        if let Some(mut db) = inputs.arg(1) {
            matmul(
                mat_mut(&mut db, k, n),
                Accum::Add,
                mat_ref(&self.a, m, k).transpose(),
                gm,
                1.0,
                self.par,
            );
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let (m, k, n) = (self.m, self.k, self.n);
        out.iter_mut().for_each(|o| *o = 0.0);
        let mut o = mat_mut(out, m, n);
        if let Some(ta) = inputs.arg(0) {
            matmul(
                o.as_mut(),
                Accum::Add,
                mat_ref(&ta, m, k),
                mat_ref(&self.b, k, n),
                1.0,
                self.par,
            );
        }
        if let Some(tb) = inputs.arg(1) {
            matmul(
                o.as_mut(),
                Accum::Add,
                mat_ref(&self.a, m, k),
                mat_ref(&tb, k, n),
                1.0,
                self.par,
            );
        }
        Ok(())
    }
}

struct TransposeOp {
    r: usize,
    c: usize,
}

impl BlockOp for TransposeOp {
    fn name(&self) -> &'static str {
        "transpose"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        // Input is r x c, output c x r: out(j, i) = in(i, j).
        if let Some(mut d) = inputs.arg(0) {
            for j in 0..self.c {
                for i in 0..self.r {
                    d[i + j * self.r] += g[j + i * self.c];
                }
            }
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        match inputs.arg(0) {
            Some(t) => {
                for j in 0..self.c {
                    for i in 0..self.r {
                        out[j + i * self.c] = t[i + j * self.r];
                    }
                }
            }
            None => out.iter_mut().for_each(|o| *o = 0.0),
        }
        Ok(())
    }
}

impl Tape {
    /// The matrix product `A B`, as one block.
    pub fn matmul<'t>(&'t self, a: &VarMat<'t>, b: &VarMat<'t>) -> Result<VarMat<'t>> {
        let (m, k) = a.shape();
        let (k2, n) = b.shape();
        if k != k2 {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                arg: "B",
                expected: format!("{k}xN (rows = columns of A)"),
                found: format!("{k2}x{n}"),
            });
        }
        same_tape("matmul", self, &[a.tape(), b.tape()])?;
        let par = self.par();
        let mut vals = vec![0.0; m * n];
        matmul(
            mat_mut(&mut vals, m, n),
            Accum::Replace,
            a.as_faer(),
            b.as_faer(),
            1.0,
            par,
        );
        let op = MatMulOp {
            a: if b.is_constant() {
                Vec::new()
            } else {
                a.values().to_vec()
            },
            b: if a.is_constant() {
                Vec::new()
            } else {
                b.values().to_vec()
            },
            m,
            k,
            n,
            par,
        };
        let start = self.push_block(op, &[a.arg(), b.arg()], m * n)?;
        Ok(VarMat::from_block(self, start, m, n, vals))
    }

    /// The matrix–vector product `A x`.
    pub fn matvec<'t>(&'t self, a: &VarMat<'t>, x: &VarVec<'t>) -> Result<VarVec<'t>> {
        let n = x.len();
        Ok(self.matmul(a, &x.clone().reshape(n, 1)?)?.flatten())
    }

    /// The transpose `Aᵀ`, as one block (a copy).
    pub fn transpose<'t>(&'t self, a: &VarMat<'t>) -> Result<VarMat<'t>> {
        same_tape("transpose", self, &[a.tape()])?;
        let (r, c) = a.shape();
        let vals = to_vec(a.as_faer().transpose());
        let start = self.push_block(TransposeOp { r, c }, &[a.arg()], r * c)?;
        Ok(VarMat::from_block(self, start, c, r, vals))
    }
}
