//! Reference SDEs with known solutions or moments, shared by tests, benchmarks and examples
//! (the workloads of section 3 of `WORKLOADS.md`).

use super::noise::Calculus;
use super::problem::{Sde, SdeProblem, SdeShape};
use crate::ad::Real;

/// Geometric Brownian motion `dX = μ X dt + σ X dW` (or `∘ dW`), parameters `p = [μ, σ]`.
///
/// Exact solution on a given path: `X(t) = X₀ exp((μ − σ²/2) t + σ W(t))` (Itô) or
/// `X₀ exp(μ t + σ W(t))` (Stratonovich).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gbm {
    /// Which calculus `dW` is read in.
    pub calculus: Calculus,
}

impl Gbm {
    /// The Itô SDE.
    pub fn ito() -> Self {
        Self {
            calculus: Calculus::Ito,
        }
    }
    /// The Stratonovich SDE.
    pub fn stratonovich() -> Self {
        Self {
            calculus: Calculus::Stratonovich,
        }
    }
    /// `X(t)` given `W(t) − W(0) = w` and `p = [μ, σ]`.
    pub fn exact(&self, x0: f64, p: &[f64], t: f64, w: f64) -> f64 {
        let (mu, s) = (p[0], p[1]);
        let drift = match self.calculus {
            Calculus::Ito => mu - 0.5 * s * s,
            Calculus::Stratonovich => mu,
        };
        x0 * (drift * t + s * w).exp()
    }
}

impl Sde for Gbm {
    fn shape(&self) -> SdeShape {
        SdeShape::diagonal(1)
            .with_params(2)
            .with_calculus(self.calculus)
    }
    #[inline]
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[0] * x[0];
    }
    #[inline]
    fn diffusion<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[1] * x[0];
    }
    fn drift_batch(&self, _t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        let mu = p[0];
        for (o, &x) in out[..lanes].iter_mut().zip(&x[..lanes]) {
            *o = mu * x;
        }
    }
    fn diffusion_batch(&self, _t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        let s = p[1];
        for (o, &x) in out[..lanes].iter_mut().zip(&x[..lanes]) {
            *o = s * x;
        }
    }
}

/// The Ornstein–Uhlenbeck process `dX = θ (μ − X) dt + σ dW`, `p = [θ, μ, σ]` (additive
/// noise). `E X(t) = μ + (X₀ − μ) e^{−θt}`, `Var X(t) = σ² (1 − e^{−2θt}) / (2θ)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrnsteinUhlenbeck;

impl OrnsteinUhlenbeck {
    /// `(E X(t), Var X(t))` from `X(0) = x0`.
    pub fn moments(x0: f64, p: &[f64], t: f64) -> (f64, f64) {
        let (th, mu, s) = (p[0], p[1], p[2]);
        let e = (-th * t).exp();
        (
            mu + (x0 - mu) * e,
            s * s * (-(-2.0 * th * t).exp_m1()) / (2.0 * th),
        )
    }
}

impl Sde for OrnsteinUhlenbeck {
    fn shape(&self) -> SdeShape {
        SdeShape::additive(1, 1).with_params(3)
    }
    #[inline]
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[0] * (p[1] - x[0]);
    }
    #[inline]
    fn diffusion<R: Real>(&self, _t: R, _x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[2];
    }
    fn drift_batch(&self, _t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        let (th, mu) = (p[0], p[1]);
        for (o, &x) in out[..lanes].iter_mut().zip(&x[..lanes]) {
            *o = th * (mu - x);
        }
    }
}

/// The stochastic two-box energy-balance model (Cummins, Stephenson & Stott 2020, J.
/// Climate 33(18), doi:10.1175/JCLI-D-19-0589.1), `WORKLOADS.md` §3b:
/// ```text
/// C   dT   = [F − λ T − γ (T − T_D)] dt + σ dW
/// C_D dT_D = γ (T − T_D) dt
/// ```
/// `x = [T, T_D]`, `p = [C, C_D, λ, γ, F, σ]`, additive noise with `m = 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TwoBoxEbm;

impl TwoBoxEbm {
    /// The parameters of `WORKLOADS.md` §3b: `C = 8, C_D = 100, λ = 1.3, γ = 0.7, F = 3.7,
    /// σ = 0.5`.
    pub const PARAMS: [f64; 6] = [8.0, 100.0, 1.3, 0.7, 3.7, 0.5];

    /// The workload problem of `WORKLOADS.md` §3b over `[0, t1]`: from rest (`x₀ = 0`) with
    /// [`PARAMS`](Self::PARAMS) (§3b integrates to `t1 = 200`).
    pub fn workload(t1: f64) -> crate::error::Result<SdeProblem<Self>> {
        SdeProblem::new(TwoBoxEbm, 0.0, t1, vec![0.0, 0.0], Self::PARAMS.to_vec())
    }
}

impl Sde for TwoBoxEbm {
    fn shape(&self) -> SdeShape {
        SdeShape::additive(2, 1).with_params(6)
    }
    #[inline]
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        let (c, cd, lam, gam, f) = (p[0], p[1], p[2], p[3], p[4]);
        let flux = gam * (x[0] - x[1]);
        out[0] = (f - lam * x[0] - flux) / c;
        out[1] = flux / cd;
    }
    #[inline]
    fn diffusion<R: Real>(&self, _t: R, _x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[5] / p[0];
        out[1] = R::zero();
    }
    fn drift_batch(&self, _t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        let (c, cd, lam, gam, f) = (p[0], p[1], p[2], p[3], p[4]);
        let (a11, a12, b1) = (-(lam + gam) / c, gam / c, f / c);
        let (a21, a22) = (gam / cd, -gam / cd);
        let (t, td) = x.split_at(lanes);
        let (o0, o1) = out.split_at_mut(lanes);
        // Compiled for the widest instruction set available (`pulp`'s safe run-time
        // dispatch), so the loop runs four lanes per register on AVX2; same numbers.
        struct Op<'a> {
            a: [f64; 5],
            t: &'a [f64],
            td: &'a [f64],
            o0: &'a mut [f64],
            o1: &'a mut [f64],
        }
        impl pulp::WithSimd for Op<'_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _simd: S) {
                let [a11, a12, b1, a21, a22] = self.a;
                let n = self.o0.len();
                let (t, td) = (&self.t[..n], &self.td[..n]);
                let o1 = &mut self.o1[..n];
                for l in 0..n {
                    self.o0[l] = a11 * t[l] + a12 * td[l] + b1;
                    o1[l] = a21 * t[l] + a22 * td[l];
                }
            }
        }
        pulp::Arch::new().dispatch(Op {
            a: [a11, a12, b1, a21, a22],
            t,
            td: &td[..lanes],
            o0: &mut o0[..lanes],
            o1: &mut o1[..lanes],
        });
    }
}
