//! Per-step vector–Jacobian products on a small local tape.
//!
//! Each call records one step (or the initial map, or one drift–diffusion evaluation) on a
//! tape that is cleared and re-used, seeds the outputs with the incoming adjoint, and reads
//! the adjoints of the inputs. Nothing of the caller's tape is touched.

use crate::ad::{Adjoints, Real, Tape, Var};
use crate::error::Result;
use crate::sde::methods::{Increment, SdeMethod, Workspace};
use crate::sde::problem::Sde;

/// A reusable local tape.
pub(crate) struct LocalVjp {
    tape: Tape,
    adj: Adjoints,
}

impl LocalVjp {
    pub fn new() -> Self {
        Self {
            tape: Tape::with_capacity(4096),
            adj: Adjoints::default(),
        }
    }

    /// `lam_y = (∂ step / ∂y)ᵀ lam`, `lam_p += (∂ step / ∂p)ᵀ lam` at state `y`.
    #[allow(clippy::too_many_arguments)]
    pub fn step<S: Sde, M: SdeMethod>(
        &mut self,
        sde: &S,
        method: &M,
        t: f64,
        h: f64,
        inc: &Increment<'_>,
        p: &[f64],
        y: &[f64],
        lam: &[f64],
        lam_y: &mut [f64],
        lam_p: &mut [f64],
    ) -> Result<()> {
        self.tape.clear();
        let tape = &self.tape;
        let yv = tape.var_vec(y);
        let pv = tape.var_vec(p);
        let ys = yv.vars();
        let ps = pv.vars();
        let mut out = vec![Var::constant(0.0); y.len()];
        let mut ws = Workspace::<Var<'_>>::new(sde);
        method.step(sde, t, h, inc, &ps, &ys, &mut out, &mut ws);
        let seeds = seeds(&out, lam);
        tape.reverse_into(&seeds, &mut self.adj)?;
        lam_y.copy_from_slice(&self.adj.wrt_vec(&yv));
        for (a, b) in lam_p.iter_mut().zip(self.adj.wrt_vec(&pv)) {
            *a += b;
        }
        Ok(())
    }

    /// The adjoint of the initial map `(x₀, p) ↦ state`: returns `∂/∂x₀`, adds `∂/∂p`.
    #[allow(clippy::too_many_arguments)]
    pub fn init<S: Sde, M: SdeMethod>(
        &mut self,
        sde: &S,
        method: &M,
        t0: f64,
        x0: &[f64],
        p: &[f64],
        lam: &[f64],
        lam_p: &mut [f64],
    ) -> Result<Vec<f64>> {
        self.tape.clear();
        let tape = &self.tape;
        let xv = tape.var_vec(x0);
        let pv = tape.var_vec(p);
        let xs = xv.vars();
        let ps = pv.vars();
        let mut out = vec![Var::constant(0.0); lam.len()];
        method.init(sde, t0, &xs, &ps, &mut out);
        let seeds = seeds(&out, lam);
        tape.reverse_into(&seeds, &mut self.adj)?;
        for (a, b) in lam_p.iter_mut().zip(self.adj.wrt_vec(&pv)) {
            *a += b;
        }
        Ok(self.adj.wrt_vec(&xv))
    }

    /// `φ = f(t, x) h + g(t, x)·ΔW` at `x`, and `aᵀ ∂φ/∂x`, `aᵀ ∂φ/∂p` (the right-hand side
    /// of one Heun stage of the stochastic adjoint).
    #[allow(clippy::too_many_arguments)]
    pub fn phi<S: Sde>(
        &mut self,
        sde: &S,
        t: f64,
        h: f64,
        dw: &[f64],
        p: &[f64],
        x: &[f64],
        a: &[f64],
        phi: &mut [f64],
        a_x: &mut [f64],
        a_p: &mut [f64],
    ) -> Result<()> {
        self.tape.clear();
        let tape = &self.tape;
        let xv = tape.var_vec(x);
        let pv = tape.var_vec(p);
        let xs = xv.vars();
        let ps = pv.vars();
        let (d, m) = (sde.n_states(), sde.n_noise());
        let gl = sde.noise().diffusion_len(d, m);
        let mut f = vec![Var::constant(0.0); d];
        let mut g = vec![Var::constant(0.0); gl];
        sde.drift(Var::constant(t), &xs, &ps, &mut f);
        sde.diffusion(Var::constant(t), &xs, &ps, &mut g);
        for fi in f.iter_mut() {
            *fi *= h;
        }
        sde.noise().apply(d, m, &g, dw, &mut f);
        for (o, fi) in phi.iter_mut().zip(&f) {
            *o = fi.value();
        }
        let seeds = seeds(&f, a);
        tape.reverse_into(&seeds, &mut self.adj)?;
        a_x.copy_from_slice(&self.adj.wrt_vec(&xv));
        a_p.copy_from_slice(&self.adj.wrt_vec(&pv));
        Ok(())
    }
}

fn seeds(out: &[Var<'_>], lam: &[f64]) -> Vec<(u32, f64)> {
    out.iter()
        .zip(lam)
        .filter_map(|(o, &l)| match o.slot_if_var() {
            Some(s) if l != 0.0 => Some((s, l)),
            _ => None,
        })
        .collect()
}
