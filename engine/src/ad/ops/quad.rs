//! The quadratic form `xᵀ A x`.
//!
//! Pullback: x̄ = ḡ (A + Aᵀ) x, Ā = ḡ x xᵀ.

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result};

use super::util::{same_tape, scalar_out};

struct QuadFormOp {
    x: Vec<f64>,
    a: Vec<f64>,
}

impl QuadFormOp {
    /// (A + Aᵀ) x.
    fn sym_ax(&self) -> Vec<f64> {
        let n = self.x.len();
        let mut out = vec![0.0; n];
        for j in 0..n {
            for i in 0..n {
                let aij = self.a[i + j * n];
                out[i] += aij * self.x[j];
                out[j] += aij * self.x[i];
            }
        }
        out
    }
}

impl BlockOp for QuadFormOp {
    fn name(&self) -> &'static str {
        "quad_form"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let n = self.x.len();
        if let Some(mut dx) = inputs.arg(0) {
            dx.iter_mut()
                .zip(self.sym_ax())
                .for_each(|(d, v)| *d += g[0] * v);
        }
        if let Some(mut da) = inputs.arg(1) {
            for j in 0..n {
                for i in 0..n {
                    da[i + j * n] += g[0] * self.x[i] * self.x[j];
                }
            }
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let n = self.x.len();
        let mut d = 0.0;
        if let Some(tx) = inputs.arg(0) {
            d += tx
                .iter()
                .zip(self.sym_ax())
                .map(|(t, v)| t * v)
                .sum::<f64>();
        }
        if let Some(ta) = inputs.arg(1) {
            for j in 0..n {
                for i in 0..n {
                    d += self.x[i] * ta[i + j * n] * self.x[j];
                }
            }
        }
        out[0] = d;
        Ok(())
    }
}

impl Tape {
    /// `xᵀ A x` for a square `A` (not necessarily symmetric).
    pub fn quad_form<'t>(&'t self, x: &VarVec<'t>, a: &VarMat<'t>) -> Result<Var<'t>> {
        let n = x.len();
        if a.shape() != (n, n) {
            return Err(Error::ShapeMismatch {
                op: "quad_form",
                arg: "A",
                expected: format!("{n}x{n}"),
                found: format!("{}x{}", a.nrows(), a.ncols()),
            });
        }
        same_tape("quad_form", self, &[x.tape(), a.tape()])?;
        let (xv, av) = (x.values(), a.values());
        let mut v = 0.0;
        for j in 0..n {
            for i in 0..n {
                v += xv[i] * av[i + j * n] * xv[j];
            }
        }
        let start = self.push_block(
            QuadFormOp {
                x: xv.to_vec(),
                a: av.to_vec(),
            },
            &[x.arg(), a.arg()],
            1,
        )?;
        Ok(scalar_out(self, start, v))
    }
}
