//! The fill loop of [`Stationary::matrix_into`](super::Stationary): scaled squared
//! distances column by column from dimension-major inputs, then `σ² f(r²)`, compiled for
//! the widest instruction set available ([`pulp`]'s run-time dispatch).

use faer::MatMut;

use super::Profile;
use crate::gp::Inputs;

/// The coordinates of `x` dimension by dimension: `xt[k n + i] = x_i,k`.
pub(super) fn dimension_major(x: &Inputs) -> Vec<f64> {
    let (n, d) = (x.n(), x.d());
    let mut xt = vec![0.0; n * d];
    for (i, p) in x.as_slice().chunks_exact(d.max(1)).enumerate().take(n) {
        for k in 0..d {
            xt[k * n + i] = p[k];
        }
    }
    xt
}

/// `r2[i] = Σ_k (x_i,k − y_k)² s_k` for `i ∈ [start, n)`, from dimension-major `xt`
/// (contiguous loops the compiler vectorises).
#[inline(always)]
pub(super) fn scaled_sq_dists(
    xt: &[f64],
    n: usize,
    y: &[f64],
    s: &[f64],
    start: usize,
    r2: &mut [f64],
) {
    let r2 = &mut r2[start..n];
    r2.iter_mut().for_each(|v| *v = 0.0);
    for (k, (&yk, &sk)) in y.iter().zip(s).enumerate() {
        let xk = &xt[k * n + start..(k + 1) * n];
        for (r, &xv) in r2.iter_mut().zip(xk) {
            let t = xv - yk;
            *r += t * t * sk;
        }
    }
}

/// The fill loop of `Stationary::matrix_into`, run under [`pulp`]'s run-time dispatch so
/// that it is compiled (and vectorised) for the widest instruction set available.
pub(super) struct FillOp<'a, P> {
    pub(super) profile: &'a P,
    pub(super) xt: &'a [f64],
    pub(super) n: usize,
    pub(super) y: &'a Inputs,
    pub(super) sym: bool,
    pub(super) s: &'a [f64],
    pub(super) var: f64,
    pub(super) extra: &'a [f64],
    pub(super) out: MatMut<'a, f64>,
}

impl<P: Profile> pulp::WithSimd for FillOp<'_, P> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Self {
            profile,
            xt,
            n,
            y,
            sym,
            s,
            var,
            extra,
            mut out,
        } = self;
        let mut r2 = vec![0.0; n];
        for j in 0..y.n() {
            let start = if sym { j } else { 0 };
            scaled_sq_dists(xt, n, y.point(j), s, start, &mut r2);
            match out.as_mut().col_mut(j).try_as_col_major_mut() {
                Some(col) => {
                    let col = &mut col.as_slice_mut()[start..n];
                    for (c, &r) in col.iter_mut().zip(&r2[start..n]) {
                        *c = var * profile.f_value(r, extra);
                    }
                }
                None => {
                    for i in start..n {
                        out[(i, j)] = var * profile.f_value(r2[i], extra);
                    }
                }
            }
        }
    }
}
