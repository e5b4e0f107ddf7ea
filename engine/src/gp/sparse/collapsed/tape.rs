//! [`sparse_objective_var`]: the collapsed objective as one tape block.

use faer::Par;

use super::model::SparseGpOptions;
use super::objective::{SparseAt, evaluate, pullback};
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::sparse::collapsed_bound::{CollapsedFactor, SparseMethod};
use crate::gp::workspace::Linalg;

struct CollapsedOp<K> {
    kernel: K,
    theta: Vec<f64>,
    noise: f64,
    x: Inputs,
    y: Vec<f64>,
    z: Inputs,
    factor: CollapsedFactor,
    kdiag: Vec<f64>,
    par: Par,
}

impl<K: Kernel> BlockOp for CollapsedOp<K> {
    fn name(&self) -> &'static str {
        "sparse_gp_objective"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let want_x = inputs.is_active(2);
        let p = SparseAt {
            kernel: &self.kernel,
            theta: &self.theta,
            noise: self.noise,
            x: &self.x,
            y: &self.y,
            z: &self.z,
        };
        let la = Linalg {
            par: self.par,
            pool: None,
        };
        let gr = pullback(&p, &self.factor, &self.kdiag, g[0], want_x, la);
        if let Some(mut a) = inputs.arg(0) {
            let pk = self.theta.len();
            for k in 0..pk {
                a[k] += gr.theta[k];
            }
            a[pk] += gr.noise;
        }
        let to_col_major = |n: usize, d: usize, src: &[f64], dst: &mut [f64]| {
            for i in 0..n {
                for c in 0..d {
                    dst[i + c * n] += src[i * d + c];
                }
            }
        };
        if let Some(mut a) = inputs.arg(1) {
            to_col_major(self.z.n(), self.z.d(), &gr.z, &mut a);
        }
        if let (Some(gx), Some(mut a)) = (gr.x.as_ref(), inputs.arg(2)) {
            to_col_major(self.x.n(), self.x.d(), gx, &mut a);
        }
        if let Some(mut a) = inputs.arg(3) {
            a.iter_mut().zip(&gr.y).for_each(|(a, g)| *a += g);
        }
        Ok(())
    }
}

/// The data of [`sparse_objective_var`] on the tape: inducing inputs `z` (`M × d`), inputs
/// `x` (`N × d`) and outputs `y` (`N`).
#[derive(Clone, Copy, Debug)]
pub struct SparseData<'a, 't> {
    /// Inducing inputs, one point per row.
    pub z: &'a VarMat<'t>,
    /// Training inputs, one point per row.
    pub x: &'a VarMat<'t>,
    /// Training outputs.
    pub y: &'a VarVec<'t>,
}

/// The VFE bound or FITC log-likelihood as one tape block, differentiable in
/// `params = θ` (the kernel's parameters, then the noise variance; natural scale), the
/// inducing inputs, the inputs and the outputs of `data`.
pub fn sparse_objective_var<'t, K: Kernel>(
    tape: &'t Tape,
    kernel: &K,
    method: SparseMethod,
    params: &VarVec<'t>,
    data: SparseData<'_, 't>,
    options: &SparseGpOptions,
) -> Result<Var<'t>> {
    let SparseData { z, x, y } = data;
    crate::ad::varmat::check_tape(
        "sparse_objective",
        tape,
        &[params.tape(), z.tape(), x.tape(), y.tape()],
    )?;
    let pk = kernel.n_params();
    crate::error::check_len("sparse_objective", "params", params.len(), pk + 1)?;
    let layout = crate::gp::params::with_noise(kernel.layout()?)?;
    crate::gp::kernels::matrix::check_support("sparse_objective", &layout, params.values())?;
    let xi = Inputs::from_col_major(x.nrows(), x.ncols(), x.values())?;
    let zi = Inputs::from_col_major(z.nrows(), z.ncols(), z.values())?;
    let theta = params.values()[..pk].to_vec();
    let noise = params.values()[pk];
    let p = SparseAt {
        kernel,
        theta: &theta,
        noise,
        x: &xi,
        y: y.values(),
        z: &zi,
    };
    let (factor, kdiag) = evaluate(&p, method, options, None)?;
    let value = factor.value;
    let start = tape.push_block(
        CollapsedOp {
            kernel: kernel.clone(),
            theta,
            noise,
            x: xi,
            y: y.values().to_vec(),
            z: zi,
            factor,
            kdiag,
            par: options.par,
        },
        &[params.arg(), z.arg(), x.arg(), y.arg()],
        1,
    )?;
    Ok(VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value)))
}
