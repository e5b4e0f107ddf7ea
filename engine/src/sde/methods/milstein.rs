//! Milstein's method (Milstein 1974; Kloeden & Platen 1992, §10.3, eq. (10.3.3)):
//! ```text
//! x_{n+1} = x_n + f h + g ΔW + ½ Σⱼ Σₖ (Lʲ gᵏ) (ΔWⱼ ΔWₖ − δⱼₖ h)     (Itô)
//! x_{n+1} = x_n + f h + g ΔW + ½ Σⱼ Σₖ (Lʲ gᵏ) ΔWⱼ ΔWₖ               (Stratonovich)
//! ```
//! with `Lʲ = Σᵢ gᵢⱼ ∂ᵢ`, everything at `(t_n, x_n)`. For commutative noise
//! (`Lʲ gᵏ = Lᵏ gʲ`: scalar, diagonal, additive, or declared by
//! [`Sde::commutative_noise`]) the double integrals reduce to products of increments and the
//! method has strong order 1.0. `Lʲ gᵏ` is computed exactly with [`Tangent`] numbers: one
//! directional derivative of `g` for scalar and diagonal noise, `m` for general commutative
//! noise, none for additive noise (where the method is Euler–Maruyama).
//!
//! [`Tangent`]: crate::ad::Tangent

use super::{Increment, SdeMethod, Workspace, euler_update};
use crate::ad::{Real, Tangent};
use crate::error::{Error, Result};
use crate::sde::noise::{Calculus, NoiseType};
use crate::sde::problem::Sde;

/// Milstein's method in the SDE's own calculus (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Milstein;

impl SdeMethod for Milstein {
    fn name(&self) -> &'static str {
        "milstein"
    }
    fn strong_order(&self) -> f64 {
        1.0
    }
    fn check<S: Sde>(&self, sde: &S) -> Result<()> {
        if sde.commutative_noise() {
            Ok(())
        } else {
            Err(Error::Unsupported {
                op: self.name(),
                reason: "Milstein's method for non-commutative general noise needs Lévy \
                         areas between noise components; use Euler–Maruyama or Heun, or \
                         declare `commutative_noise` if Lʲgᵏ = Lᵏgʲ holds"
                    .into(),
            })
        }
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
        let (t, h) = (inc.t, inc.h);
        let ito = if sde.calculus() == Calculus::Ito {
            h
        } else {
            0.0
        };
        let dw = inc.dw;
        let tr = R::from_f64(t);
        euler_update(sde, inc, p, y, (&mut ws.f0, &mut ws.g0), out);
        if noise == NoiseType::Additive {
            return;
        }
        for (tp, &pv) in ws.tp.iter_mut().zip(p) {
            *tp = Tangent::constant(pv);
        }
        let columns = match noise {
            NoiseType::Scalar | NoiseType::Diagonal => 1,
            _ => m,
        };
        for j in 0..columns {
            let dir = match noise {
                NoiseType::Scalar | NoiseType::Diagonal => &ws.g0[..d],
                _ => &ws.g0[j * d..(j + 1) * d],
            };
            for ((tx, &yi), &vi) in ws.tx.iter_mut().zip(y).zip(dir) {
                *tx = Tangent::new(yi, vi);
            }
            sde.diffusion(Tangent::constant(tr), &ws.tx, &ws.tp, &mut ws.tg);
            match noise {
                NoiseType::Scalar => {
                    let c = (dw[0] * dw[0] - ito) * 0.5;
                    for (o, lg) in out[..d].iter_mut().zip(&ws.tg) {
                        *o += lg.d * c;
                    }
                }
                NoiseType::Diagonal => {
                    for ((o, lg), &w) in out[..d].iter_mut().zip(&ws.tg).zip(dw) {
                        *o += lg.d * ((w * w - ito) * 0.5);
                    }
                }
                _ => {
                    for k in 0..m {
                        let c = (dw[j] * dw[k] - if j == k { ito } else { 0.0 }) * 0.5;
                        for (o, lg) in out[..d].iter_mut().zip(&ws.tg[k * d..(k + 1) * d]) {
                            *o += lg.d * c;
                        }
                    }
                }
            }
        }
    }
}
