//! The reversible Heun method (Kidger, Foster, Li & Lyons 2021, "Efficient and accurate
//! gradients for neural SDEs", NeurIPS, arXiv:2105.13493, Algorithm 1):
//! ```text
//! z_{n+1} = 2 y_n − z_n + f(t_n, z_n) h + g(t_n, z_n) ΔW
//! y_{n+1} = y_n + ½ [f(t_n, z_n) + f(t_{n+1}, z_{n+1})] h + ½ [g(t_n, z_n) + g(t_{n+1}, z_{n+1})] ΔW
//! ```
//! from `y_0 = z_0 = x_0`. It is algebraically reversible: given the state at `t_{n+1}` and
//! the same `ΔW`, [`ReversibleHeun::reverse_step`] recovers the state at `t_n` in closed form
//! (Algorithm 2), which gives the O(1)-memory exact adjoint. One evaluation of `f` and `g`
//! per step (the last one is carried in the state). Converges to the Stratonovich solution,
//! strong order 0.5 in general and 1.0 for additive noise.
//!
//! State layout: `[y (d), z (d), f(z) (d), g(z) (gl)]`; the solution is `y`.

use super::{Increment, SdeMethod, Workspace, require_calculus};
use crate::ad::Real;
use crate::error::Result;
use crate::sde::noise::Calculus;
use crate::sde::problem::Sde;

/// Reversible Heun (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReversibleHeun;

impl ReversibleHeun {
    /// The state at `t` from the state `next` at `t + h` and the same increment (Kidger et
    /// al. 2021, Algorithm 2): `z_n = 2 y_{n+1} − z_{n+1} − f_{n+1} h − g_{n+1} ΔW`, then
    /// `f_n, g_n` at `z_n`, then `y_n = y_{n+1} − ½ (f_n + f_{n+1}) h − ½ (g_n + g_{n+1}) ΔW`.
    pub fn reverse_step<S: Sde, R: Real>(
        &self,
        sde: &S,
        inc: &Increment<'_>,
        p: &[R],
        next: &[R],
        out: &mut [R],
        ws: &mut Workspace<R>,
    ) {
        let (d, m) = (sde.n_states(), sde.n_noise());
        let noise = sde.noise();
        let (t, h) = (inc.t, inc.h);
        let gl = ws.g0.len();
        let (y1, rest) = next.split_at(d);
        let (z1, rest) = rest.split_at(d);
        let (f1, g1) = rest.split_at(d);
        for (n, w) in ws.wa.iter_mut().zip(inc.dw) {
            *n = -w;
        }
        let neg = std::mem::take(&mut ws.wa);
        let (y, rest) = out.split_at_mut(d);
        let (z, rest) = rest.split_at_mut(d);
        let (fz, gz) = rest.split_at_mut(d);
        for i in 0..d {
            z[i] = y1[i] * 2.0 - z1[i] - f1[i] * h;
        }
        noise.apply(d, m, g1, &neg, z);
        sde.drift(R::from_f64(t), z, p, fz);
        sde.diffusion(R::from_f64(t), z, p, &mut gz[..gl]);
        for i in 0..d {
            y[i] = y1[i] - (fz[i] + f1[i]) * (0.5 * h);
        }
        for k in 0..gl {
            ws.g0[k] = (gz[k] + g1[k]) * 0.5;
        }
        noise.apply(d, m, &ws.g0, &neg, y);
        ws.wa = neg;
    }
}

impl SdeMethod for ReversibleHeun {
    fn name(&self) -> &'static str {
        "reversible_heun"
    }
    fn strong_order(&self) -> f64 {
        0.5
    }
    fn check<S: Sde>(&self, sde: &S) -> Result<()> {
        require_calculus(self.name(), sde, Calculus::Stratonovich)
    }
    fn state_len(&self, d: usize, gl: usize) -> usize {
        3 * d + gl
    }
    fn is_reversible(&self) -> bool {
        true
    }
    fn reverse<S: Sde, R: Real>(
        &self,
        sde: &S,
        inc: &Increment<'_>,
        p: &[R],
        next: &[R],
        out: &mut [R],
        ws: &mut Workspace<R>,
    ) -> Result<()> {
        self.reverse_step(sde, inc, p, next, out, ws);
        Ok(())
    }
    fn init<S: Sde, R: Real>(&self, sde: &S, t0: f64, x0: &[R], p: &[R], state: &mut [R]) {
        let d = x0.len();
        state[..d].copy_from_slice(x0);
        state[d..2 * d].copy_from_slice(x0);
        let (fz, gz) = state[2 * d..].split_at_mut(d);
        sde.drift(R::from_f64(t0), x0, p, fz);
        sde.diffusion(R::from_f64(t0), x0, p, gz);
    }
    fn step<S: Sde, R: Real>(
        &self,
        sde: &S,
        inc: &Increment<'_>,
        p: &[R],
        state: &[R],
        out: &mut [R],
        ws: &mut Workspace<R>,
    ) {
        let (d, m) = (sde.n_states(), sde.n_noise());
        let noise = sde.noise();
        let (t, h) = (inc.t, inc.h);
        let gl = ws.g0.len();
        let (y, rest) = state.split_at(d);
        let (z, rest) = rest.split_at(d);
        let (fz, gz) = rest.split_at(d);
        let (y1, rest) = out.split_at_mut(d);
        let (z1, rest) = rest.split_at_mut(d);
        let (f1, g1) = rest.split_at_mut(d);
        for i in 0..d {
            z1[i] = y[i] * 2.0 - z[i] + fz[i] * h;
        }
        noise.apply(d, m, gz, inc.dw, z1);
        sde.drift(R::from_f64(t + h), z1, p, f1);
        sde.diffusion(R::from_f64(t + h), z1, p, &mut g1[..gl]);
        for i in 0..d {
            y1[i] = y[i] + (fz[i] + f1[i]) * (0.5 * h);
        }
        for k in 0..gl {
            ws.g0[k] = (gz[k] + g1[k]) * 0.5;
        }
        noise.apply(d, m, &ws.g0, inc.dw, y1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sde::reference::Gbm;

    #[test]
    fn reverse_step_recovers_the_state() {
        let sde = Gbm::stratonovich();
        let p = [0.3, 0.8];
        let m = ReversibleHeun;
        let mut ws = Workspace::<f64>::new(&sde);
        let mut s = vec![0.0; m.state_len(1, 1)];
        m.init(&sde, 0.0, &[1.3], &p, &mut s);
        let start = s.clone();
        let h = 0.01;
        let dws: Vec<f64> = (0..100).map(|k| 0.1 * ((k as f64) * 1.7).sin()).collect();
        let mut next = s.clone();
        for (k, dw) in dws.iter().enumerate() {
            let inc = Increment {
                t: k as f64 * h,
                h,
                dw: &[*dw],
                area: None,
            };
            m.step(&sde, &inc, &p, &s, &mut next, &mut ws);
            std::mem::swap(&mut s, &mut next);
        }
        for (k, dw) in dws.iter().enumerate().rev() {
            let inc = Increment {
                t: k as f64 * h,
                h,
                dw: &[*dw],
                area: None,
            };
            m.reverse_step(&sde, &inc, &p, &s, &mut next, &mut ws);
            std::mem::swap(&mut s, &mut next);
        }
        for (a, b) in s.iter().zip(&start) {
            assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
}
