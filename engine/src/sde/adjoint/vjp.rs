//! Per-step vector–Jacobian products on a small local tape.
//!
//! Each call records one step (or the initial map, or one drift–diffusion evaluation) on a
//! tape that is cleared and re-used, seeds the outputs with the incoming adjoint, and reads
//! the adjoints of the inputs. Nothing of the caller's tape is touched.

use crate::ad::{Adjoints, Real, Tape, Var};
use crate::error::Result;
use crate::sde::methods::{Increment, SdeMethod, Workspace};
use crate::sde::problem::Sde;

/// A reusable local tape for the VJPs of one path: the SDE, the method and the parameters
/// stay fixed, each call differentiates one step.
pub(crate) struct LocalVjp<'a, S, M> {
    tape: Tape,
    adj: Adjoints,
    sde: &'a S,
    method: &'a M,
    p: &'a [f64],
}

/// The outputs of [`LocalVjp::phi`]: `φ` and the adjoints `aᵀ ∂φ/∂x`, `aᵀ ∂φ/∂p`.
pub(crate) struct PhiVjp {
    pub phi: Vec<f64>,
    pub a_x: Vec<f64>,
    pub a_p: Vec<f64>,
}

impl PhiVjp {
    pub fn new(d: usize, np: usize) -> Self {
        Self {
            phi: vec![0.0; d],
            a_x: vec![0.0; d],
            a_p: vec![0.0; np],
        }
    }
}

impl<'a, S: Sde, M: SdeMethod> LocalVjp<'a, S, M> {
    pub fn new(sde: &'a S, method: &'a M, p: &'a [f64]) -> Self {
        Self {
            tape: Tape::with_capacity(4096),
            adj: Adjoints::default(),
            sde,
            method,
            p,
        }
    }

    /// `lam_y = (∂ step / ∂y)ᵀ lam`, `lam_p += (∂ step / ∂p)ᵀ lam` at state `y`.
    pub fn step(
        &mut self,
        inc: &Increment<'_>,
        y: &[f64],
        lam: &[f64],
        lam_y: &mut [f64],
        lam_p: &mut [f64],
    ) -> Result<()> {
        self.tape.clear();
        let tape = &self.tape;
        let yv = tape.var_vec(y);
        let pv = tape.var_vec(self.p);
        let ys = yv.vars();
        let ps = pv.vars();
        let mut out = vec![Var::constant(0.0); y.len()];
        let mut ws = Workspace::<Var<'_>>::new(self.sde);
        self.method.step(self.sde, inc, &ps, &ys, &mut out, &mut ws);
        let seeds = seeds(&out, lam);
        tape.reverse_into(&seeds, &mut self.adj)?;
        lam_y.copy_from_slice(&self.adj.wrt_vec(&yv));
        for (a, b) in lam_p.iter_mut().zip(self.adj.wrt_vec(&pv)) {
            *a += b;
        }
        Ok(())
    }

    /// The adjoint of the initial map `(x₀, p) ↦ state` at `t0`: returns `∂/∂x₀`, adds
    /// `∂/∂p` into `lam_p`.
    pub fn init(
        &mut self,
        t0: f64,
        x0: &[f64],
        lam: &[f64],
        lam_p: &mut [f64],
    ) -> Result<Vec<f64>> {
        self.tape.clear();
        let tape = &self.tape;
        let xv = tape.var_vec(x0);
        let pv = tape.var_vec(self.p);
        let xs = xv.vars();
        let ps = pv.vars();
        let mut out = vec![Var::constant(0.0); lam.len()];
        self.method.init(self.sde, t0, &xs, &ps, &mut out);
        let seeds = seeds(&out, lam);
        tape.reverse_into(&seeds, &mut self.adj)?;
        for (a, b) in lam_p.iter_mut().zip(self.adj.wrt_vec(&pv)) {
            *a += b;
        }
        Ok(self.adj.wrt_vec(&xv))
    }

    /// `φ = f(t, x) h + g(t, x)·ΔW` at `(t, x)`, and `aᵀ ∂φ/∂x`, `aᵀ ∂φ/∂p` (the
    /// right-hand side of one Heun stage of the stochastic adjoint) into `out`.
    pub fn phi(
        &mut self,
        t: f64,
        h: f64,
        dw: &[f64],
        x: &[f64],
        a: &[f64],
        out: &mut PhiVjp,
    ) -> Result<()> {
        self.tape.clear();
        let tape = &self.tape;
        let xv = tape.var_vec(x);
        let pv = tape.var_vec(self.p);
        let xs = xv.vars();
        let ps = pv.vars();
        let sde = self.sde;
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
        for (o, fi) in out.phi.iter_mut().zip(&f) {
            *o = fi.value();
        }
        let seeds = seeds(&f, a);
        tape.reverse_into(&seeds, &mut self.adj)?;
        out.a_x.copy_from_slice(&self.adj.wrt_vec(&xv));
        out.a_p.copy_from_slice(&self.adj.wrt_vec(&pv));
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
