//! The fill loops of [`Stationary::matrix_into`](super::Stationary), compiled for the
//! widest instruction set available ([`pulp`]'s run-time dispatch):
//!
//! * [`FillOp`]: scaled squared distances column by column from dimension-major inputs,
//!   then `σ² f(r²)` (symmetric matrices, and cross matrices in few dimensions);
//! * [`CrossFillOp`]: a cross matrix `k(X, Y)` in `d ≥` [`CROSS_PRODUCT_MIN_DIM`]
//!   dimensions, with the distances from one matrix product,
//!   `r²ᵢⱼ = ‖x̃ᵢ‖² + ‖ỹⱼ‖² − 2 x̃ᵢ·ỹⱼ` over scaled, centred points
//!   `x̃ = (x − c) / ℓ` (`c` the mean of `X`), then one pass of `σ² f(max(r², 0))` over
//!   each contiguous column. The product runs at matrix-product speed where the direct
//!   loop reads and writes the distance column once per dimension. Centring keeps
//!   `‖x̃‖²` small, so the cancellation error of `r²`, `≈ ε (‖x̃ᵢ‖² + ‖ỹⱼ‖²)`, stays
//!   near `ε d` for points in the data's range (Higham 2002, §3.1 on the rounding of
//!   inner products).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, Par};

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

/// Input dimension from which [`CrossFillOp`] forms the distances of a cross matrix by a
/// matrix product (below it the direct loop is as cheap).
pub(super) const CROSS_PRODUCT_MIN_DIM: usize = 3;

/// Columns of a cross matrix per matrix product (bounds the buffer of scaled points and
/// keeps the block in cache for the pass that follows).
const CROSS_BLOCK: usize = 256;

/// The fill of a cross matrix `σ² f(r²(xᵢ, yⱼ))` by a matrix product (module docs).
pub(super) struct CrossFillOp<'a, P> {
    pub(super) profile: &'a P,
    pub(super) x: &'a Inputs,
    pub(super) y: &'a Inputs,
    /// `1/ℓ_k²` per dimension.
    pub(super) s: &'a [f64],
    pub(super) var: f64,
    pub(super) extra: &'a [f64],
    pub(super) out: MatMut<'a, f64>,
}

impl<P: Profile> pulp::WithSimd for CrossFillOp<'_, P> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Self {
            profile,
            x,
            y,
            s,
            var,
            extra,
            mut out,
        } = self;
        let (n, m, d) = (x.n(), y.n(), x.d());
        if n == 0 || m == 0 {
            return;
        }
        let mut c = vec![0.0; d];
        for p in x.as_slice().chunks_exact(d).take(n) {
            c.iter_mut().zip(p).for_each(|(ck, pk)| *ck += pk);
        }
        c.iter_mut().for_each(|ck| *ck /= n as f64);
        let sq: Vec<f64> = s.iter().map(|v| v.sqrt()).collect();
        let scaled = |p: &[f64], k: usize| (p[k] - c[k]) * sq[k];
        let xs = Mat::<f64>::from_fn(n, d, |i, k| scaled(x.point(i), k));
        let a: Vec<f64> = (0..n)
            .map(|i| (0..d).map(|k| xs[(i, k)] * xs[(i, k)]).sum())
            .collect();
        let w_max = CROSS_BLOCK.min(m);
        let mut zb = Mat::<f64>::zeros(d, w_max);
        let mut b = vec![0.0; w_max];
        for j0 in (0..m).step_by(CROSS_BLOCK) {
            let w = CROSS_BLOCK.min(m - j0);
            for jj in 0..w {
                let p = y.point(j0 + jj);
                let mut bj = 0.0;
                for k in 0..d {
                    let v = scaled(p, k);
                    zb[(k, jj)] = v;
                    bj += v * v;
                }
                b[jj] = bj;
            }
            let mut blk = out.as_mut().subcols_mut(j0, w);
            // −2 x̃ᵢ·ỹⱼ into the block, then σ² f(‖x̃ᵢ‖² + ‖ỹⱼ‖² − 2 x̃ᵢ·ỹⱼ).
            matmul(
                blk.as_mut(),
                Accum::Replace,
                xs.as_ref(),
                zb.as_ref().subcols(0, w),
                -2.0,
                Par::Seq,
            );
            for (jj, &bj) in b.iter().enumerate().take(w) {
                match blk.as_mut().col_mut(jj).try_as_col_major_mut() {
                    Some(col) => {
                        for (o, &ai) in col.as_slice_mut().iter_mut().zip(&a) {
                            *o = var * profile.f_value((ai + bj + *o).max(0.0), extra);
                        }
                    }
                    None => {
                        for (i, &ai) in a.iter().enumerate() {
                            let g = blk[(i, jj)];
                            blk[(i, jj)] = var * profile.f_value((ai + bj + g).max(0.0), extra);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use faer::Mat;
    use rand::{RngExt, SeedableRng};

    use crate::gp::Inputs;
    use crate::gp::kernels::{Kernel, Matern52, RationalQuadratic, SquaredExponential};

    /// Fills `k(X, Y)` by the product route and compares every entry with the kernel's
    /// generic `eval` (the direct formula), to `tol · σ²`.
    fn check<K: Kernel>(k: &K, theta: &[f64], x: &Inputs, y: &Inputs, tol: f64) {
        let (n, m, d) = (x.n(), y.n(), x.d());
        let mut out = Mat::<f64>::zeros(n, m);
        k.matrix_into(theta, x, Some(y), out.as_mut());
        // A view with non-unit row stride takes the indexed branch.
        let mut big = Mat::<f64>::zeros(m, n);
        k.matrix_into(theta, x, Some(y), big.as_mut().transpose_mut());
        for j in 0..m {
            for i in 0..n {
                let want = k.eval(theta, x.point(i), y.point(j));
                for got in [out[(i, j)], big[(j, i)]] {
                    assert!(
                        (got - want).abs() <= tol * theta[0],
                        "d = {d}, ({i}, {j}): {got:e} vs {want:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn product_route_matches_the_direct_formula() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        for (d, n, m) in [(3, 7, 5), (8, 100, 300), (5, 20, 257)] {
            let mut xs: Vec<f64> = (0..n * d).map(|_| rng.random_range(0.0..1.0)).collect();
            // Shift the cloud away from the origin (centring must cope).
            xs.iter_mut().for_each(|v| *v += 40.0);
            let mut ys: Vec<f64> = (0..m * d)
                .map(|_| 40.0 + rng.random_range(-0.5..1.5))
                .collect();
            // Exact duplicates of training points (r² = 0) and a far point (f underflows).
            ys[..d].copy_from_slice(&xs[..d]);
            ys[d..2 * d].copy_from_slice(&xs[(n - 1) * d..n * d]);
            ys[2 * d..3 * d].iter_mut().for_each(|v| *v = 1e3);
            let x = Inputs::new(n, d, xs).unwrap();
            let y = Inputs::new(m, d, ys).unwrap();
            let mut theta = vec![1.7];
            theta.extend((0..d).map(|k| 0.15 + 0.2 * k as f64));
            check(&SquaredExponential::ard(d).unwrap(), &theta, &x, &y, 1e-13);
            check(&Matern52::ard(d).unwrap(), &theta, &x, &y, 1e-13);
            let mut rq = theta.clone();
            rq.push(0.8);
            check(&RationalQuadratic::ard(d).unwrap(), &rq, &x, &y, 1e-13);
        }
    }
}
