//! The Euler–Maruyama method (Maruyama 1955; Kloeden & Platen 1992, §10.2):
//! `x_{n+1} = x_n + f(t_n, x_n) h + g(t_n, x_n) ΔW_n`.
//!
//! Converges to the Itô solution with strong order 0.5 (1.0 for additive noise) and weak
//! order 1.0.

use super::{BatchWorkspace, Increment, SdeMethod, Workspace, euler_update, require_calculus};
use crate::ad::Real;
use crate::error::Result;
use crate::sde::noise::Calculus;
use crate::sde::problem::Sde;

/// Euler–Maruyama (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EulerMaruyama;

impl SdeMethod for EulerMaruyama {
    fn name(&self) -> &'static str {
        "euler_maruyama"
    }
    fn strong_order(&self) -> f64 {
        0.5
    }
    fn check<S: Sde>(&self, sde: &S) -> Result<()> {
        require_calculus(self.name(), sde, Calculus::Ito)
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
        euler_update(sde, inc, p, y, (&mut ws.f0, &mut ws.g0), out);
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
        let x = &mut y[..d * lanes];
        sde.drift_batch(t, x, lanes, p, &mut bw.f0);
        let shared = BatchWorkspace::diffusion_into(sde, t, x, lanes, p, &mut bw.ys, &mut bw.g0);
        if shared && m == 1 {
            // Additive noise with one Brownian component: x_i += f_i h + g_i ΔW in one pass
            // per component, the same operations in the same order as the general path.
            pulp::Arch::new().dispatch(AdditiveUpdate {
                x,
                f: &bw.f0[..d * lanes],
                g: &bw.g0[..d],
                w: &dw[..lanes],
                h,
            });
            return;
        }
        for (xi, &fi) in x.iter_mut().zip(&bw.f0) {
            *xi += fi * h;
        }
        sde.noise().apply_batch(d, m, lanes, &bw.g0, shared, dw, x);
    }
}

/// `x_i += f_i h + g_i ΔW` over the lanes of every component (additive noise, one
/// Brownian component), compiled for the widest instruction set available ([`pulp`]'s
/// safe run-time dispatch); the operations and their order are those of the general path.
struct AdditiveUpdate<'a> {
    /// `d × lanes`, component-major.
    x: &'a mut [f64],
    f: &'a [f64],
    g: &'a [f64],
    w: &'a [f64],
    h: f64,
}

impl pulp::WithSimd for AdditiveUpdate<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let lanes = self.w.len();
        let h = self.h;
        for ((xi, fi), &g) in self
            .x
            .chunks_exact_mut(lanes)
            .zip(self.f.chunks_exact(lanes))
            .zip(self.g)
        {
            if g == 0.0 {
                for (xv, &fv) in xi.iter_mut().zip(fi) {
                    *xv += fv * h;
                }
            } else {
                for ((xv, &fv), &wv) in xi.iter_mut().zip(fi).zip(self.w) {
                    *xv = (*xv + fv * h) + g * wv;
                }
            }
        }
    }
}
