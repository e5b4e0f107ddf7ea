//! Itô ⇄ Stratonovich conversion.
//!
//! The Itô SDE `dx = f dt + g dW` and the Stratonovich SDE `dx = f̃ dt + g ∘ dW` have the
//! same solutions when
//! ```text
//! f̃ᵢ = fᵢ − cᵢ,    cᵢ = ½ Σⱼ (Lʲ gʲ)ᵢ = ½ Σⱼ Σₖ gₖⱼ ∂ₖ gᵢⱼ
//! ```
//! (Kloeden & Platen 1992, eq. (4.9.10)). [`StratonovichForm`] presents an Itô SDE in
//! Stratonovich form (so Heun or reversible Heun can solve it), [`ItoForm`] the reverse.
//! The correction `c` is computed with [`Tangent`] numbers, one directional derivative of
//! `g` per noise column (one in total for scalar and diagonal noise), so it is exact and
//! differentiable; for additive noise it vanishes.
//!
//! ```
//! use mechml_engine::sde::{reference::Gbm, Calculus, Sde, StratonovichForm};
//! // Itô GBM dX = μX dt + σX dW is the Stratonovich SDE dX = (μ − σ²/2) X dt + σX ∘ dW.
//! let s = StratonovichForm::new(Gbm::ito());
//! assert_eq!(s.calculus(), Calculus::Stratonovich);
//! let mut f = [0.0];
//! s.drift(0.0, &[2.0], &[0.05, 0.2], &mut f);
//! assert!((f[0] - (0.05 - 0.02) * 2.0).abs() < 1e-15);
//! ```

use super::noise::{Calculus, NoiseType};
use super::problem::{Sde, SdeShape};
use crate::ad::{Real, Tangent};

/// Runs `f` on a scratch slice of `n` copies of `init`: on the stack up to 16 entries (the
/// common case; no allocation per call), on the heap beyond.
#[inline]
pub(crate) fn with_scratch<T: Copy, O>(n: usize, init: T, f: impl FnOnce(&mut [T]) -> O) -> O {
    const STACK: usize = 16;
    if n <= STACK {
        let mut a = [init; STACK];
        f(&mut a[..n])
    } else {
        let mut v = vec![init; n];
        f(&mut v)
    }
}

/// `out = c(t, x, p)`, the Itô–Stratonovich drift correction (see the [module docs](self)).
pub fn ito_correction<S: Sde + ?Sized, R: Real>(sde: &S, t: R, x: &[R], p: &[R], out: &mut [R]) {
    let (d, m) = (sde.n_states(), sde.n_noise());
    let noise = sde.noise();
    out[..d].fill(R::zero());
    if noise == NoiseType::Additive {
        return;
    }
    let gl = noise.diffusion_len(d, m);
    let tz = Tangent::constant(R::zero());
    with_scratch(gl, R::zero(), |g| {
        with_scratch(p.len(), tz, |pt| {
            with_scratch(d, tz, |xt| {
                with_scratch(gl, tz, |gt| {
                    sde.diffusion(t, x, p, g);
                    for (a, &v) in pt.iter_mut().zip(p) {
                        *a = Tangent::constant(v);
                    }
                    let columns = match noise {
                        NoiseType::Scalar | NoiseType::Diagonal => 1,
                        _ => m,
                    };
                    for j in 0..columns {
                        let v = match noise {
                            NoiseType::Scalar | NoiseType::Diagonal => &g[..d],
                            _ => &g[j * d..(j + 1) * d],
                        };
                        for ((t_, &xi), &vi) in xt.iter_mut().zip(x).zip(v) {
                            *t_ = Tangent::new(xi, vi);
                        }
                        sde.diffusion(Tangent::constant(t), xt, pt, gt);
                        // Column j of (Lʲ g): for scalar/diagonal layouts the whole vector.
                        let col = match noise {
                            NoiseType::Scalar | NoiseType::Diagonal => &gt[..d],
                            _ => &gt[j * d..(j + 1) * d],
                        };
                        for (o, c) in out[..d].iter_mut().zip(col) {
                            *o += c.d * 0.5;
                        }
                    }
                })
            })
        })
    });
}

/// An Itô SDE presented in Stratonovich form: drift `f − c`, same diffusion.
#[derive(Clone, Debug)]
pub struct StratonovichForm<S>(pub S);

impl<S: Sde> StratonovichForm<S> {
    /// Wraps `sde`; if it is already Stratonovich, the drift is left unchanged.
    pub fn new(sde: S) -> Self {
        Self(sde)
    }
}

/// A Stratonovich SDE presented in Itô form: drift `f + c`, same diffusion.
#[derive(Clone, Debug)]
pub struct ItoForm<S>(pub S);

impl<S: Sde> ItoForm<S> {
    /// Wraps `sde`; if it is already Itô, the drift is left unchanged.
    pub fn new(sde: S) -> Self {
        Self(sde)
    }
}

macro_rules! converted {
    ($ty:ident, $target:expr, $sign:expr) => {
        impl<S: Sde> Sde for $ty<S> {
            fn shape(&self) -> SdeShape {
                self.0.shape().with_calculus($target)
            }
            fn commutative_noise(&self) -> bool {
                self.0.commutative_noise()
            }
            fn drift<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]) {
                self.0.drift(t, x, p, out);
                if self.0.calculus() != $target {
                    with_scratch(out.len(), R::zero(), |c| {
                        ito_correction(&self.0, t, x, p, c);
                        for (o, c) in out.iter_mut().zip(c.iter()) {
                            *o += *c * $sign;
                        }
                    });
                }
            }
            fn diffusion<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]) {
                self.0.diffusion(t, x, p, out);
            }
            fn diffusion_batch(&self, t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
                self.0.diffusion_batch(t, x, lanes, p, out);
            }
        }
    };
}
converted!(StratonovichForm, Calculus::Stratonovich, -1.0);
converted!(ItoForm, Calculus::Ito, 1.0);
