//! SRA1, a stochastic Runge–Kutta method for additive noise with an embedded error
//! estimate (Rößler 2010, "Runge–Kutta methods for the strong approximation of solutions
//! of stochastic differential equations", SIAM J. Numer. Anal. 48(3), 922–952,
//! doi:10.1137/09076636X, §5, scheme SRA1).
//!
//! For `dx = f(t, x) dt + g(t) dW` (additive noise, either calculus) the two-stage scheme
//! with `c⁽⁰⁾ = (0, ¾)`, `c⁽¹⁾ = (1, 0)`, `A⁽⁰⁾₂₁ = ¾`, `B⁽⁰⁾₂₁ = 3/2`, `α = (⅓, ⅔)`,
//! `β⁽¹⁾ = (1, 0)`, `β⁽²⁾ = (−1, 1)` reads
//! ```text
//! H₂      = x + ¾ f(t, x) h + (3/2) g(t + h) J
//! x_{n+1} = x + [⅓ f(t, x) + ⅔ f(t + ¾h, H₂)] h + g(t + h) ΔW + [g(t) − g(t + h)] J
//! ```
//! with `J = I₍₁,₀₎/h = ∫ (W(s) − W(t)) ds / h = ΔW/2 + H`, `H` the space-time Lévy area.
//! Strong order 1.5.
//!
//! Error estimate: the difference to Euler–Maruyama (strong order 1.0 for additive noise,
//! local error O(h^{3/2})),
//! `E = ⅔ [f(t + ¾h, H₂) − f(t, x)] h + [g(t + h) − g(t)] (ΔW − J)`,
//! advanced with the higher-order solution (local extrapolation).

use super::{Increment, SdeMethod, Workspace};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::sde::noise::NoiseType;
use crate::sde::problem::Sde;

/// SRA1 (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sra1;

impl SdeMethod for Sra1 {
    fn name(&self) -> &'static str {
        "sra1"
    }
    fn strong_order(&self) -> f64 {
        1.5
    }
    fn check<S: Sde>(&self, sde: &S) -> Result<()> {
        if sde.noise() == NoiseType::Additive {
            Ok(())
        } else {
            Err(Error::invalid_option(
                self.name(),
                "sde.noise()",
                format!("{:?}", sde.noise()),
                "Additive: SRA1 is for additive noise (g independent of x); use Milstein, \
                 Heun or Euler–Maruyama",
            ))
        }
    }
    fn needs_levy_area(&self) -> bool {
        true
    }
    fn error_order(&self) -> Option<f64> {
        Some(1.5)
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
        sra1(sde, inc, p, y, out, None, ws);
    }
    fn step_with_error<S: Sde, R: Real>(
        &self,
        sde: &S,
        inc: &Increment<'_>,
        p: &[R],
        y: &[R],
        out: &mut [R],
        err: &mut [R],
        ws: &mut Workspace<R>,
    ) -> Result<()> {
        sra1(sde, inc, p, y, out, Some(err), ws);
        Ok(())
    }
}

fn sra1<S: Sde, R: Real>(
    sde: &S,
    inc: &Increment<'_>,
    p: &[R],
    y: &[R],
    out: &mut [R],
    err: Option<&mut [R]>,
    ws: &mut Workspace<R>,
) {
    let (d, m) = (sde.n_states(), sde.n_noise());
    let noise = sde.noise();
    let (t, h, dw) = (inc.t, inc.h, inc.dw);
    let area = inc
        .area
        .expect("invariant: solvers check needs_levy_area before stepping");
    // J = I₍₁,₀₎/h and 1.5 J, per noise component.
    for k in 0..m {
        ws.wa[k] = 0.5 * dw[k] + area[k];
        ws.wb[k] = 1.5 * ws.wa[k];
    }
    sde.drift(R::from_f64(t), y, p, &mut ws.f0);
    sde.diffusion(R::from_f64(t), y, p, &mut ws.g0); // g(t)
    sde.diffusion(R::from_f64(t + h), y, p, &mut ws.g1); // g(t + h)
    for i in 0..d {
        ws.x1[i] = y[i] + ws.f0[i] * (0.75 * h);
    }
    noise.apply(d, m, &ws.g1, &ws.wb, &mut ws.x1);
    sde.drift(R::from_f64(t + 0.75 * h), &ws.x1, p, &mut ws.f1);
    for i in 0..d {
        out[i] = y[i] + (ws.f0[i] * (1.0 / 3.0) + ws.f1[i] * (2.0 / 3.0)) * h;
    }
    noise.apply(d, m, &ws.g1, dw, out);
    // [g(t) − g(t + h)] J, and the same difference for the error estimate.
    for k in 0..ws.g0.len() {
        ws.g0[k] = ws.g0[k] - ws.g1[k];
    }
    noise.apply(d, m, &ws.g0, &ws.wa, out);
    if let Some(err) = err {
        for i in 0..d {
            err[i] = (ws.f1[i] - ws.f0[i]) * (2.0 / 3.0 * h);
        }
        // [g(t + h) − g(t)] (ΔW − J) = [g(t) − g(t + h)] (J − ΔW)
        for k in 0..m {
            ws.wb[k] = ws.wa[k] - dw[k];
        }
        noise.apply(d, m, &ws.g0, &ws.wb, err);
    }
}
