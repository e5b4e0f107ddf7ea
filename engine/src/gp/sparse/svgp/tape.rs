//! [`svgp_elbo_var`]: the SVGP ELBO as one tape block in the packed parameters.

use super::model::Svgp;
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, Var, VarVec};
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::likelihoods::Likelihood;

struct ElboOp<K, L> {
    model: Svgp<K, L>,
    x: Inputs,
    y: Vec<f64>,
}

impl<K: Kernel, L: Likelihood> BlockOp for ElboOp<K, L> {
    fn name(&self) -> &'static str {
        "svgp_elbo"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut a) = inputs.arg(0) {
            let gr = self.model.elbo_and_grad(&self.x, &self.y)?;
            let packed = self.model.pack_gradient(&gr);
            a.iter_mut().zip(&packed).for_each(|(a, p)| *a += g[0] * p);
        }
        Ok(())
    }
}

/// The ELBO of `model` with its parameters replaced by `params` (packed as by
/// [`Svgp::pack`]: unconstrained scale) on the batch `(x, y)`, as one tape block; the
/// pullback is the analytic gradient of [`Svgp::elbo_and_grad`], packed by
/// [`Svgp::pack_gradient`].
///
/// ```
/// use mechml_engine::ad::Tape;
/// use mechml_engine::gp::{Gaussian, Inputs, SquaredExponential, Svgp, svgp_elbo_var};
/// let x = Inputs::from_1d(&[0.0, 0.5, 1.0, 1.5])?;
/// let y = [0.0, 0.4, 0.8, 1.0];
/// let z = Inputs::from_1d(&[0.2, 1.2])?;
/// let gp = Svgp::new(SquaredExponential::isotropic(), Gaussian::new(), z, 4, &[1.0, 1.0, 0.1])?;
/// let tape = Tape::new();
/// let p = tape.var_vec(&gp.pack());
/// let elbo = svgp_elbo_var(&tape, &gp, &p, &x, &y)?;
/// assert!((elbo.val() - gp.elbo(&x, &y)?).abs() < 1e-12);
/// let g = tape.gradient(&elbo)?.wrt_vec(&p);
/// assert_eq!(g.len(), gp.n_packed());
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn svgp_elbo_var<'t, K: Kernel, L: Likelihood>(
    tape: &'t Tape,
    model: &Svgp<K, L>,
    params: &VarVec<'t>,
    x: &Inputs,
    y: &[f64],
) -> Result<Var<'t>> {
    crate::ad::varmat::check_tape("svgp_elbo", tape, &[params.tape()])?;
    let mut m = model.clone();
    m.unpack(params.values())?;
    let value = m.elbo(x, y)?;
    let start = tape.push_block(
        ElboOp {
            model: m,
            x: x.clone(),
            y: y.to_vec(),
        },
        &[params.arg()],
        1,
    )?;
    Ok(VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value)))
}
