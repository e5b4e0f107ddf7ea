//! The discrete adjoint of explicit Runge–Kutta steps for small systems
//! (`n + n_p ≤ 8`), with every vector padded to a fixed width `C ∈ {2, 4, 6, 8}`.
//!
//! The recursion is that of [`discrete_adjoint`](super::discrete_adjoint) (Hager 2000,
//! Numer. Math. 87, eq. (2.4)); what differs is how each product `J(Yᵢ)ᵀ k̄ᵢ` is formed.
//! The replay of a segment evaluates every stage once with `C`-tangent dual numbers
//! (directions `y` then `p`, seeded once: an evaluation only sets the values), which gives
//! the stage derivative `kᵢ` and the rows of `[∂f/∂y | ∂f/∂p](Yᵢ)` in the same pass; the
//! backward sweep then only multiplies, `C` lanes at a time.
//!
//! The adjoint is carried in augmented form: the parameters are states with `p' = 0`,
//! so lanes `n..n + n_p` of the adjoint vector accumulate `p̄` while lanes `0..n` hold
//! `λ` (Sandu 2006, §3, the augmented system). Stage cotangents `k̄ᵢ` are read only in
//! their first `n` lanes; what the other lanes hold is never used.
//!
//! The replay repeats the forward pass's arithmetic operation for operation (the stage
//! sums of [`ExplicitRk`](crate::ode::explicit::ExplicitRk) for `n ≤ 8`, in the same
//! order), so it retraces the computed solution bit for bit.

use super::checkpoint::Checkpoints;
use crate::ad::DualN;
use crate::ode::problem::{OdeProblem, OdeRhs};
use crate::ode::solution::OdeStats;
use crate::ode::tableau::ButcherTableau;

/// Replayed segments are merged up to at least this many steps (one extra evaluation of
/// the first stage per merged segment instead of one per checkpoint).
const MIN_GROUP: usize = 16;

/// The backward pass for `n + n_p ≤ 8`; `None` for larger systems. Adds into
/// `lambda` (length `n`, the adjoint of the final state on entry, of `y₀` on return)
/// and `mu` (length `n_p`); returns the peak number of `f64` held for one segment.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<F: OdeRhs>(
    problem: &OdeProblem<F>,
    tab: &'static ButcherTableau,
    ck: &Checkpoints,
    by_step: &[Vec<(usize, f64)>],
    w: &[Vec<f64>],
    lambda: &mut [f64],
    mu: &mut [f64],
    stats: &mut OdeStats,
) -> Option<usize> {
    let m = problem.y0.len() + problem.p.len();
    Some(match m {
        0..=2 => run::<F, 2>(problem, tab, ck, by_step, w, lambda, mu, stats),
        3..=4 => run::<F, 4>(problem, tab, ck, by_step, w, lambda, mu, stats),
        5..=6 => run::<F, 6>(problem, tab, ck, by_step, w, lambda, mu, stats),
        7..=8 => run::<F, 8>(problem, tab, ck, by_step, w, lambda, mu, stats),
        _ => return None,
    })
}

/// Dual-number inputs with their tangents seeded once.
struct Duals<const C: usize> {
    y: Vec<DualN<C>>,
    p: Vec<DualN<C>>,
    f: Vec<DualN<C>>,
}

impl<const C: usize> Duals<C> {
    fn new(n: usize, p: &[f64]) -> Self {
        Self {
            y: (0..n).map(|i| DualN::seed(0.0, i)).collect(),
            p: p.iter()
                .enumerate()
                .map(|(i, &v)| DualN::seed(v, n + i))
                .collect(),
            f: vec![DualN::default(); n],
        }
    }

    /// `k = f(t, y)` and the `n` rows of `[∂f/∂y | ∂f/∂p]` at `(t, y)`.
    #[inline(always)]
    fn eval<F: OdeRhs>(
        &mut self,
        rhs: &F,
        t: f64,
        y: &[f64; C],
        k: &mut [f64; C],
        rows: &mut [[f64; C]],
    ) {
        for (d, &v) in self.y.iter_mut().zip(y) {
            d.v = v;
        }
        rhs.rhs(DualN::constant(t), &self.y, &self.p, &mut self.f);
        for ((kr, row), d) in k.iter_mut().zip(rows.iter_mut()).zip(&self.f) {
            *kr = d.v;
            *row = d.d;
        }
    }
}

/// `acc = y + Σⱼ (h aⱼ) kⱼ`, lane by lane in the order of the forward stage sum.
#[inline(always)]
fn stage_point<const C: usize>(y: &[f64; C], h: f64, row: &[f64], k: &[[f64; C]]) -> [f64; C] {
    let mut acc = *y;
    for (&a, kj) in row.iter().zip(k) {
        let ha = h * a;
        for (x, &v) in acc.iter_mut().zip(kj) {
            *x += v * ha;
        }
    }
    acc
}

/// `dst += c · src` over all lanes.
#[inline(always)]
fn axpy<const C: usize>(dst: &mut [f64; C], c: f64, src: &[f64; C]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += c * s;
    }
}

/// `dst[..n] += src[..n]`.
#[inline(always)]
fn add_n<const C: usize>(dst: &mut [f64; C], src: &[f64]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

#[allow(clippy::too_many_arguments)]
fn run<F: OdeRhs, const C: usize>(
    problem: &OdeProblem<F>,
    tab: &'static ButcherTableau,
    ck: &Checkpoints,
    by_step: &[Vec<(usize, f64)>],
    w: &[Vec<f64>],
    lambda: &mut [f64],
    mu: &mut [f64],
    stats: &mut OdeStats,
) -> usize {
    let n = problem.y0.len();
    let np = problem.p.len();
    let (s, total) = (tab.stages(), tab.total_stages());
    let fsal = tab.is_fsal();
    let rhs = &problem.rhs;
    let mut duals = Duals::<C>::new(n, &problem.p);
    // Stage derivatives of the step being replayed.
    let mut k = vec![[0.0; C]; total];
    // Jacobian rows of the segment: stage i of local step l at rows ((l·total + i)·n..).
    let mut jac: Vec<[f64; C]> = Vec::new();
    let mut kbar = vec![[0.0; C]; total];
    let mut wts = vec![0.0; total];
    let mut lam = [0.0; C];
    lam[..n].copy_from_slice(lambda);
    lam[n..n + np].copy_from_slice(mu);
    let blk = total * n;
    let mut peak = 0;

    let groups = ck.groups(MIN_GROUP);
    for &(first, ref range) in groups.iter().rev() {
        let len = range.len();
        jac.clear();
        jac.resize(len * blk, [0.0; C]);
        let mut y = [0.0; C];
        y[..n].copy_from_slice(ck.state(first));
        let mut k0_valid = false;
        // Replay: stage values and Jacobians.
        for (local, step) in range.clone().enumerate() {
            let (t, h) = ck.steps[step];
            let base = local * blk;
            if k0_valid {
                // First same as last: stage 0 is the previous step's last stage.
                let prev = base - blk + (s - 1) * n;
                jac.copy_within(prev..prev + n, base);
            } else {
                duals.eval(rhs, t, &y, &mut k[0], &mut jac[base..base + n]);
                stats.n_rhs += 1;
            }
            let mut yi = y;
            for i in 1..s {
                yi = stage_point(&y, h, tab.a[i], &k[..i]);
                let (_, rest) = k.split_at_mut(i);
                let r = base + i * n;
                duals.eval(rhs, t + tab.c[i] * h, &yi, &mut rest[0], &mut jac[r..r + n]);
            }
            stats.n_rhs += s - 1;
            // y_new as the forward pass computed it (for FSAL tableaus, the last stage's
            // argument).
            let y_new = if fsal {
                yi
            } else {
                let mut yn = y;
                for (i, &b) in tab.b.iter().enumerate() {
                    if b != 0.0 {
                        let hb = h * b;
                        for (x, &v) in yn.iter_mut().zip(&k[i]) {
                            *x += v * hb;
                        }
                    }
                }
                yn
            };
            if by_step[step].iter().any(|&(_, th)| th < 1.0)
                && let Some(d) = &tab.dense
            {
                for i in s..total {
                    let yi = stage_point(&y, h, d.extra_a[i - s], &k[..i]);
                    let r = base + i * n;
                    let (_, rest) = k.split_at_mut(i);
                    duals.eval(
                        rhs,
                        t + d.extra_c[i - s] * h,
                        &yi,
                        &mut rest[0],
                        &mut jac[r..r + n],
                    );
                    stats.n_rhs += 1;
                }
            }
            if fsal {
                k[0] = k[s - 1];
                k0_valid = true;
            }
            y = y_new;
            stats.n_accepted += 1;
        }
        peak = peak.max(jac.len() * C);

        // Backward sweep over the segment.
        for (local, step) in range.clone().enumerate().rev() {
            let h = ck.steps[step].1;
            let base = local * blk;
            for kb in kbar.iter_mut() {
                *kb = [0.0; C];
            }
            // Outputs at the step's end are outputs of y_{n+1}.
            for &(kk, th) in &by_step[step] {
                if th >= 1.0 {
                    add_n(&mut lam, &w[kk]);
                }
            }
            for (i, &b) in tab.b.iter().enumerate() {
                if b != 0.0 {
                    axpy(&mut kbar[i], h * b, &lam);
                }
            }
            let mut lam_n = lam;
            let mut has_extra = false;
            for &(kk, th) in &by_step[step] {
                if th < 1.0 {
                    has_extra = true;
                    tab.dense_weights(th, &mut wts);
                    for (i, &wi) in wts.iter().enumerate() {
                        if wi != 0.0 {
                            let c = h * wi;
                            for (d, &v) in kbar[i].iter_mut().zip(&w[kk]) {
                                *d += c * v;
                            }
                        }
                    }
                    add_n(&mut lam_n, &w[kk]);
                }
            }
            let last = if has_extra { total } else { s };
            for i in (0..last).rev() {
                let kb = kbar[i];
                if kb[..n].iter().all(|v| *v == 0.0) {
                    continue;
                }
                // [Ȳᵢ | p̄ᵢ] = k̄ᵢᵀ [J | J_p](Yᵢ).
                let rows = &jac[base + i * n..base + (i + 1) * n];
                let mut acc = [0.0; C];
                for (row, &c) in rows.iter().zip(&kb[..n]) {
                    axpy(&mut acc, c, row);
                }
                for (l, &a) in lam_n.iter_mut().zip(&acc) {
                    *l += a;
                }
                let row = if i < s {
                    tab.a[i]
                } else {
                    tab.dense.as_ref().map_or(&[][..], |d| d.extra_a[i - s])
                };
                for (kj, &a) in kbar.iter_mut().zip(row) {
                    if a != 0.0 {
                        axpy(kj, h * a, &acc);
                    }
                }
            }
            lam = lam_n;
        }
    }
    lambda.copy_from_slice(&lam[..n]);
    mu.copy_from_slice(&lam[n..n + np]);
    peak
}
