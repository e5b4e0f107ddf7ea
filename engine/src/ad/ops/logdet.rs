//! log |det A| of a general square matrix by LU with partial pivoting.
//!
//! Pullback (Giles 2008, §2.2.4) and pushforward:
//! $$\bar A = \bar g A^{-\top}, \qquad \dot g = \operatorname{tr}(A^{-1} \dot A).$$

use faer::{Mat, Par};

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Tape, Var, VarMat};
use crate::error::Result;
use crate::linalg::Lu;

use super::util::{add_scaled, check_square, same_tape, scalar_out};

struct LogAbsDetOp {
    inv: Mat<f64>,
}

impl BlockOp for LogAbsDetOp {
    fn name(&self) -> &'static str {
        "log_abs_det"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut da) = inputs.arg(0) {
            add_scaled(&mut da, self.inv.transpose(), g[0]);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let n = self.inv.nrows();
        out[0] = match inputs.arg(0) {
            // tr(A⁻¹ dA) = Σᵢⱼ (A⁻¹)ⱼᵢ dAᵢⱼ
            Some(t) => (0..n)
                .flat_map(|j| (0..n).map(move |i| (i, j)))
                .map(|(i, j)| self.inv[(j, i)] * t[i + j * n])
                .sum(),
            None => 0.0,
        };
        Ok(())
    }
}

impl Tape {
    /// `ln |det A|` of a general square matrix, by LU (its sign is returned beside it as a
    /// constant).
    ///
    /// # Errors
    /// [`Error::Singular`](crate::Error::Singular) for a singular matrix; shape and
    /// non-finite errors.
    pub fn log_abs_det<'t>(&'t self, a: &VarMat<'t>) -> Result<(Var<'t>, f64)> {
        check_square("log_abs_det", "A", a)?;
        same_tape("log_abs_det", self, &[a.tape()])?;
        let par: Par = self.par();
        let lu = Lu::factor(a.as_faer(), par)?;
        let (sign, v) = lu.log_abs_det();
        let inv = if a.is_constant() {
            Mat::zeros(0, 0)
        } else {
            lu.inverse(par)
        };
        let start = self.push_block(LogAbsDetOp { inv }, &[a.arg()], 1)?;
        Ok((scalar_out(self, start, v), sign))
    }
}
