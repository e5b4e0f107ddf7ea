//! The stochastic Heun method (a predictor–corrector trapezoidal rule; Rümelin 1982,
//! "Numerical treatment of stochastic differential equations", SIAM J. Numer. Anal.
//! 19(3)):
//! ```text
//! x̃ = x_n + f(t_n, x_n) h + g(t_n, x_n) ΔW
//! x_{n+1} = x_n + ½ [f(t_n, x_n) + f(t_{n+1}, x̃)] h + ½ [g(t_n, x_n) + g(t_{n+1}, x̃)] ΔW
//! ```
//! Converges to the Stratonovich solution, strong order 1.0 for commutative noise and 0.5
//! in general.

use super::{BatchWorkspace, Increment, SdeMethod, Workspace, euler_update, require_calculus};
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
        inc: &Increment<'_>,
        p: &[R],
        y: &[R],
        out: &mut [R],
        ws: &mut Workspace<R>,
    ) {
        let (d, m) = (sde.n_states(), sde.n_noise());
        let noise = sde.noise();
        let h = inc.h;
        let t1 = R::from_f64(inc.t + h);
        euler_update(sde, inc, p, y, (&mut ws.f0, &mut ws.g0), &mut ws.x1);
        sde.drift(t1, &ws.x1, p, &mut ws.f1);
        sde.diffusion(t1, &ws.x1, p, &mut ws.g1);
        for k in 0..ws.g0.len() {
            ws.g0[k] = (ws.g0[k] + ws.g1[k]) * 0.5;
        }
        for i in 0..d {
            out[i] = y[i] + (ws.f0[i] + ws.f1[i]) * (0.5 * h);
        }
        noise.apply(d, m, &ws.g0, inc.dw, out);
    }

    fn step_batch<S: Sde>(
        &self,
        sde: &S,
        t: f64,
        h: f64,
        dw: &[f64],
        _area: Option<&[f64]>,
        p: &[f64],
        y: &mut [f64],
        bw: &mut BatchWorkspace,
    ) {
        let (d, m, lanes) = (sde.n_states(), sde.n_noise(), bw.lanes);
        let noise = sde.noise();
        let x = &mut y[..d * lanes];
        sde.drift_batch(t, x, lanes, p, &mut bw.f0);
        let shared = BatchWorkspace::diffusion_into(sde, t, x, lanes, p, &mut bw.ys, &mut bw.g0);
        for ((x1, &xi), &fi) in bw.x1.iter_mut().zip(x.iter()).zip(&bw.f0) {
            *x1 = xi + fi * h;
        }
        noise.apply_batch(d, m, lanes, &bw.g0, shared, dw, &mut bw.x1);
        sde.drift_batch(t + h, &bw.x1, lanes, p, &mut bw.f1);
        BatchWorkspace::diffusion_into(sde, t + h, &bw.x1, lanes, p, &mut bw.ys, &mut bw.g1);
        let gn = if shared {
            bw.g0.len() / lanes
        } else {
            bw.g0.len()
        };
        for k in 0..gn {
            bw.g0[k] = 0.5 * (bw.g0[k] + bw.g1[k]);
        }
        for ((xi, &a), &b) in x.iter_mut().zip(&bw.f0).zip(&bw.f1) {
            *xi += (a + b) * (0.5 * h);
        }
        noise.apply_batch(d, m, lanes, &bw.g0, shared, dw, x);
    }
}
