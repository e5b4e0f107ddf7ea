//! The contraction loop of [`Stationary::matrix_pullback`](super::Stationary): with
//! `g = K̄ᵢⱼ σ² f'(r²ᵢⱼ)`, the sums `Σ K̄ f` (variance), `Σ g Δ_d²` (lengthscales) and the
//! input adjoints `± 2 g Δ_d / ℓ_d²`, with `LANES` partial sums so that the reductions
//! vectorise, and a SIMD path reading `f` from the kernel matrix for profiles with
//! `f' = c f`.

use faer::MatRef;

use super::fill::{dimension_major, scaled_sq_dists};
use super::{Profile, Stationary};
use crate::gp::Inputs;
use crate::gp::kernels::KernelAdjoints;

/// The arguments of [`Stationary::pullback`].
pub(super) struct PullbackArgs<'a> {
    pub(super) theta: &'a [f64],
    pub(super) x: &'a Inputs,
    pub(super) y: Option<&'a Inputs>,
    /// The lower triangle of `K(X, X)`, only when `P::FP_OVER_F` is set and there are no
    /// extra parameters: `f` is then read from it instead of recomputed.
    pub(super) kvals: Option<MatRef<'a, f64>>,
    pub(super) kbar: MatRef<'a, f64>,
    pub(super) adj: KernelAdjoints<'a>,
}

impl<P: Profile> Stationary<P> {
    /// The analytic pullback behind `Kernel::matrix_pullback` (natural-scale adjoints of
    /// `σ²` and `ℓ`: see the module equations).
    pub(super) fn pullback(&self, args: PullbackArgs<'_>) {
        let PullbackArgs {
            theta,
            x,
            y,
            kvals,
            kbar,
            adj,
        } = args;
        let d = x.d();
        let n = x.n();
        let (var, ls, extra) = self.split(theta);
        let s = Self::inv_sq(ls, d);
        let v = usize::from(self.variance);
        let l = ls.len();
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        let xt = dimension_major(x);
        let (head, dextra) = adj.theta.split_at_mut(v + l);
        let want_x = adj.x.is_some();
        let want_y = if sym { want_x } else { adj.y.is_some() };
        // Dimension-major input adjoints, converted at the end.
        let mut dxt = if want_x { vec![0.0; n * d] } else { Vec::new() };
        let (acc_var, acc_l) = pulp::Arch::new().dispatch(PullbackOp {
            profile: &self.profile,
            xt: &xt,
            n,
            y,
            sym,
            s: &s,
            var,
            extra,
            kbar,
            kvals,
            dextra,
            dxt: &mut dxt,
            dy: if sym { None } else { adj.y },
            want_x,
            want_y,
        });
        if self.variance {
            head[0] += acc_var;
        }
        // ∂r²/∂ℓ_k = −2 Δ_k² / ℓ_k³ = −2 Δ_k² s_k / ℓ_k.
        for k in 0..d {
            let i = if l == 1 { 0 } else { k };
            head[v + i] += -2.0 * acc_l[k] * s[k] / ls[i];
        }
        if let Some(dx) = adj.x {
            for i in 0..n {
                for k in 0..d {
                    dx[i * d + k] += dxt[k * n + i];
                }
            }
        }
    }
}

const LANES: usize = 4;

/// `Σ v` with `LANES` partial sums (vectorisable; the order differs from a left fold only
/// by rounding).
#[inline(always)]
fn lane_sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &x in chunks.remainder() {
        s += x;
    }
    s
}

/// `Σᵢ (gᵢ tᵢ) tᵢ` with `tᵢ = xᵢ − y0`, summed as [`lane_sum`] sums (no buffer).
#[inline(always)]
fn lane_sum_g_sq(x: &[f64], y0: f64, g: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let mut xc = x.chunks_exact(LANES);
    let mut gc = g.chunks_exact(LANES);
    for (xa, ga) in (&mut xc).zip(&mut gc) {
        for l in 0..LANES {
            let t = xa[l] - y0;
            acc[l] += ga[l] * t * t;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (&xv, &gv) in xc.remainder().iter().zip(gc.remainder()) {
        let t = xv - y0;
        s += gv * t * t;
    }
    s
}

/// The `θ`-only pullback over the lower triangle of `K(X, X)` for a profile with
/// `f' = c f`, reading `k = σ² f` from `kvals` (no distances, no transcendental, explicit
/// SIMD): returns `(Σ K̄ k / σ², [c Σ K̄ k Δ_d²]_d)` as [`PullbackOp`] does (`Σ K̄ f` and
/// `Σ g Δ_d²` with `g = K̄ σ² f'`). `None` when a column is not contiguous.
#[inline(always)]
fn values_pullback<S: pulp::Simd, const D: usize>(
    simd: S,
    xt: &[f64],
    n: usize,
    kbar: MatRef<'_, f64>,
    kvals: MatRef<'_, f64>,
    c: f64,
    inv_var: f64,
) -> Option<(f64, Vec<f64>)> {
    if kbar.nrows() < n || kvals.nrows() < n || kbar.ncols() < n || kvals.ncols() < n {
        return None;
    }
    let zero = simd.splat_f64s(0.0);
    // Per-column SIMD partial sums, folded into scalar totals column by column (two-level
    // summation, as `lane_sum` per column does: the sums cancel heavily).
    let mut tot_v = 0.0;
    let mut tot = [0.0; D];
    for j in 0..n {
        let mut acc_v = zero;
        let mut acc = [zero; D];
        let mut tail_v = 0.0;
        let mut tail = [0.0; D];
        let w = &kbar.col(j).try_as_col_major()?.as_slice()[j..n];
        let k = &kvals.col(j).try_as_col_major()?.as_slice()[j..n];
        let (wh, wt) = S::as_simd_f64s(w);
        let (kh, kt) = S::as_simd_f64s(k);
        let xs: [&[f64]; D] = std::array::from_fn(|d| &xt[d * n + j..(d + 1) * n]);
        let xh: [&[S::f64s]; D] = std::array::from_fn(|d| S::as_simd_f64s(xs[d]).0);
        let yj: [f64; D] = std::array::from_fn(|d| xt[d * n + j]);
        let ys: [S::f64s; D] = std::array::from_fn(|d| simd.splat_f64s(yj[d]));
        for (ci, (&wv, &kv)) in wh.iter().zip(kh).enumerate() {
            let wk = simd.mul_f64s(wv, kv);
            acc_v = simd.add_f64s(acc_v, wk);
            for d in 0..D {
                let t = simd.sub_f64s(xh[d][ci], ys[d]);
                acc[d] = simd.mul_add_f64s(simd.mul_f64s(t, t), wk, acc[d]);
            }
        }
        let off = w.len() - wt.len();
        for (i, (&wv, &kv)) in wt.iter().zip(kt).enumerate() {
            let wk = wv * kv;
            tail_v += wk;
            for d in 0..D {
                let t = xs[d][off + i] - yj[d];
                tail[d] += t * t * wk;
            }
        }
        tot_v += simd.reduce_sum_f64s(acc_v) + tail_v;
        for d in 0..D {
            tot[d] += simd.reduce_sum_f64s(acc[d]) + tail[d];
        }
    }
    Some((tot_v * inv_var, tot.iter().map(|v| c * v).collect()))
}

/// The contraction loop of `Stationary::matrix_pullback` (see `fill::FillOp`); returns
/// `(Σ K̄ f, [Σ g Δ_d²]_d)`. Reductions use `LANES` partial sums so that they vectorise.
pub(super) struct PullbackOp<'a, P> {
    pub(super) profile: &'a P,
    pub(super) xt: &'a [f64],
    pub(super) n: usize,
    pub(super) y: &'a Inputs,
    pub(super) sym: bool,
    pub(super) s: &'a [f64],
    pub(super) var: f64,
    pub(super) extra: &'a [f64],
    pub(super) kbar: MatRef<'a, f64>,
    pub(super) kvals: Option<MatRef<'a, f64>>,
    pub(super) dextra: &'a mut [f64],
    pub(super) dxt: &'a mut [f64],
    pub(super) dy: Option<&'a mut [f64]>,
    pub(super) want_x: bool,
    pub(super) want_y: bool,
}

impl<P: Profile> pulp::WithSimd for PullbackOp<'_, P> {
    type Output = (f64, Vec<f64>);
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> (f64, Vec<f64>) {
        let Self {
            profile,
            xt,
            n,
            y,
            sym,
            s,
            var,
            extra,
            kbar,
            kvals,
            dextra,
            dxt,
            mut dy,
            want_x,
            want_y,
        } = self;
        let d = s.len();
        // `kvals` comes only with `FP_OVER_F` (see `matrix_pullback_sym_with_values`).
        let fp_over_f = P::FP_OVER_F.unwrap_or(f64::NAN);
        if let (Some(kv), Some(c), true) =
            (kvals, P::FP_OVER_F, sym && !want_x && dextra.is_empty())
        {
            let r = match d {
                1 => values_pullback::<S, 1>(_simd, xt, n, kbar, kv, c, 1.0 / var),
                2 => values_pullback::<S, 2>(_simd, xt, n, kbar, kv, c, 1.0 / var),
                3 => values_pullback::<S, 3>(_simd, xt, n, kbar, kv, c, 1.0 / var),
                4 => values_pullback::<S, 4>(_simd, xt, n, kbar, kv, c, 1.0 / var),
                _ => None,
            };
            if let Some(r) = r {
                return r;
            }
        }
        let mut acc_l = vec![0.0; d];
        let mut acc_var = 0.0;
        let mut r2 = vec![0.0; n];
        let mut g = vec![0.0; n];
        let mut wcol = vec![0.0; n];
        let mut b1 = vec![0.0; n];
        let mut b2 = vec![0.0; n];
        let mut kcol = if kvals.is_some() {
            vec![0.0; n]
        } else {
            Vec::new()
        };
        let inv_var = 1.0 / var;
        let has_extra = !dextra.is_empty();
        for j in 0..y.n() {
            let start = if sym { j } else { 0 };
            let yj = y.point(j);
            scaled_sq_dists(xt, n, yj, s, start, &mut r2);
            let wj: &[f64] = match kbar.col(j).try_as_col_major() {
                Some(c) => &c.as_slice()[start..n],
                None => {
                    for i in start..n {
                        wcol[i] = kbar[(i, j)];
                    }
                    &wcol[start..n]
                }
            };
            // g = K̄ σ² f'(r²), and Σ K̄ f for the variance.
            if has_extra {
                for i in start..n {
                    let w = wj[i - start];
                    let (f, fp) = profile.f_grad(r2[i], extra, w * var, dextra);
                    b1[i] = w * f;
                    g[i] = w * var * fp;
                }
            } else if let Some(kv) = kvals {
                let kc = match kv.col(j).try_as_col_major() {
                    Some(c) => &c.as_slice()[start..n],
                    None => {
                        for i in start..n {
                            kcol[i] = kv[(i, j)];
                        }
                        &kcol[start..n]
                    }
                };
                for (((b, gi), &w), &kv) in b1[start..n]
                    .iter_mut()
                    .zip(&mut g[start..n])
                    .zip(wj)
                    .zip(kc)
                {
                    let f = kv * inv_var;
                    *b = w * f;
                    *gi = w * var * (fp_over_f * f);
                }
            } else {
                for (((b, gi), &w), &r) in b1[start..n]
                    .iter_mut()
                    .zip(&mut g[start..n])
                    .zip(wj)
                    .zip(&r2[start..n])
                {
                    let (f, fp) = profile.f_grad(r, extra, 0.0, &mut []);
                    *b = w * f;
                    *gi = w * var * fp;
                }
            }
            acc_var += lane_sum(&b1[start..n]);
            for k in 0..d {
                let xk = &xt[k * n + start..(k + 1) * n];
                let gk = &g[start..n];
                let (yk, sk) = (yj[k], s[k]);
                if !want_x && !want_y {
                    acc_l[k] += lane_sum_g_sq(xk, yk, gk);
                    continue;
                }
                let (gt_buf, gtt_buf) = (&mut b1[start..n], &mut b2[start..n]);
                if want_x {
                    let dk = &mut dxt[k * n + start..(k + 1) * n];
                    for ((((a, b), dkv), &xv), &gv) in gt_buf
                        .iter_mut()
                        .zip(gtt_buf.iter_mut())
                        .zip(dk.iter_mut())
                        .zip(xk)
                        .zip(gk)
                    {
                        let t = xv - yk;
                        let gt = gv * t;
                        *a = gt;
                        *b = gt * t;
                        *dkv += 2.0 * sk * gt;
                    }
                } else {
                    for (((a, b), &xv), &gv) in
                        gt_buf.iter_mut().zip(gtt_buf.iter_mut()).zip(xk).zip(gk)
                    {
                        let t = xv - yk;
                        let gt = gv * t;
                        *a = gt;
                        *b = gt * t;
                    }
                }
                acc_l[k] += lane_sum(gtt_buf);
                if want_y {
                    let v = -2.0 * sk * lane_sum(gt_buf);
                    if sym {
                        dxt[k * n + j] += v;
                    } else if let Some(dy) = dy.as_deref_mut() {
                        dy[j * d + k] += v;
                    }
                }
            }
        }
        (acc_var, acc_l)
    }
}
