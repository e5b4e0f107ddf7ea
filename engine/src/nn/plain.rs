//! An [`Mlp`] evaluated and differentiated without a tape: a forward pass over any
//! [`Real`] on stack buffers, and the `f64` pullback with a reusable scratch buffer.
//!
//! The pullback is the layer block's ([`DenseBlock`](super::DenseBlock)): a forward pass
//! keeps each layer's input `a` and `σ'(z)`, then, from the output back,
//! `ḡ = ā ⊙ σ'(z)`, `W̄ += ḡ aᵀ`, `b̄ += ḡ`, `ā_prev = Wᵀ ḡ` (reverse-mode
//! differentiation of `a_{l+1} = σ(W_l a_l + b_l)`; e.g. Baydin et al. 2018, JMLR 18(153),
//! §3.1). It is what a hand-written vector–Jacobian product of a right-hand side with a
//! network inside calls ([`OdeRhs::vjp`](crate::ode::OdeRhs::vjp)), once per stage of an
//! adjoint sweep, so nothing in it allocates once `scratch` has grown.

use crate::ad::Real;

use super::dense::affine;
use super::mlp::Mlp;

/// Widest layer that [`Mlp::forward_into`] keeps on the stack.
const STACK: usize = 64;

impl Mlp {
    /// The widest layer, input and output included.
    pub fn max_width(&self) -> usize {
        self.sizes().iter().copied().max().unwrap_or(0)
    }

    /// `out = net(w, x)` over any [`Real`] (each layer one block on a `Tape<f64>`, as
    /// [`Mlp::forward`]), without allocating when no layer is wider than 64; bitwise the
    /// values of [`Mlp::forward`]. Lengths must match ([`Mlp::check`]; `out`: `n_out`).
    pub fn forward_into<R: Real>(&self, w: &[R], x: &[R], out: &mut [R]) {
        if self.max_width() <= STACK {
            let (mut a, mut b) = ([R::zero(); STACK], [R::zero(); STACK]);
            self.run_into(w, x, out, &mut a, &mut b);
        } else {
            let m = self.max_width();
            let (mut a, mut b) = (vec![R::zero(); m], vec![R::zero(); m]);
            self.run_into(w, x, out, &mut a, &mut b);
        }
    }

    /// `out = net(w, x)` in `f64` with `scratch` as workspace (nothing allocated once it
    /// has grown); bitwise [`Mlp::forward`] on `f64`.
    pub fn forward_f64(&self, w: &[f64], x: &[f64], out: &mut [f64], scratch: &mut Vec<f64>) {
        let m = self.max_width();
        scratch.clear();
        scratch.resize(2 * m, 0.0);
        let (a, b) = scratch.split_at_mut(m);
        self.run_into(w, x, out, a, b);
    }

    fn run_into<'b, R: Real>(
        &self,
        w: &[R],
        x: &[R],
        out: &mut [R],
        mut a: &'b mut [R],
        mut b: &'b mut [R],
    ) {
        let n_layers = self.sizes().len() - 1;
        a[..x.len()].copy_from_slice(x);
        let mut o = 0;
        for (l, layer) in self.layers().enumerate() {
            let np = layer.n_params();
            let wl = &w[o..o + np];
            if l + 1 == n_layers {
                layer.forward(wl, &a[..layer.n_in], out);
            } else {
                layer.forward(wl, &a[..layer.n_in], &mut b[..layer.n_out]);
                std::mem::swap(&mut a, &mut b);
            }
            o += np;
        }
    }

    /// The pullback of the network at `(w, x)` in plain `f64`: adds `(∂net/∂x)ᵀ ȳ` into
    /// `gx` (skipped when `gx` is empty) and `(∂net/∂w)ᵀ ȳ` into `gw` (skipped when
    /// empty), with `ȳ = ybar`. One forward pass keeping each layer's input and `σ'(z)`
    /// in `scratch`, then one backward sweep (module doc); nothing is allocated once
    /// `scratch` has grown. Agrees with the gradient through [`Mlp::forward`] on a tape to
    /// rounding. Lengths must match ([`Mlp::check`]; `ybar`: `n_out`).
    pub fn vjp_f64(
        &self,
        w: &[f64],
        x: &[f64],
        ybar: &[f64],
        gx: &mut [f64],
        gw: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        let sizes = self.sizes();
        let n_layers = sizes.len() - 1;
        let m = self.max_width();
        // Per layer: its input (n_in) then σ'(z) (n_out); then two adjoint buffers.
        let tape_len: usize = sizes.windows(2).map(|s| s[0] + s[1]).sum();
        scratch.clear();
        scratch.resize(tape_len + 2 * m, 0.0);
        let (rec, adj) = scratch.split_at_mut(tape_len);
        rec[..sizes[0]].copy_from_slice(x);
        // Forward, keeping inputs and derivatives.
        let (mut so, mut po) = (0, 0);
        for (l, layer) in self.layers().enumerate() {
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            let (wl, bl) = w[po..po + layer.n_params()].split_at(n_in * n_out);
            let (head, tail) = rec.split_at_mut(so + n_in + n_out);
            let (a, d) = head[so..].split_at_mut(n_in);
            let last = l + 1 == n_layers;
            for j in 0..n_out {
                let z = affine(&wl[j * n_in..(j + 1) * n_in], a, bl[j]);
                let (v, dv) = layer.act.value_and_derivative(z);
                d[j] = dv;
                if !last {
                    tail[j] = v;
                }
            }
            so += n_in + n_out;
            po += layer.n_params();
        }
        // Backward: ḡ = ȳ ⊙ σ'(z) of the last layer, then layer by layer.
        let (mut g, mut h) = adj.split_at_mut(m);
        let n_last = sizes[n_layers];
        let d_last = &rec[so - n_last..so];
        for j in 0..n_last {
            g[j] = ybar[j] * d_last[j];
        }
        for l in (0..n_layers).rev() {
            let (n_in, n_out) = (sizes[l], sizes[l + 1]);
            so -= n_in + n_out;
            po -= n_in * n_out + n_out;
            let a = &rec[so..so + n_in];
            let wl = &w[po..po + n_in * n_out];
            if !gw.is_empty() {
                let (gwl, gbl) = gw[po..po + n_in * n_out + n_out].split_at_mut(n_in * n_out);
                for j in 0..n_out {
                    let gj = g[j];
                    if gj != 0.0 {
                        for (t, &ai) in gwl[j * n_in..(j + 1) * n_in].iter_mut().zip(a) {
                            *t += gj * ai;
                        }
                    }
                    gbl[j] += gj;
                }
            }
            if l == 0 {
                if !gx.is_empty() {
                    wt_times(wl, &g[..n_out], &mut gx[..n_in]);
                }
                break;
            }
            let hl = &mut h[..n_in];
            hl.fill(0.0);
            wt_times(wl, &g[..n_out], hl);
            // σ'(z) of the previous layer sits just before this layer's input.
            let d_prev = &rec[so - n_in..so];
            for (v, &dv) in hl.iter_mut().zip(d_prev) {
                *v *= dv;
            }
            std::mem::swap(&mut g, &mut h);
        }
    }
}

/// `out += Wᵀ g` for a row-major `W` (`g.len()` rows of `out.len()` columns), row by row
/// as [`DenseBlock`](super::DenseBlock)'s pullback.
#[inline]
fn wt_times(w: &[f64], g: &[f64], out: &mut [f64]) {
    let n_in = out.len();
    for (j, &gj) in g.iter().enumerate() {
        if gj != 0.0 {
            for (o, &wji) in out.iter_mut().zip(&w[j * n_in..(j + 1) * n_in]) {
                *o += wji * gj;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::Tape;
    use crate::nn::{Activation, Init};

    #[test]
    fn plain_passes_match_the_tape() {
        for act in Activation::ALL {
            let net = Mlp::new(vec![3, 7, 5, 2])
                .unwrap()
                .with_activations(act, Activation::Softplus);
            let w = net.init_seeded(Init::GlorotNormal, 3);
            let x = [0.4, -1.1, 0.7];
            let mut scratch = Vec::new();
            let mut y = [0.0; 2];
            net.forward_f64(&w, &x, &mut y, &mut scratch);
            let mut y2 = [0.0; 2];
            net.forward_into(&w, &x, &mut y2);
            assert_eq!(net.forward(&w, &x), y.to_vec());
            assert_eq!(y, y2);
            let ybar = [0.3, -0.8];
            let tape = Tape::new();
            let (wv, xv) = (tape.vars(&w), tape.vars(&x));
            let yv = net.forward(&wv, &xv);
            let g = tape.gradient(&(yv[0] * ybar[0] + yv[1] * ybar[1])).unwrap();
            let (mut gx, mut gw) = ([1.0; 3], vec![1.0; w.len()]);
            net.vjp_f64(&w, &x, &ybar, &mut gx, &mut gw, &mut scratch);
            for (v, a) in xv.iter().chain(&wv).zip(gx.iter().chain(&gw)) {
                let e = g.wrt(v) + 1.0;
                assert!(
                    (a - e).abs() <= 1e-13 * (1.0 + e.abs()),
                    "{act:?}: {a} vs {e}"
                );
            }
        }
    }
}
