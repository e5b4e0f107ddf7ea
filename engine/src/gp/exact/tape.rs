//! [`exact_lml_var`]: the exact-GP log marginal likelihood as one tape block.

use faer::Par;

use super::lml::{self, ExactAdjoints, ExactAt, ExactFactor, Linalg};
use super::model::ExactGpOptions;
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::linalg::JitterInfo;

struct ExactLmlOp<K> {
    kernel: K,
    theta: Vec<f64>,
    noise: f64,
    x: Inputs,
    factor: ExactFactor,
    par: Par,
}

impl<K: Kernel> BlockOp for ExactLmlOp<K> {
    fn name(&self) -> &'static str {
        "exact_gp_lml"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let (n, d) = (self.x.n(), self.x.d());
        let p = self.factor.alpha.ncols();
        let pk = self.theta.len();
        let mut dparams = vec![0.0; pk + 1];
        let mut dx = inputs.is_active(1).then(|| vec![0.0; n * d]);
        let mut dy = inputs.is_active(2).then(|| vec![0.0; n * p]);
        {
            let (dtheta, dnoise) = dparams.split_at_mut(pk);
            let at = ExactAt {
                kernel: &self.kernel,
                theta: &self.theta,
                noise: self.noise,
                x: &self.x,
            };
            lml::lml_pullback(
                &at,
                &self.factor,
                g[0],
                self.par,
                ExactAdjoints {
                    dtheta,
                    dnoise: &mut dnoise[0],
                    dx: dx.as_deref_mut(),
                    dy: dy.as_deref_mut(),
                },
            );
        }
        if let Some(mut a) = inputs.arg(0) {
            a.iter_mut().zip(&dparams).for_each(|(a, g)| *a += g);
        }
        if let (Some(dx), Some(mut a)) = (dx, inputs.arg(1)) {
            for i in 0..n {
                for c in 0..d {
                    a[i + c * n] += dx[i * d + c];
                }
            }
        }
        if let (Some(dy), Some(mut a)) = (dy, inputs.arg(2)) {
            a.iter_mut().zip(&dy).for_each(|(a, g)| *a += g);
        }
        Ok(())
    }
}

/// The exact-GP log marginal likelihood as one tape block, differentiable in
/// `params = θ` (the kernel's parameters, then the noise variance; natural scale), the
/// inputs `x` (`n × d`) and the outputs `y` (`n × p`). Returns the value and the jitter
/// that was needed.
///
/// ```
/// use mechml_engine::ad::{Tape, VarMat};
/// use mechml_engine::gp::{ExactGpOptions, Matern32, exact_lml_var};
/// let k = Matern32::isotropic();
/// let tape = Tape::new();
/// let params = tape.var_vec(&[1.0, 0.5, 0.1]);      // variance, lengthscale, noise_variance
/// let x = VarMat::constant(3, 1, vec![0.0, 0.3, 1.0])?;
/// let y = VarMat::constant(3, 1, vec![0.1, -0.2, 0.4])?;
/// let (lml, jitter) = exact_lml_var(&tape, &k, &params, &x, &y, &ExactGpOptions::default())?;
/// assert_eq!(jitter.jitter_added, 0.0);
/// let g = tape.gradient(&lml)?.wrt_vec(&params);
/// assert_eq!(g.len(), 3);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn exact_lml_var<'t, K: Kernel>(
    tape: &'t Tape,
    kernel: &K,
    params: &VarVec<'t>,
    x: &VarMat<'t>,
    y: &VarMat<'t>,
    options: &ExactGpOptions,
) -> Result<(Var<'t>, JitterInfo)> {
    crate::ad::varmat::check_tape("exact_lml", tape, &[params.tape(), x.tape(), y.tape()])?;
    let pk = kernel.n_params();
    crate::error::check_len("exact_lml", "params", params.len(), pk + 1)?;
    let layout = crate::gp::params::with_noise(kernel.layout()?)?;
    crate::gp::kernels::matrix::check_support("exact_lml", &layout, params.values())?;
    let xi = Inputs::from_col_major(x.nrows(), x.ncols(), x.values())?;
    let ym = y.as_faer();
    let theta = params.values()[..pk].to_vec();
    let noise = params.values()[pk];
    let at = ExactAt {
        kernel,
        theta: &theta,
        noise,
        x: &xi,
    };
    let la = Linalg {
        par: options.par,
        pool: None,
    };
    let factor = lml::factor(&at, ym, options.jitter, la)?;
    let value = lml::lml_value(&factor, ym);
    let jitter = factor.jitter;
    let start = tape.push_block(
        ExactLmlOp {
            kernel: kernel.clone(),
            theta,
            noise,
            x: xi,
            factor,
            par: options.par,
        },
        &[params.arg(), x.arg(), y.arg()],
        1,
    )?;
    let out = VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value));
    Ok((out, jitter))
}
