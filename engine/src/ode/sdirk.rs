//! Explicit-first-stage singly diagonally implicit Runge–Kutta (ESDIRK) methods.
//!
//! A step of size `h` from `(t, y)` computes `k₀ = f(t, y)` and, for `i ≥ 1`, solves
//!
//! $$z_i = \psi_i + h\gamma f(t + c_i h, z_i),\qquad \psi_i = y + h\sum_{j<i} a_{ij} k_j,$$
//!
//! by a simplified Newton iteration with the matrix `I − hγJ` (one LU per step size; the
//! Jacobian `J` is kept across steps and refreshed when the iteration fails or converges
//! slowly), then `kᵢ = (zᵢ − ψᵢ)/(hγ)`, `y_new = y + h Σ bᵢ kᵢ` and
//! `err = h Σ (bᵢ − b̂ᵢ) kᵢ` (Hairer & Wanner 1996, IV.6 and IV.8; Kværnø 2004). A Newton
//! failure retries with a fresh Jacobian, then shrinks the step.

use faer::Mat;

use super::linsolve::{LuWork, newton_tolerance};
use super::one_step::{Attempt, OneStep, Step, StepAttempt};
use super::options::OdeOptions;
use super::solution::OdeStats;
use super::system::OdeSystemJacobian;
use crate::error::{Error, Result};
use crate::solver::Tolerance;

/// An ESDIRK tableau: `A` strictly below the diagonal, the diagonal `γ` (stage 0 is
/// explicit), weights, error weights, nodes, and optional stage predictors.
#[derive(Debug)]
pub struct EsdirkTableau {
    /// Short name.
    pub name: &'static str,
    /// The diagonal `γ`.
    pub gamma: f64,
    /// Rows of `A` strictly below the diagonal (row `i` has `i` entries).
    pub a: &'static [&'static [f64]],
    /// Weights `b`.
    pub b: &'static [f64],
    /// Error weights `b − b̂`.
    pub b_err: &'static [f64],
    /// Nodes.
    pub c: &'static [f64],
    /// Predictor rows: `zᵢ⁰ = y + h Σⱼ pᵢⱼ kⱼ` (row `i` has `i` entries; row 0 empty).
    pub predictor: Option<&'static [&'static [f64]]>,
    /// Order.
    pub order: u32,
    /// Order of the embedded method.
    pub embedded_order: u32,
}

impl EsdirkTableau {
    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.b.len()
    }

    /// Stiffly accurate: `b` is the last row of `A` (with `γ`), so `y_new = z_last` and
    /// the last stage is `f(t + h, y_new)` (first same as last).
    pub fn is_stiffly_accurate(&self) -> bool {
        let s = self.stages();
        self.c[s - 1] == 1.0
            && self.b[s - 1] == self.gamma
            && self.a[s - 1].iter().zip(self.b).all(|(a, b)| a == b)
    }

    /// Checks shapes and the row sums `Σⱼ aᵢⱼ + γ = cᵢ`.
    pub fn validate(&self) -> Result<()> {
        let s = self.stages();
        let bad = |m: String| {
            Err(Error::InvalidArgument {
                op: "EsdirkTableau",
                message: format!("{}: {m}", self.name),
            })
        };
        if self.a.len() != s || self.c.len() != s || self.b_err.len() != s || s < 2 {
            return bad("inconsistent sizes".into());
        }
        for i in 0..s {
            if self.a[i].len() != i {
                return bad(format!("row {i} has {} entries", self.a[i].len()));
            }
            let diag = if i == 0 { 0.0 } else { self.gamma };
            let sum: f64 = self.a[i].iter().sum::<f64>() + diag;
            if (sum - self.c[i]).abs() > 1e-12 {
                return bad(format!("row {i} sums to {sum}, c = {}", self.c[i]));
            }
        }
        if let Some(p) = self.predictor
            && (p.len() != s || (0..s).any(|i| p[i].len() != i))
        {
            return bad("predictor rows have the wrong lengths".into());
        }
        if !self.is_stiffly_accurate() {
            return bad("only stiffly accurate ESDIRK methods are supported".into());
        }
        Ok(())
    }
}

const KV_G: f64 = 0.26;
const KV_A: [[f64; 6]; 7] = [
    [0.0; 6],
    [KV_G, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.13, 0.8403332099679081, 0.0, 0.0, 0.0, 0.0],
    [
        0.22371961478320505,
        0.476755323197997,
        -0.06470895363112615,
        0.0,
        0.0,
        0.0,
    ],
    [
        0.16648564323248321,
        0.1045001884159172,
        0.03631482272098715,
        -0.13090704451073998,
        0.0,
        0.0,
    ],
    [
        0.13855640231268224,
        0.0,
        -0.04245337201752043,
        0.02446657898003141,
        0.6194303907248068,
        0.0,
    ],
    [
        0.13659751177640291,
        0.0,
        -0.05496908796538376,
        -0.04118626728321046,
        0.629933048990164,
        0.06962479448202728,
    ],
];

/// Kværnø (2004), "Singly diagonally implicit Runge–Kutta methods with an explicit first
/// stage", BIT 44(3), 489–502: the 5(4) pair, stiffly accurate and L-stable, with the
/// stage predictors of OrdinaryDiffEq.jl as used by diffrax.
pub const KVAERNO5: EsdirkTableau = EsdirkTableau {
    name: "kvaerno5",
    gamma: KV_G,
    a: &[
        &[],
        &[KV_A[1][0]],
        &[KV_A[2][0], KV_A[2][1]],
        &[KV_A[3][0], KV_A[3][1], KV_A[3][2]],
        &[KV_A[4][0], KV_A[4][1], KV_A[4][2], KV_A[4][3]],
        &[KV_A[5][0], KV_A[5][1], KV_A[5][2], KV_A[5][3], KV_A[5][4]],
        &[
            KV_A[6][0], KV_A[6][1], KV_A[6][2], KV_A[6][3], KV_A[6][4], KV_A[6][5],
        ],
    ],
    b: &[
        KV_A[6][0], KV_A[6][1], KV_A[6][2], KV_A[6][3], KV_A[6][4], KV_A[6][5], KV_G,
    ],
    b_err: &[
        KV_A[6][0] - KV_A[5][0],
        KV_A[6][1] - KV_A[5][1],
        KV_A[6][2] - KV_A[5][2],
        KV_A[6][3] - KV_A[5][3],
        KV_A[6][4] - KV_A[5][4],
        KV_A[6][5] - KV_G,
        KV_G,
    ],
    c: &[
        0.0,
        0.52,
        1.230333209967908,
        0.8957659843500759,
        0.43639360985864756,
        1.0,
        1.0,
    ],
    predictor: Some(&[
        &[],
        &[1.0],
        &[-1.366025403784441, 2.3660254037844357],
        &[
            -0.19650552613122207,
            0.8113579546496623,
            0.38514757148155954,
        ],
        &[
            0.10375304369958693,
            0.937994698066431,
            -0.04174774176601781,
            0.0,
        ],
        &[
            -0.17281112873898072,
            0.6235784481025847,
            0.5492326806363959,
            0.0,
            0.0,
        ],
        &[
            KV_A[5][0], KV_A[5][1], KV_A[5][2], KV_A[5][3], KV_A[5][4], KV_G,
        ],
    ]),
    order: 5,
    embedded_order: 4,
};

/// Hooks into an ESDIRK step (forward sensitivities propagate tangents here).
pub(crate) trait EsdirkHook<S: ?Sized> {
    /// Called when `step` is accepted, with the stage values `z` and derivatives `k`
    /// (stage `i` at `[i·n..]`).
    fn on_accept(
        &mut self,
        sys: &mut S,
        tab: &EsdirkTableau,
        step: Step<'_, f64>,
        z: &[f64],
        k: &[f64],
    ) -> Result<()>;
}

impl<S: ?Sized> EsdirkHook<S> for () {
    #[inline]
    fn on_accept(
        &mut self,
        _: &mut S,
        _: &EsdirkTableau,
        _: Step<'_, f64>,
        _: &[f64],
        _: &[f64],
    ) -> Result<()> {
        Ok(())
    }
}

/// Why a stage solve failed.
enum StageFailure {
    /// Newton diverged or was too slow: iterations, worst component, its update.
    Newton(usize, usize, f64),
    /// `f` was not finite at a stage iterate: component, value.
    NonFinite(usize, f64),
}

/// Most Newton iterations per stage (as diffrax's ESDIRK root finder).
const NEWTON_MAX_ITER: usize = 10;
/// A Newton contraction rate above this refreshes the Jacobian at the next step.
const JAC_REFRESH_RATE: f64 = 0.1;

/// The ESDIRK stepper.
pub struct Esdirk<H = ()> {
    tab: &'static EsdirkTableau,
    n: usize,
    jac: Mat<f64>,
    /// `J` was evaluated at the current step's start.
    jac_current: bool,
    /// Refresh `J` at the next attempt (slow convergence seen).
    jac_refresh: bool,
    have_jac: bool,
    lu: LuWork,
    /// `hγ` of the factorisation in `lu`.
    lu_hg: f64,
    z: Vec<f64>,
    k: Vec<f64>,
    psi: Vec<f64>,
    fz: Vec<f64>,
    delta: Vec<f64>,
    w: Vec<f64>,
    newton_tol: f64,
    tol: Tolerance,
    pub(crate) hook: H,
}

impl Esdirk<()> {
    /// A stepper for `n` states with the Newton tolerance derived from `opts`.
    pub fn new(tab: &'static EsdirkTableau, n: usize, opts: &OdeOptions) -> Self {
        Self::with_hook(tab, n, opts, ())
    }
}

impl<H> Esdirk<H> {
    /// A stepper with a hook.
    pub(crate) fn with_hook(
        tab: &'static EsdirkTableau,
        n: usize,
        opts: &OdeOptions,
        hook: H,
    ) -> Self {
        let s = tab.stages();
        Self {
            tab,
            n,
            jac: Mat::zeros(n, n),
            jac_current: false,
            jac_refresh: false,
            have_jac: false,
            lu: LuWork::new(n),
            lu_hg: f64::NAN,
            z: vec![0.0; s * n],
            k: vec![0.0; s * n],
            psi: vec![0.0; n],
            fz: vec![0.0; n],
            delta: vec![0.0; n],
            w: vec![0.0; n],
            newton_tol: newton_tolerance(&opts.tol),
            tol: opts.tol.clone(),
            hook,
        }
    }

    /// Stage values `z` and derivatives `k` of the last computed step.
    pub(crate) fn stages(&self) -> (&[f64], &[f64]) {
        (&self.z, &self.k)
    }

    /// The scaled RMS norm of a Newton update against the step's scales `w`.
    #[inline]
    fn norm(&self, x: &[f64]) -> f64 {
        Tolerance::rms_scaled(x, &self.w, 1.0)
    }

    /// The component of a Newton update with the largest scaled size.
    fn worst(&self, x: &[f64]) -> usize {
        Tolerance::worst_scaled(x, &self.w, 1.0)
    }

    /// Solves stage `i` by simplified Newton; `Err((iterations, component, size))` on
    /// failure.
    fn solve_stage<S: OdeSystemJacobian + ?Sized>(
        &mut self,
        sys: &mut S,
        t: f64,
        h: f64,
        y: &[f64],
        i: usize,
        stats: &mut OdeStats,
    ) -> std::result::Result<(), StageFailure> {
        let n = self.n;
        let tab = self.tab;
        let hg = h * tab.gamma;
        self.psi.copy_from_slice(y);
        for (j, &a) in tab.a[i].iter().enumerate() {
            if a != 0.0 {
                let ha = h * a;
                for (p, &kj) in self.psi.iter_mut().zip(&self.k[j * n..(j + 1) * n]) {
                    *p += ha * kj;
                }
            }
        }
        // Predictor.
        let (zs, _) = self.z.split_at_mut((i + 1) * n);
        let zi = &mut zs[i * n..];
        match tab.predictor {
            Some(p) => {
                zi.copy_from_slice(y);
                for (j, &a) in p[i].iter().enumerate() {
                    if a != 0.0 {
                        let ha = h * a;
                        for (z, &kj) in zi.iter_mut().zip(&self.k[j * n..(j + 1) * n]) {
                            *z += ha * kj;
                        }
                    }
                }
            }
            None => {
                for ((z, &p), &kp) in zi
                    .iter_mut()
                    .zip(&self.psi)
                    .zip(&self.k[(i - 1) * n..i * n])
                {
                    *z = p + hg * kp;
                }
            }
        }
        let tc = t + tab.c[i] * h;
        let mut eta_prev: Option<f64> = None;
        for iter in 0..NEWTON_MAX_ITER {
            let zi = &self.z[i * n..(i + 1) * n];
            sys.eval(tc, zi, &mut self.fz);
            stats.n_rhs += 1;
            stats.n_newton_iters += 1;
            if let Some((c, v)) = super::driver::first_non_finite(&self.fz) {
                return Err(StageFailure::NonFinite(c, v));
            }
            for m in 0..n {
                self.delta[m] = self.psi[m] + hg * self.fz[m] - zi[m];
            }
            self.lu.solve(&mut self.delta);
            let eta = self.norm(&self.delta);
            for (z, d) in self.z[i * n..(i + 1) * n].iter_mut().zip(&self.delta) {
                *z += d;
            }
            let rate = match eta_prev {
                Some(ep) if ep > 0.0 => Some(eta / ep),
                _ => None,
            };
            if let Some(r) = rate {
                let remaining = (NEWTON_MAX_ITER - iter) as i32;
                if r >= 1.0 || r.powi(remaining) / (1.0 - r) * eta > self.newton_tol {
                    return Err(StageFailure::Newton(iter + 1, self.worst(&self.delta), eta));
                }
            }
            if eta == 0.0 || rate.is_some_and(|r| r / (1.0 - r) * eta < self.newton_tol) {
                if let Some(r) = rate
                    && r > JAC_REFRESH_RATE
                {
                    self.jac_refresh = true;
                }
                let inv = 1.0 / hg;
                let (z, k) = (&self.z[i * n..(i + 1) * n], &mut self.k[i * n..(i + 1) * n]);
                for m in 0..n {
                    k[m] = (z[m] - self.psi[m]) * inv;
                }
                return Ok(());
            }
            eta_prev = Some(eta);
        }
        let eta = self.norm(&self.delta);
        Err(StageFailure::Newton(
            NEWTON_MAX_ITER,
            self.worst(&self.delta),
            eta,
        ))
    }

    fn refresh_jacobian<S: OdeSystemJacobian + ?Sized>(
        &mut self,
        sys: &mut S,
        t: f64,
        y: &[f64],
        stats: &mut OdeStats,
    ) {
        sys.jacobian(t, y, self.jac.as_mut());
        stats.n_jac += 1;
        self.jac_current = true;
        self.have_jac = true;
        self.jac_refresh = false;
        self.lu_hg = f64::NAN;
    }
}

impl<S: OdeSystemJacobian + ?Sized, H: EsdirkHook<S>> OneStep<f64, S> for Esdirk<H> {
    fn error_order(&self) -> f64 {
        f64::from(self.tab.embedded_order + 1)
    }

    fn init(&mut self, sys: &mut S, t0: f64, y0: &[f64], stats: &mut OdeStats) {
        sys.eval(t0, y0, &mut self.k[..self.n]);
        stats.n_rhs += 1;
        self.jac_current = false;
    }

    fn f0(&self) -> &[f64] {
        &self.k[..self.n]
    }

    fn attempt(
        &mut self,
        sys: &mut S,
        step: StepAttempt<'_, f64>,
        stats: &mut OdeStats,
    ) -> Attempt {
        let StepAttempt {
            t,
            h,
            y,
            y_new,
            err,
            ..
        } = step;
        let n = self.n;
        let tab = self.tab;
        self.tol.scales_into(y, &mut self.w);
        self.z[..n].copy_from_slice(y);
        loop {
            if !self.have_jac || (self.jac_refresh && !self.jac_current) {
                self.refresh_jacobian(sys, t, y, stats);
            }
            let hg = h * tab.gamma;
            let same_lu = (hg - self.lu_hg).abs() <= 1e-12 * hg;
            if !same_lu {
                stats.n_lu += 1;
                if let Err(c) = self.lu.factor_shifted(self.jac.as_ref(), 1.0, -hg) {
                    self.lu_hg = f64::NAN;
                    return Attempt::Failed {
                        iterations: 0,
                        component: c,
                        residual: f64::INFINITY,
                    };
                }
                self.lu_hg = hg;
            }
            let mut failure = None;
            for i in 1..tab.stages() {
                if let Err(f) = self.solve_stage(sys, t, h, y, i, stats) {
                    failure = Some(f);
                    break;
                }
            }
            match failure {
                None => break,
                Some(StageFailure::NonFinite(component, value)) => {
                    return Attempt::NonFinite { component, value };
                }
                Some(StageFailure::Newton(iterations, component, residual)) => {
                    if !self.jac_current {
                        self.refresh_jacobian(sys, t, y, stats);
                        continue;
                    }
                    return Attempt::Failed {
                        iterations,
                        component,
                        residual,
                    };
                }
            }
        }
        let s = tab.stages();
        y_new.copy_from_slice(&self.z[(s - 1) * n..s * n]);
        err.fill(0.0);
        for (i, &e) in tab.b_err.iter().enumerate() {
            if e != 0.0 {
                let he = h * e;
                for (er, &ki) in err.iter_mut().zip(&self.k[i * n..(i + 1) * n]) {
                    *er += he * ki;
                }
            }
        }
        // Filter the estimate through (I − hγJ)⁻¹ so that stiff components, which the
        // method damps, do not dominate it (Hairer & Wanner 1996, IV.8, eq. (8.19)).
        self.lu.solve(err);
        Attempt::Done
    }

    fn dense_at(
        &mut self,
        _sys: &mut S,
        step: Step<'_, f64>,
        theta: f64,
        out: &mut [f64],
        _stats: &mut OdeStats,
    ) {
        let Step { h, y, y_new, .. } = step;
        let n = self.n;
        let s = self.tab.stages();
        let [a, b, w0, w1] = super::dense::hermite_weights(theta);
        for m in 0..n {
            out[m] = a * y[m] + b * y_new[m] + h * (w0 * self.k[m] + w1 * self.k[(s - 1) * n + m]);
        }
    }

    fn dense_coeffs(
        &mut self,
        _sys: &mut S,
        step: Step<'_, f64>,
        out: &mut Vec<f64>,
        _stats: &mut OdeStats,
    ) {
        let Step { h, y, y_new, .. } = step;
        let n = self.n;
        let s = self.tab.stages();
        super::dense::hermite_coeffs(y, y_new, &self.k[..n], &self.k[(s - 1) * n..], h, out);
    }

    fn accept(&mut self, sys: &mut S, step: Step<'_, f64>, _stats: &mut OdeStats) -> Result<()> {
        let n = self.n;
        let s = self.tab.stages();
        self.hook.on_accept(sys, self.tab, step, &self.z, &self.k)?;
        // First same as last: k₀ of the next step is f(t + h, y_new) = k_last.
        let (first, rest) = self.k.split_at_mut(n);
        first.copy_from_slice(&rest[(s - 2) * n..(s - 1) * n]);
        self.jac_current = false;
        Ok(())
    }
}
