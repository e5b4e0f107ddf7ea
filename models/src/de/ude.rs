//! The hybrid right-hand side of a universal differential equation,
//!
//! $$y' = f(t, y; θ_{phys}) + S\, g_w(D y),$$
//!
//! with `f` the known physics (an [`OdeRhs`] with fixed parameters), `g_w` a network
//! ([`Mlp`]) whose outputs are added to the state components `rows` (`S` places them) and
//! `D = diag(input_scale)` a fixed input scaling (Rackauckas et al. 2020,
//! arXiv:2001.04385, eq. (2)). The ODE parameters are the network's weights, so every
//! solver and sensitivity method of `engine::ode` trains it; on a tape each layer is one
//! block ([`mechml_engine::nn`]). The adjoints' stage products take the hand-written
//! [`OdeRhs::vjp`] (the network's `f64` pullback, no tape), and `rhs` allocates nothing
//! for small systems.

use mechml_engine::ad::Real;
use mechml_engine::nn::Mlp;
use mechml_engine::ode::{OdeRhs, VjpAt, VjpOut, VjpWork};
use mechml_engine::{Error, Result};

/// Known physics plus a learned term (see the module doc).
#[derive(Clone, Debug)]
pub struct UdeRhs<F> {
    physics: F,
    physics_params: Vec<f64>,
    net: Mlp,
    rows: Vec<usize>,
    input_scale: Vec<f64>,
}

impl<F: OdeRhs> UdeRhs<F> {
    /// A UDE: `physics` with its (fixed) parameters, a network taking the whole state and
    /// returning one value per entry of `rows`; inputs unscaled.
    ///
    /// # Errors
    /// Lengths that do not match (`physics_params` vs `physics.n_params()`, the network's
    /// input vs the state, its output vs `rows`), a row out of range or repeated, or a
    /// non-finite parameter.
    pub fn new(physics: F, physics_params: Vec<f64>, net: Mlp, rows: Vec<usize>) -> Result<Self> {
        let n = physics.n_states();
        check_len("physics_params", physics_params.len(), physics.n_params())?;
        check_len("net input", net.n_in(), n)?;
        check_len("rows", rows.len(), net.n_out())?;
        for (k, &r) in rows.iter().enumerate() {
            if r >= n || rows[..k].contains(&r) {
                return Err(Error::invalid_option(
                    "de::UdeRhs",
                    format!("rows[{k}]"),
                    r.to_string(),
                    format!("distinct state indices below {n}"),
                ));
            }
        }
        if let Some(v) = physics_params.iter().find(|v| !v.is_finite()) {
            return Err(Error::invalid_option(
                "de::UdeRhs",
                "physics_params",
                v.to_string(),
                "finite numbers",
            ));
        }
        Ok(Self {
            physics,
            physics_params,
            net,
            rows,
            input_scale: vec![1.0; n],
        })
    }

    /// The same UDE with the network reading `input_scale ⊙ y` (one positive finite
    /// factor per state).
    ///
    /// # Errors
    /// A wrong length or a factor that is not positive and finite.
    pub fn with_input_scale(mut self, input_scale: Vec<f64>) -> Result<Self> {
        check_len("input_scale", input_scale.len(), self.physics.n_states())?;
        if let Some(v) = input_scale.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::invalid_option(
                "de::UdeRhs",
                "input_scale",
                v.to_string(),
                "positive finite factors",
            ));
        }
        self.input_scale = input_scale;
        Ok(self)
    }

    /// The network.
    pub fn net(&self) -> &Mlp {
        &self.net
    }

    /// The state components that receive the network's outputs.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// The learned term `g_w(D y)` alone, in `f64`.
    pub fn learned_term(&self, w: &[f64], y: &[f64]) -> Vec<f64> {
        let x: Vec<f64> = y
            .iter()
            .zip(&self.input_scale)
            .map(|(a, s)| a * s)
            .collect();
        self.net.forward(w, &x)
    }
}

fn check_len(name: &str, found: usize, expected: usize) -> Result<()> {
    if found != expected {
        return Err(Error::invalid_option(
            "de::UdeRhs",
            name,
            found.to_string(),
            format!("length {expected}"),
        ));
    }
    Ok(())
}

/// Entries kept on the stack by [`UdeRhs`]'s evaluations (longer vectors are allocated).
const STACK: usize = 32;

/// Runs `f` on a zeroed buffer of `len` entries: on the stack up to [`STACK`] entries.
#[inline]
fn with_buf<R: Real, T>(len: usize, f: impl FnOnce(&mut [R]) -> T) -> T {
    if len <= STACK {
        f(&mut [R::zero(); STACK][..len])
    } else {
        f(&mut vec![R::zero(); len])
    }
}

impl<F: OdeRhs> OdeRhs for UdeRhs<F> {
    fn n_states(&self) -> usize {
        self.physics.n_states()
    }
    fn n_params(&self) -> usize {
        self.net.n_params()
    }
    fn rhs<R: Real>(&self, t: R, y: &[R], p: &[R], dy: &mut [R]) {
        with_buf(self.physics_params.len(), |pp: &mut [R]| {
            for (a, &v) in pp.iter_mut().zip(&self.physics_params) {
                *a = R::from_f64(v);
            }
            self.physics.rhs(t, y, pp, dy);
        });
        with_buf(y.len() + self.rows.len(), |buf: &mut [R]| {
            let (x, g) = buf.split_at_mut(y.len());
            for ((xi, &a), &s) in x.iter_mut().zip(y).zip(&self.input_scale) {
                *xi = a * s;
            }
            self.net.forward_into(p, x, g);
            for (&r, &gk) in self.rows.iter().zip(g.iter()) {
                dy[r] += gk;
            }
        });
    }

    /// By hand: the physics part by dual numbers ([`VjpWork::state_vjp_by_duals`], its
    /// parameters fixed), the network part by its `f64` pullback ([`Mlp::vjp_f64`]):
    /// with `ḡ_k = w_{rows_k}`, `gy += D (∂g/∂x)ᵀ ḡ` and `gp += (∂g/∂w)ᵀ ḡ`. No tape,
    /// nothing allocated once `work` has grown (while `2n` plus the network's outputs is
    /// at most 32).
    fn vjp(&self, at: &VjpAt<'_>, out: &mut VjpOut<'_>, work: &mut VjpWork) -> bool {
        let physics_at = VjpAt {
            p: &self.physics_params,
            ..*at
        };
        work.state_vjp_by_duals(&self.physics, &physics_at, out.gy);
        let (n, n_out) = (at.y.len(), self.rows.len());
        with_buf(2 * n + n_out, |buf: &mut [f64]| {
            let (x, rest) = buf.split_at_mut(n);
            let (xbar, ybar) = rest.split_at_mut(n);
            for ((xi, &a), &s) in x.iter_mut().zip(at.y).zip(&self.input_scale) {
                *xi = a * s;
            }
            for (yb, &r) in ybar.iter_mut().zip(&self.rows) {
                *yb = at.w[r];
            }
            self.net.vjp_f64(at.p, x, ybar, xbar, out.gp, &mut work.buf);
            for ((g, &xb), &s) in out.gy.iter_mut().zip(xbar.iter()).zip(&self.input_scale) {
                *g += xb * s;
            }
        });
        true
    }
}
