//! Reductions to a scalar: sums and dot products.

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::{Result, check_len};

use super::util::{same_tape, scalar_out};

struct SumOp;

impl BlockOp for SumOp {
    fn name(&self) -> &'static str {
        "sum"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut d) = inputs.arg(0) {
            d.iter_mut().for_each(|d| *d += g[0]);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        out[0] = inputs.arg(0).map_or(0.0, |t| t.iter().sum());
        Ok(())
    }
}

struct DotOp {
    a: Vec<f64>,
    b: Vec<f64>,
}

impl BlockOp for DotOp {
    fn name(&self) -> &'static str {
        "dot"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut d) = inputs.arg(0) {
            d.iter_mut().zip(&self.b).for_each(|(d, b)| *d += g[0] * b);
        }
        if let Some(mut d) = inputs.arg(1) {
            d.iter_mut().zip(&self.a).for_each(|(d, a)| *d += g[0] * a);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let ta = inputs
            .arg(0)
            .map_or(0.0, |t| t.iter().zip(&self.b).map(|(t, b)| t * b).sum());
        let tb = inputs
            .arg(1)
            .map_or(0.0, |t| t.iter().zip(&self.a).map(|(t, a)| t * a).sum());
        out[0] = ta + tb;
        Ok(())
    }
}

impl Tape {
    /// Σᵢ xᵢ, as one block.
    pub fn sum<'t>(&'t self, x: &VarVec<'t>) -> Result<Var<'t>> {
        same_tape("sum", self, &[x.tape()])?;
        let v = x.values().iter().sum();
        let start = self.push_block(SumOp, &[x.arg()], 1)?;
        Ok(scalar_out(self, start, v))
    }

    /// Σᵢⱼ Aᵢⱼ.
    pub fn sum_mat<'t>(&'t self, a: &VarMat<'t>) -> Result<Var<'t>> {
        self.sum(&a.clone().flatten())
    }

    /// aᵀ b, as one block.
    pub fn dot<'t>(&'t self, a: &VarVec<'t>, b: &VarVec<'t>) -> Result<Var<'t>> {
        check_len("dot", "b", b.len(), a.len())?;
        same_tape("dot", self, &[a.tape(), b.tape()])?;
        let v = a.values().iter().zip(b.values()).map(|(x, y)| x * y).sum();
        let start = self.push_block(
            DotOp {
                a: a.values().to_vec(),
                b: b.values().to_vec(),
            },
            &[a.arg(), b.arg()],
            1,
        )?;
        Ok(scalar_out(self, start, v))
    }

    /// ‖x‖² = xᵀ x.
    pub fn sum_sq<'t>(&'t self, x: &VarVec<'t>) -> Result<Var<'t>> {
        self.dot(x, x)
    }
}
