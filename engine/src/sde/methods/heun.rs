//! The stochastic Heun method (a predictor–corrector trapezoidal rule; Rümelin 1982,
//! "Numerical treatment of stochastic differential equations", SIAM J. Numer. Anal.
//! 19(3)):
//! ```text
//! x̃ = x_n + f(t_n, x_n) h + g(t_n, x_n) ΔW
//! x_{n+1} = x_n + ½ [f(t_n, x_n) + f(t_{n+1}, x̃)] h + ½ [g(t_n, x_n) + g(t_{n+1}, x̃)] ΔW
//! ```
//! Converges to the Stratonovich solution, strong order 1.0 for commutative noise and 0.5
//! in general.

use super::{Increment, SdeMethod, Workspace, require_calculus};
use crate::ad::Real;
use crate::error::Result;
use crate::sde::noise::Calculus;
use crate::sde::problem::Sde;

/// Stochastic Heun (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heun;

impl SdeMethod for Heun {
    fn name(&self) -> &'static str {
        "heun"
    }
    fn strong_order(&self) -> f64 {
        0.5
    }
    fn check<S: Sde>(&self, sde: &S) -> Result<()> {
        require_calculus(self.name(), sde, Calculus::Stratonovich)
    }
    fn step<S: Sde, R: Real>(
        &self,
        sde: &S,
        t: f64,
        h: f64,
        inc: &Increment<'_>,
        p: &[R],
        y: &[R],
        out: &mut [R],
        ws: &mut Workspace<R>,
    ) {
        let (d, m) = (sde.n_states(), sde.n_noise());
        let noise = sde.noise();
        sde.drift(t, y, p, &mut ws.f0);
        sde.diffusion(t, y, p, &mut ws.g0);
        for ((x, &yi), &fi) in ws.x1.iter_mut().zip(y).zip(&ws.f0) {
            *x = yi + fi * h;
        }
        noise.apply(d, m, &ws.g0, inc.dw, &mut ws.x1);
        sde.drift(t + h, &ws.x1, p, &mut ws.f1);
        sde.diffusion(t + h, &ws.x1, p, &mut ws.g1);
        for k in 0..ws.g0.len() {
            ws.g0[k] = (ws.g0[k] + ws.g1[k]) * 0.5;
        }
        for i in 0..d {
            out[i] = y[i] + (ws.f0[i] + ws.f1[i]) * (0.5 * h);
        }
        noise.apply(d, m, &ws.g0, inc.dw, out);
    }
}
