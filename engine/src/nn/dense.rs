//! A dense layer `a = σ(W x + b)` as a fused operation: scalar arithmetic over any
//! [`Real`], one block with a hand-written pullback on a `Tape<f64>`.

use crate::ad::{BlockOp, FusedOp, InputAdjoints, InputTangents, Real};
use crate::error::{Error, Result};

use super::activation::Activation;

/// A fully connected layer `n_in → n_out` with activation `act`. Its parameters are
/// `W` (row-major, `n_out × n_in`) followed by `b` (`n_out`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense {
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
    /// Activation.
    pub act: Activation,
}

impl Dense {
    /// A layer, checked (both widths nonzero).
    pub fn new(n_in: usize, n_out: usize, act: Activation) -> Result<Self> {
        if n_in == 0 || n_out == 0 {
            return Err(Error::invalid_option(
                "nn::Dense",
                "(n_in, n_out)",
                format!("({n_in}, {n_out})"),
                "both widths at least 1",
            ));
        }
        Ok(Self { n_in, n_out, act })
    }

    /// Number of parameters `n_out·n_in + n_out`.
    pub fn n_params(&self) -> usize {
        self.n_out * self.n_in + self.n_out
    }

    /// `out = σ(W x + b)` with `params = [W (row-major), b]`: one block on a `Tape<f64>`.
    /// Slices must have lengths `n_params`, `n_in`, `n_out` (checked in debug builds; use
    /// [`Mlp::check`](super::Mlp::check) on user input).
    #[inline]
    pub fn forward<R: Real>(&self, params: &[R], x: &[R], out: &mut [R]) {
        debug_assert_eq!(params.len(), self.n_params());
        debug_assert_eq!(x.len(), self.n_in);
        R::fused(&DenseOp(*self), &[x, params], out);
    }

    /// The same layer by scalar operations only (the reference the fused block is tested
    /// against).
    pub fn forward_unfused<R: Real>(&self, params: &[R], x: &[R], out: &mut [R]) {
        DenseOp(*self).eval(&[x, params], out);
    }
}

/// `b + Σᵢ rowᵢ xᵢ`, summed in four interleaved partial sums (independent chains that the
/// processor overlaps, instead of one chain of `n_in` dependent additions), combined as
/// `(s₀ + s₁) + (s₂ + s₃)`, then the remainder in order. Every scalar type and every path
/// (generic, block record, [`Mlp::vjp_f64`](super::Mlp::vjp_f64)) sums in this order, so
/// their values agree bit for bit.
#[inline(always)]
pub(crate) fn affine<R: Real>(row: &[R], x: &[R], b: R) -> R {
    let n = x.len().min(row.len());
    let m = n / 4 * 4;
    let (mut s0, mut s1, mut s2, mut s3) = (R::zero(), R::zero(), R::zero(), R::zero());
    for (r, v) in row[..m].chunks_exact(4).zip(x[..m].chunks_exact(4)) {
        s0 += r[0] * v[0];
        s1 += r[1] * v[1];
        s2 += r[2] * v[2];
        s3 += r[3] * v[3];
    }
    let mut s = (s0 + s1) + (s2 + s3);
    for i in m..n {
        s += row[i] * x[i];
    }
    b + s
}

/// The fused operation of a [`Dense`] layer: arguments `[x, params]`.
#[derive(Clone, Copy, Debug)]
pub struct DenseOp(pub Dense);

impl FusedOp for DenseOp {
    type Block = DenseBlock;

    fn name(&self) -> &'static str {
        "nn::dense"
    }

    fn n_out(&self) -> usize {
        self.0.n_out
    }

    #[inline]
    fn eval<R: Real>(&self, args: &[&[R]], out: &mut [R]) {
        let Dense { n_in, n_out, act } = self.0;
        let (x, p) = (args[0], args[1]);
        let (w, b) = p.split_at(n_in * n_out);
        for j in 0..n_out {
            out[j] = act.apply(affine(&w[j * n_in..(j + 1) * n_in], x, b[j]));
        }
    }

    /// As [`FusedOp::eval`], with tanh by [`tanh_f64`](super::activation::tanh_f64)
    /// ([`Activation::value_f64`]); the values of [`FusedOp::record`].
    #[inline]
    fn eval_f64(&self, args: &[&[f64]], out: &mut [f64]) {
        let Dense { n_in, n_out, act } = self.0;
        let (x, p) = (args[0], args[1]);
        let (w, b) = p.split_at(n_in * n_out);
        for j in 0..n_out {
            out[j] = act.value_f64(affine(&w[j * n_in..(j + 1) * n_in], x, b[j]));
        }
    }

    fn record(&self, args: &[&[f64]], out: &mut [f64]) -> DenseBlock {
        let Dense { n_in, n_out, act } = self.0;
        let (x, p) = (args[0], args[1]);
        let w = &p[..n_in * n_out];
        let mut dz = vec![0.0; n_out];
        for j in 0..n_out {
            let z = affine(&w[j * n_in..(j + 1) * n_in], x, p[n_in * n_out + j]);
            let (a, d) = act.value_and_derivative(z);
            out[j] = a;
            dz[j] = d;
        }
        DenseBlock {
            layer: self.0,
            x: x.to_vec(),
            w: w.to_vec(),
            dz,
        }
    }
}

/// The tape record of a dense layer: the input, the weights and `σ'(z)`.
pub struct DenseBlock {
    layer: Dense,
    x: Vec<f64>,
    w: Vec<f64>,
    dz: Vec<f64>,
}

impl BlockOp for DenseBlock {
    fn name(&self) -> &'static str {
        "nn::dense"
    }

    /// `ḡ = ā ⊙ σ'(z)`; `x̄ += Wᵀ ḡ`; `W̄ += ḡ xᵀ`; `b̄ += ḡ`.
    fn pullback(&self, out_adj: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let (n_in, n_out) = (self.layer.n_in, self.layer.n_out);
        let gz = |j: usize| out_adj[j] * self.dz[j];
        if let Some(mut xa) = inputs.arg(0) {
            for j in 0..n_out {
                let gj = gz(j);
                if gj != 0.0 {
                    let row = &self.w[j * n_in..(j + 1) * n_in];
                    for i in 0..n_in {
                        xa[i] += row[i] * gj;
                    }
                }
            }
        }
        if let Some(mut pa) = inputs.arg(1) {
            let (wa, ba) = pa.split_at_mut(n_in * n_out);
            for j in 0..n_out {
                let gj = gz(j);
                if gj != 0.0 {
                    let row = &mut wa[j * n_in..(j + 1) * n_in];
                    for i in 0..n_in {
                        row[i] += gj * self.x[i];
                    }
                }
                ba[j] += gj;
            }
        }
        Ok(())
    }

    /// `ȧ = σ'(z) ⊙ (W ẋ + Ẇ x + ḃ)`.
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out_tan: &mut [f64]) -> Result<()> {
        let (n_in, n_out) = (self.layer.n_in, self.layer.n_out);
        let xt = inputs.arg(0);
        let pt = inputs.arg(1);
        for j in 0..n_out {
            let mut s = 0.0;
            if let Some(xt) = &xt {
                let row = &self.w[j * n_in..(j + 1) * n_in];
                for i in 0..n_in {
                    s += row[i] * xt[i];
                }
            }
            if let Some(pt) = &pt {
                let row = &pt[j * n_in..(j + 1) * n_in];
                for i in 0..n_in {
                    s += row[i] * self.x[i];
                }
                s += pt[n_in * n_out + j];
            }
            out_tan[j] = self.dz[j] * s;
        }
        Ok(())
    }
}
