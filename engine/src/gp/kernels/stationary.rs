//! Stationary kernels with automatic relevance determination: `k = σ² f(r²)` with the
//! scaled squared distance `r² = Σ_d (x_d − x'_d)² / ℓ_d²` (Rasmussen & Williams 2006,
//! §4.2 and §5.1, eq. 5.2 for ARD).
//!
//! [`Stationary`] holds the lengthscales (one shared, or one per dimension) and the
//! variance, and implements the matrix loops and their analytic pullbacks once; a
//! [`Profile`] supplies `f(r²)`, its derivative and any extra shape parameters. With
//! `g = K̄ᵢⱼ σ² f'(r²ᵢⱼ)` and `Δ = xᵢ − yⱼ`:
//!
//! ```text
//! ∂/∂log σ²  += K̄ᵢⱼ kᵢⱼ
//! ∂/∂log ℓ_d += −2 g Δ_d² / ℓ_d²
//! ∂/∂xᵢ_d    +=  2 g Δ_d / ℓ_d²,     ∂/∂yⱼ_d −= 2 g Δ_d / ℓ_d²
//! ```

use std::fmt::Debug;

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, check_theta, positive_log};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;

/// The radial profile `f(r²)` of a stationary kernel, with optional extra shape
/// parameters (unconstrained, e.g. `log α` of the rational quadratic).
pub trait Profile: Clone + Debug + Send + Sync + 'static {
    /// Short name (`"squared_exponential"`).
    const NAME: &'static str;

    /// Names of the extra parameters.
    fn extra_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// Current extra parameters.
    fn extra(&self) -> Vec<f64> {
        Vec::new()
    }

    /// Sets the extra parameters (called with exactly `extra().len()` values).
    fn set_extra(&mut self, extra: &[f64]) {
        let _ = extra;
    }

    /// `f(r²)`, generic (for [`Kernel::eval`]).
    fn f<R: Real>(&self, r2: R, extra: &[R]) -> R;

    /// `(f(r²), f'(r²))`, adding `w ∂f/∂extra` into `dextra`. At `r² = 0` a profile that
    /// is not differentiable there (Matérn-1/2) returns a finite `f'`.
    fn f_grad(&self, r2: f64, extra: &[f64], w: f64, dextra: &mut [f64]) -> (f64, f64);

    /// `Some(c)` when `f'(r²) = c f(r²)` for a constant `c` and there are no extra
    /// parameters (the squared exponential: `c = −½`): pullbacks given the kernel matrix
    /// then read `f` from it instead of recomputing it.
    const FP_OVER_F: Option<f64> = None;

    /// `f(r²)` in `f64` (defaults to [`Profile::f_grad`]).
    fn f_value(&self, r2: f64, extra: &[f64]) -> f64 {
        let mut scratch = [0.0; 4];
        let n = extra.len().min(4);
        self.f_grad(r2, extra, 0.0, &mut scratch[..n]).0
    }
}

/// A stationary kernel `σ² f(r²)` with isotropic or ARD lengthscales.
///
/// Parameters: `(log ℓ₁, …, log ℓ_L, log σ², extra…)` with `L = 1` (isotropic) or `L = d`
/// (ARD).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stationary<P> {
    log_lengthscales: Vec<f64>,
    log_variance: f64,
    profile: P,
}

impl<P: Profile> Stationary<P> {
    /// Isotropic: one lengthscale for every dimension.
    pub fn with_profile(lengthscale: f64, variance: f64, profile: P) -> Result<Self> {
        Self::ard_with_profile(&[lengthscale], variance, profile)
    }

    /// ARD: one lengthscale per input dimension.
    pub fn ard_with_profile(lengthscales: &[f64], variance: f64, profile: P) -> Result<Self> {
        if lengthscales.is_empty() {
            return Err(Error::InvalidArgument {
                op: P::NAME,
                message: "need at least one lengthscale".into(),
            });
        }
        let log_lengthscales = lengthscales
            .iter()
            .map(|&l| positive_log(P::NAME, "lengthscale", l))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            log_lengthscales,
            log_variance: positive_log(P::NAME, "variance", variance)?,
            profile,
        })
    }

    /// Number of lengthscales (1 = isotropic).
    pub fn n_lengthscales(&self) -> usize {
        self.log_lengthscales.len()
    }

    /// The lengthscales `ℓ`.
    pub fn lengthscales(&self) -> Vec<f64> {
        self.log_lengthscales.iter().map(|v| v.exp()).collect()
    }

    /// The variance `σ²`.
    pub fn variance(&self) -> f64 {
        self.log_variance.exp()
    }

    /// The profile.
    pub fn profile(&self) -> &P {
        &self.profile
    }

    /// `1/ℓ_d²` for each of `d` dimensions.
    fn inv_sq(&self, theta: &[f64], d: usize) -> Vec<f64> {
        let l = self.log_lengthscales.len();
        (0..d)
            .map(|k| (-2.0 * theta[if l == 1 { 0 } else { k }]).exp())
            .collect()
    }
}

impl<P: Profile> Kernel for Stationary<P> {
    fn n_params(&self) -> usize {
        self.log_lengthscales.len() + 1 + self.profile.extra().len()
    }

    fn param_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.log_lengthscales.len())
            .map(|k| format!("log_lengthscale[{k}]"))
            .collect();
        names.push("log_variance".into());
        names.extend(self.profile.extra_names());
        names
    }

    fn params(&self) -> Vec<f64> {
        let mut p = self.log_lengthscales.clone();
        p.push(self.log_variance);
        p.extend(self.profile.extra());
        p
    }

    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta(P::NAME, theta, self.n_params())?;
        let l = self.log_lengthscales.len();
        self.log_lengthscales.copy_from_slice(&theta[..l]);
        self.log_variance = theta[l];
        self.profile.set_extra(&theta[l + 1..]);
        Ok(())
    }

    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let l = self.log_lengthscales.len();
        let mut r2 = R::zero();
        for k in 0..x.len() {
            let inv_l = (-theta[if l == 1 { 0 } else { k }]).exp();
            r2 += ((x[k] - y[k]) * inv_l).square();
        }
        theta[l].exp() * self.profile.f(r2, &theta[l + 1..])
    }

    fn check_dim(&self, d: usize) -> Result<()> {
        let l = self.log_lengthscales.len();
        if l == 1 || l == d {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                op: P::NAME,
                arg: "inputs",
                expected: format!("{l}-dimensional points (one per ARD lengthscale)"),
                found: format!("{d}-dimensional points"),
            })
        }
    }

    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, out: MatMut<'_, f64>) {
        let d = x.d();
        let s = self.inv_sq(theta, d);
        let l = self.log_lengthscales.len();
        let var = theta[l].exp();
        let extra = &theta[l + 1..];
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        let xt = dimension_major(x);
        pulp::Arch::new().dispatch(FillOp {
            kernel: self,
            xt: &xt,
            n: x.n(),
            y,
            sym,
            s: &s,
            var,
            extra,
            out,
        });
    }

    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
        dy: Option<&mut [f64]>,
    ) {
        self.pullback(theta, x, y, None, kbar, dtheta, dx, dy);
    }

    fn matrix_pullback_sym_with_values(
        &self,
        theta: &[f64],
        x: &Inputs,
        kxx: MatRef<'_, f64>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
    ) {
        let l = self.log_lengthscales.len();
        let usable = P::FP_OVER_F.is_some()
            && theta.len() == l + 1
            && kxx.nrows() == x.n()
            && kxx.ncols() == x.n();
        self.pullback(
            theta,
            x,
            None,
            usable.then_some(kxx),
            kbar,
            dtheta,
            dx,
            None,
        );
    }

    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let l = self.log_lengthscales.len();
        let v = theta[l].exp() * self.profile.f_value(0.0, &theta[l + 1..]);
        out.iter_mut().take(x.n()).for_each(|o| *o = v);
    }

    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        _dx: Option<&mut [f64]>,
    ) {
        let l = self.log_lengthscales.len();
        let var = theta[l].exp();
        let w: f64 = dbar.iter().take(x.n()).sum();
        let (head, dextra) = dtheta.split_at_mut(l + 1);
        let (f, _) = self.profile.f_grad(0.0, &theta[l + 1..], w * var, dextra);
        head[l] += w * var * f;
    }
}

impl<P: Profile> Stationary<P> {
    /// The analytic pullback behind [`Kernel::matrix_pullback`]; with `kvals` (the lower
    /// triangle of `K(X, X)`, only when `P::FP_OVER_F` is set and there are no extra
    /// parameters), `f` is read from it instead of recomputed.
    #[allow(clippy::too_many_arguments)]
    fn pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kvals: Option<MatRef<'_, f64>>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
        dy: Option<&mut [f64]>,
    ) {
        let d = x.d();
        let n = x.n();
        let s = self.inv_sq(theta, d);
        let l = self.log_lengthscales.len();
        let var = theta[l].exp();
        let extra = &theta[l + 1..];
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        let xt = dimension_major(x);
        let (head, dextra) = dtheta.split_at_mut(l + 1);
        let want_x = dx.is_some();
        let want_y = if sym { want_x } else { dy.is_some() };
        // Dimension-major input adjoints, converted at the end.
        let mut dxt = if want_x { vec![0.0; n * d] } else { Vec::new() };
        let (acc_var, acc_l) = pulp::Arch::new().dispatch(PullbackOp {
            kernel: self,
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
            dy: if sym { None } else { dy },
            want_x,
            want_y,
        });
        head[l] += acc_var * var;
        for k in 0..d {
            head[if l == 1 { 0 } else { k }] += -2.0 * acc_l[k] * s[k];
        }
        if let Some(dx) = dx {
            for i in 0..n {
                for k in 0..d {
                    dx[i * d + k] += dxt[k * n + i];
                }
            }
        }
    }
}

/// The coordinates of `x` dimension by dimension: `xt[k n + i] = x_i,k`.
fn dimension_major(x: &Inputs) -> Vec<f64> {
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
fn scaled_sq_dists(xt: &[f64], n: usize, y: &[f64], s: &[f64], start: usize, r2: &mut [f64]) {
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
struct FillOp<'a, P> {
    kernel: &'a Stationary<P>,
    xt: &'a [f64],
    n: usize,
    y: &'a Inputs,
    sym: bool,
    s: &'a [f64],
    var: f64,
    extra: &'a [f64],
    out: MatMut<'a, f64>,
}

impl<P: Profile> pulp::WithSimd for FillOp<'_, P> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Self {
            kernel,
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
                        *c = var * kernel.profile.f_value(r, extra);
                    }
                }
                None => {
                    for i in start..n {
                        out[(i, j)] = var * kernel.profile.f_value(r2[i], extra);
                    }
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

/// The contraction loop of `Stationary::matrix_pullback` (see [`FillOp`]); returns
/// `(Σ K̄ f, [Σ g Δ_d²]_d)`. Reductions use `LANES` partial sums so that they vectorise.
struct PullbackOp<'a, P> {
    kernel: &'a Stationary<P>,
    xt: &'a [f64],
    n: usize,
    y: &'a Inputs,
    sym: bool,
    s: &'a [f64],
    var: f64,
    extra: &'a [f64],
    kbar: MatRef<'a, f64>,
    kvals: Option<MatRef<'a, f64>>,
    dextra: &'a mut [f64],
    dxt: &'a mut [f64],
    dy: Option<&'a mut [f64]>,
    want_x: bool,
    want_y: bool,
}

impl<P: Profile> pulp::WithSimd for PullbackOp<'_, P> {
    type Output = (f64, Vec<f64>);
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> (f64, Vec<f64>) {
        let Self {
            kernel,
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
                    let (f, fp) = kernel.profile.f_grad(r2[i], extra, w * var, dextra);
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
                    let (f, fp) = kernel.profile.f_grad(r, extra, 0.0, &mut []);
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
