//! One-step methods for SDEs: the [`SdeMethod`] trait and its implementations.
//!
//! | method | calculus | noise | strong order | Brownian input |
//! |---|---|---|---|---|
//! | [`EulerMaruyama`] | Itô | any | 0.5 (1.0 additive) | `ΔW` |
//! | [`Milstein`] | Itô or Stratonovich | scalar, diagonal, additive, commutative | 1.0 | `ΔW` |
//! | [`Heun`] | Stratonovich | any | 1.0 commutative, 0.5 general | `ΔW` |
//! | [`ReversibleHeun`] | Stratonovich | any | 0.5 (1.0 additive) | `ΔW` |
//! | [`Sra1`] | both (additive noise) | additive | 1.5 | `ΔW`, Lévy area `H` |
//!
//! A method advances a *state* vector, which is `x` itself except for reversible Heun
//! (which carries a second copy of the state and the last drift and diffusion). Steps are
//! generic over [`Real`], so the same code runs forward on `f64`, with dual numbers for
//! forward sensitivities, and on a tape for the per-step vector–Jacobian products of the
//! discrete adjoint.

pub mod euler_maruyama;
pub mod heun;
pub mod milstein;
pub mod reversible_heun;
pub mod sra1;

pub use euler_maruyama::EulerMaruyama;
pub use heun::Heun;
pub use milstein::Milstein;
pub use reversible_heun::ReversibleHeun;
pub use sra1::Sra1;

use super::noise::{Calculus, NoiseType};
use super::problem::Sde;
use crate::ad::{Real, Tangent};
use crate::error::{Error, Result};

/// One step: the interval `[t, t + h]` and the Brownian input over it (`m` entries each).
#[derive(Clone, Copy, Debug)]
pub struct Increment<'a> {
    /// Start of the step.
    pub t: f64,
    /// Size of the step.
    pub h: f64,
    /// `W(t + h) − W(t)` (`m` entries).
    pub dw: &'a [f64],
    /// The space-time Lévy area `H_{t,t+h}` (`m` entries), for methods that need it.
    pub area: Option<&'a [f64]>,
}

/// Scratch buffers of one solve, sized once for the problem (no allocation per step).
#[derive(Clone, Debug)]
pub struct Workspace<R> {
    pub(crate) f0: Vec<R>,
    pub(crate) f1: Vec<R>,
    pub(crate) g0: Vec<R>,
    pub(crate) g1: Vec<R>,
    pub(crate) x1: Vec<R>,
    /// Noise-sized `f64` scratch (combinations of increments).
    pub(crate) wa: Vec<f64>,
    pub(crate) wb: Vec<f64>,
    pub(crate) tx: Vec<Tangent<R>>,
    pub(crate) tg: Vec<Tangent<R>>,
    pub(crate) tp: Vec<Tangent<R>>,
}

impl<R: Real> Workspace<R> {
    /// Buffers for `sde`.
    pub fn new<S: Sde + ?Sized>(sde: &S) -> Self {
        let (d, m) = (sde.n_states(), sde.n_noise());
        let gl = sde.noise().diffusion_len(d, m);
        let z = R::zero();
        let tz = Tangent::constant(z);
        Self {
            f0: vec![z; d],
            f1: vec![z; d],
            g0: vec![z; gl],
            g1: vec![z; gl],
            x1: vec![z; d],
            wa: vec![0.0; m],
            wb: vec![0.0; m],
            tx: vec![tz; d],
            tg: vec![tz; gl],
            tp: vec![tz; sde.n_params()],
        }
    }
}

/// A one-step SDE method (see the [module docs](self)).
pub trait SdeMethod: Clone + Send + Sync + 'static {
    /// Name for messages (`"euler_maruyama"`).
    fn name(&self) -> &'static str;

    /// The strong order of convergence on the problems this method accepts (the lowest
    /// over the noise types it supports).
    fn strong_order(&self) -> f64;

    /// Checks that the method applies to `sde` (calculus and noise type).
    fn check<S: Sde>(&self, sde: &S) -> Result<()>;

    /// Whether steps need the space-time Lévy area.
    fn needs_levy_area(&self) -> bool {
        false
    }

    /// Length of the method's state for `d` states and `gl` stored diffusion entries.
    fn state_len(&self, d: usize, _gl: usize) -> usize {
        d
    }

    /// Writes the initial state for `x0` at `t0` (default: `x0` itself).
    fn init<S: Sde, R: Real>(&self, sde: &S, t0: f64, x0: &[R], p: &[R], state: &mut [R]) {
        let _ = (sde, t0, p);
        state[..x0.len()].copy_from_slice(x0);
    }

    /// One step over `[inc.t, inc.t + inc.h]`: `out` = the state at the end from `y` at
    /// the start. The first `d` entries of a state are `x`.
    fn step<S: Sde, R: Real>(
        &self,
        sde: &S,
        inc: &Increment<'_>,
        p: &[R],
        y: &[R],
        out: &mut [R],
        ws: &mut Workspace<R>,
    );

    /// The order `q` of the local error estimate of
    /// [`step_with_error`](SdeMethod::step_with_error) (the step-size controller scales steps
    /// by `err^{−1/q}`), or `None` if the method has no embedded estimate.
    fn error_order(&self) -> Option<f64> {
        None
    }

    /// A step as [`step`](SdeMethod::step) that also writes an estimate of its local error
    /// into `err` (`d` entries). Methods without an embedded estimate return
    /// [`Error::Unsupported`].
    // The arguments of `step` plus the error output, each with its own role.
    #[allow(clippy::too_many_arguments)]
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
        let _ = (sde, inc, p, y, out, err, ws);
        Err(Error::Unsupported {
            op: self.name(),
            reason: "this method has no embedded error estimate, so it cannot take adaptive \
                     steps; use Sra1 (additive noise) or fixed steps"
                .into(),
        })
    }

    /// Whether [`reverse`](SdeMethod::reverse) is available (algebraically reversible
    /// methods: [`ReversibleHeun`]).
    fn is_reversible(&self) -> bool {
        false
    }

    /// Reconstructs the state at `inc.t` from the state `next` at `inc.t + inc.h` and the
    /// same increment, exactly up to rounding. Only algebraically reversible methods
    /// implement it.
    fn reverse<S: Sde, R: Real>(
        &self,
        sde: &S,
        inc: &Increment<'_>,
        p: &[R],
        next: &[R],
        out: &mut [R],
        ws: &mut Workspace<R>,
    ) -> Result<()> {
        let _ = (sde, inc, p, next, out, ws);
        Err(Error::Unsupported {
            op: self.name(),
            reason: "this method is not algebraically reversible; the O(1)-memory reversible \
                     adjoint needs ReversibleHeun"
                .into(),
        })
    }

    /// One step over `[t, t + h]` of a block of `lanes` paths in structure-of-arrays
    /// layout, in place: entry `e` of lane `l`'s state at `y[e * lanes + l]`, noise `j` of
    /// lane `l` at `dw[j * lanes + l]` (and `area` likewise). The default gathers each lane
    /// and calls [`step`](SdeMethod::step); methods override it with loops over lanes that
    /// vectorise.
    // The ensembles' hot loop calls this once per step and block: the step's scalars and
    // slices are passed as plain arguments (an `Increment` here measured +0.4 % instructions
    // on the ebm2box ensemble, in the release profile).
    #[allow(clippy::too_many_arguments)]
    fn step_batch<S: Sde>(
        &self,
        sde: &S,
        t: f64,
        h: f64,
        dw: &[f64],
        area: Option<&[f64]>,
        p: &[f64],
        y: &mut [f64],
        bw: &mut BatchWorkspace,
    ) {
        let lanes = bw.lanes;
        let (sl, m) = (bw.ys.len(), bw.dw.len());
        for l in 0..lanes {
            for e in 0..sl {
                bw.ys[e] = y[e * lanes + l];
            }
            for j in 0..m {
                bw.dw[j] = dw[j * lanes + l];
                if let Some(a) = area {
                    bw.area[j] = a[j * lanes + l];
                }
            }
            let inc = Increment {
                t,
                h,
                dw: &bw.dw,
                area: area.is_some().then_some(&bw.area[..]),
            };
            self.step(sde, &inc, p, &bw.ys, &mut bw.outs, &mut bw.ws);
            for e in 0..sl {
                y[e * lanes + l] = bw.outs[e];
            }
        }
    }
}

/// The Euler–Maruyama update from `y` at `inc.t`, the first stage of several methods:
/// evaluates `f0 = f(t, y)` and `g0 = g(t, y)` and writes `out = y + f0 h + g0 ΔW` (the
/// first `d` entries).
#[inline(always)]
pub(crate) fn euler_update<S: Sde, R: Real>(
    sde: &S,
    inc: &Increment<'_>,
    p: &[R],
    y: &[R],
    (f0, g0): (&mut [R], &mut [R]),
    out: &mut [R],
) {
    let (d, m) = (sde.n_states(), sde.n_noise());
    let tr = R::from_f64(inc.t);
    sde.drift(tr, y, p, f0);
    sde.diffusion(tr, y, p, g0);
    for ((o, &yi), &fi) in out[..d].iter_mut().zip(y).zip(f0.iter()) {
        *o = yi + fi * inc.h;
    }
    sde.noise().apply(d, m, g0, inc.dw, out);
}

/// Scratch buffers for [`SdeMethod::step_batch`] on blocks of `lanes` paths.
#[derive(Clone, Debug)]
pub struct BatchWorkspace {
    pub(crate) lanes: usize,
    pub(crate) f0: Vec<f64>,
    pub(crate) f1: Vec<f64>,
    pub(crate) g0: Vec<f64>,
    pub(crate) g1: Vec<f64>,
    pub(crate) x1: Vec<f64>,
    pub(crate) ys: Vec<f64>,
    pub(crate) outs: Vec<f64>,
    pub(crate) dw: Vec<f64>,
    pub(crate) area: Vec<f64>,
    pub(crate) ws: Workspace<f64>,
}

impl BatchWorkspace {
    /// Buffers for `lanes` paths of `sde` with `method`.
    pub fn new<S: Sde, M: SdeMethod>(sde: &S, method: &M, lanes: usize) -> Self {
        let (d, m) = (sde.n_states(), sde.n_noise());
        let gl = sde.noise().diffusion_len(d, m);
        let sl = method.state_len(d, gl);
        Self {
            lanes,
            f0: vec![0.0; d * lanes],
            f1: vec![0.0; d * lanes],
            g0: vec![0.0; gl * lanes],
            g1: vec![0.0; gl * lanes],
            x1: vec![0.0; d * lanes],
            ys: vec![0.0; sl],
            outs: vec![0.0; sl],
            dw: vec![0.0; m],
            area: vec![0.0; m],
            ws: Workspace::new(sde),
        }
    }

    /// The diffusion of all lanes at `x` into `g` (`gl × lanes`), or, for additive noise,
    /// once into `g[..gl]`; returns whether it is shared by all lanes.
    pub(crate) fn diffusion_into<S: Sde>(
        sde: &S,
        t: f64,
        x: &[f64],
        lanes: usize,
        p: &[f64],
        xs: &mut [f64],
        g: &mut [f64],
    ) -> bool {
        if sde.noise() == NoiseType::Additive {
            let d = sde.n_states();
            for i in 0..d {
                xs[i] = x[i * lanes];
            }
            let gl = sde.noise().diffusion_len(d, sde.n_noise());
            sde.diffusion(t, &xs[..d], p, &mut g[..gl]);
            true
        } else {
            sde.diffusion_batch(t, x, lanes, p, g);
            false
        }
    }
}

/// The error for a method applied to an SDE of the wrong calculus.
pub(crate) fn calculus_error(method: &'static str, wants: Calculus) -> Error {
    let (other, fix) = match wants {
        Calculus::Ito => (
            "Stratonovich",
            "wrap the SDE in `ItoForm`, or use Heun, reversible Heun or Milstein",
        ),
        Calculus::Stratonovich => (
            "Itô",
            "wrap the SDE in `StratonovichForm`, or use Euler–Maruyama or Milstein",
        ),
    };
    Error::invalid_option(
        method,
        "sde.calculus()",
        format!("{other} (with noise that is not additive)"),
        format!("{wants:?}: this method converges to the {wants:?} solution; {fix}"),
    )
}

/// Checks that an SDE is in calculus `wants`, or has additive noise (where both agree).
pub(crate) fn require_calculus<S: Sde>(
    method: &'static str,
    sde: &S,
    wants: Calculus,
) -> Result<()> {
    if sde.calculus() == wants || sde.noise() == NoiseType::Additive {
        Ok(())
    } else {
        Err(calculus_error(method, wants))
    }
}
