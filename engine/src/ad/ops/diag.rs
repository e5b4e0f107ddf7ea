//! Diagonal extraction, diagonal matrices and the trace.

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::{Result, check_shape};

use super::util::same_tape;

/// `diag(A)` (`to_vec = true`: A n×n → vector) or `diag(v)` (vector → n×n matrix).
struct DiagOp {
    n: usize,
    to_vec: bool,
}

impl BlockOp for DiagOp {
    fn name(&self) -> &'static str {
        if self.to_vec { "diag" } else { "diag_mat" }
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let n = self.n;
        if let Some(mut d) = inputs.arg(0) {
            for i in 0..n {
                if self.to_vec {
                    d[i + i * n] += g[i];
                } else {
                    d[i] += g[i + i * n];
                }
            }
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let n = self.n;
        out.iter_mut().for_each(|o| *o = 0.0);
        if let Some(t) = inputs.arg(0) {
            for i in 0..n {
                if self.to_vec {
                    out[i] = t[i + i * n];
                } else {
                    out[i + i * n] = t[i];
                }
            }
        }
        Ok(())
    }
}

impl Tape {
    /// The diagonal of a square matrix, as a vector.
    pub fn diag<'t>(&'t self, a: &VarMat<'t>) -> Result<VarVec<'t>> {
        let n = a.nrows();
        check_shape("diag", "A", a.shape(), (n, n))?;
        same_tape("diag", self, &[a.tape()])?;
        let vals: Vec<f64> = (0..n).map(|i| a.value_at(i, i)).collect();
        let start = self.push_block(DiagOp { n, to_vec: true }, &[a.arg()], n)?;
        Ok(VarVec::from_block(self, start, vals))
    }

    /// The diagonal matrix with `v` on its diagonal.
    pub fn diag_mat<'t>(&'t self, v: &VarVec<'t>) -> Result<VarMat<'t>> {
        same_tape("diag_mat", self, &[v.tape()])?;
        let n = v.len();
        let mut vals = vec![0.0; n * n];
        for (i, &x) in v.values().iter().enumerate() {
            vals[i + i * n] = x;
        }
        let start = self.push_block(DiagOp { n, to_vec: false }, &[v.arg()], n * n)?;
        Ok(VarMat::from_block(self, start, n, n, vals))
    }

    /// tr(A) = Σᵢ Aᵢᵢ.
    pub fn trace<'t>(&'t self, a: &VarMat<'t>) -> Result<Var<'t>> {
        self.sum(&self.diag(a)?)
    }
}
