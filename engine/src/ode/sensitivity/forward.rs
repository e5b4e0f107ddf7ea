//! Forward sensitivities `S = ∂y/∂(y₀, p)`, `S' = J S + f_p`, `S(t₀) = [I 0]`.
//!
//! * Explicit Runge–Kutta: the whole solve runs on multi-tangent dual numbers
//!   ([`DualN`]), one tangent per direction (`n + n_p` of them, in passes of at most 8);
//!   the step-size control reads the primal values only, so every pass takes exactly the
//!   primal's steps and `S` is the derivative of the computed solution (Ma et al. 2021,
//!   "A comparison of automatic differentiation and continuous sensitivity analysis for
//!   derivatives of differential equation solutions").
//! * ESDIRK: at each accepted step the stage tangents solve the linearised stage equations
//!   `(I − hγJᵢ) K̇ᵢ = Jᵢ ψ̇ᵢ + f_{p,i}`, `ψ̇ᵢ = S + h Σ_{j<i} aᵢⱼ K̇ⱼ`, with the exact
//!   Jacobians at the stage values; `S_new = S + h Σ bᵢ K̇ᵢ` (the staggered direct method
//!   of Caracotsios & Stewart 1985, for Runge–Kutta stages).
//! * BDF: the sensitivity difference arrays follow the same linear maps as `D`; the
//!   corrector's tangent solves `(I − cJ) ḋ = c (J Ṡ⁰ + f_p) − ψ̇` at each accepted step
//!   (as CVODES's staggered corrector, solved directly).

use faer::Mat;

use crate::ad::DualN;
use crate::error::{Error, Result};
use crate::ode::bdf::coeffs::{alpha, gamma, interp_weights};
use crate::ode::bdf::{self, Bdf, BdfHook};
use crate::ode::driver::{NoObserver, Span, integrate, save_times};
use crate::ode::explicit::ExplicitRk;
use crate::ode::linsolve::LuWork;
use crate::ode::method::Family;
use crate::ode::one_step::Step;
use crate::ode::options::OdeOptions;
use crate::ode::problem::{OdeProblem, OdeRhs};
use crate::ode::sdirk::{Esdirk, EsdirkHook, EsdirkTableau};
use crate::ode::solution::OdeSolution;
use crate::ode::system::{RhsSystem, jacobian_yp_by_duals};
use crate::ode::tableau::ButcherTableau;

/// Forward sensitivities for a method family (Rosenbrock is rejected earlier).
pub(crate) fn forward_sensitivities_family<F: OdeRhs>(
    problem: &OdeProblem<F>,
    fam: Family,
    options: &OdeOptions,
) -> Result<(OdeSolution, Vec<Mat<f64>>)> {
    match fam {
        Family::Explicit { tab, dt } => explicit(problem, tab, dt.or(options.fixed_step), options),
        Family::Esdirk(tab) => esdirk(problem, tab, options),
        Family::Bdf => bdf_forward(problem, options),
        Family::Rosenbrock(_) => Err(Error::Unsupported {
            op: "ode forward sensitivities",
            reason: "Rosenbrock methods: use Kvaerno5 or Bdf".into(),
        }),
    }
}

/// One pass of the explicit solve on `DualN<N>` carrying directions `start..start + N`.
fn explicit_pass<F: OdeRhs, const N: usize>(
    problem: &OdeProblem<F>,
    tab: &'static ButcherTableau,
    dt: Option<f64>,
    options: &OdeOptions,
    start: usize,
    sens: &mut [Mat<f64>],
) -> Result<OdeSolution> {
    let n = problem.y0.len();
    let seed = |k: usize, v: f64| {
        if k >= start && k < start + N {
            DualN::<N>::seed(v, k - start)
        } else {
            DualN::<N>::constant(v)
        }
    };
    let y0: Vec<DualN<N>> = problem
        .y0
        .iter()
        .enumerate()
        .map(|(i, &v)| seed(i, v))
        .collect();
    let p: Vec<DualN<N>> = problem
        .p
        .iter()
        .enumerate()
        .map(|(i, &v)| seed(n + i, v))
        .collect();
    let mut sys = RhsSystem::new(&problem.rhs, &p);
    let mut method = ExplicitRk::<DualN<N>>::new(tab, n);
    let mut controller = options.controller.clone();
    let out = integrate(
        &mut sys,
        &mut method,
        &mut controller,
        Span {
            t0: problem.t0,
            t1: problem.t1,
            y0: &y0,
        },
        options,
        dt,
        &mut NoObserver,
    )?;
    let m = sens.first().map_or(0, |s| s.ncols());
    for (sk, yk) in sens.iter_mut().zip(&out.ys) {
        for (r, y) in yk.iter().enumerate() {
            for d in 0..N {
                if start + d < m {
                    sk[(r, start + d)] = y.d[d];
                }
            }
        }
    }
    Ok(OdeSolution {
        ts: out.ts,
        ys: out
            .ys
            .iter()
            .map(|y| y.iter().map(|v| v.v).collect())
            .collect(),
        stats: out.stats,
        dense: out.dense,
    })
}

fn explicit<F: OdeRhs>(
    problem: &OdeProblem<F>,
    tab: &'static ButcherTableau,
    dt: Option<f64>,
    options: &OdeOptions,
) -> Result<(OdeSolution, Vec<Mat<f64>>)> {
    let n = problem.y0.len();
    let m = n + problem.p.len();
    let n_save = save_times(&options.save_at, problem.t1).len();
    let mut sens = vec![Mat::zeros(n, m); n_save];
    // One pass with just enough tangents for small problems; passes of 8 otherwise.
    let sol = match m {
        0..=1 => explicit_pass::<F, 1>(problem, tab, dt, options, 0, &mut sens)?,
        2 => explicit_pass::<F, 2>(problem, tab, dt, options, 0, &mut sens)?,
        3 => explicit_pass::<F, 3>(problem, tab, dt, options, 0, &mut sens)?,
        4 => explicit_pass::<F, 4>(problem, tab, dt, options, 0, &mut sens)?,
        5..=6 => explicit_pass::<F, 6>(problem, tab, dt, options, 0, &mut sens)?,
        _ => {
            let first = explicit_pass::<F, 8>(problem, tab, dt, options, 0, &mut sens)?;
            let mut start = 8;
            while start < m {
                explicit_pass::<F, 8>(problem, tab, dt, options, start, &mut sens)?;
                start += 8;
            }
            first
        }
    };
    Ok((sol, sens))
}

/// `[J | J_p]` at `(t, y)` and the tangent of `f` in the directions `(S, P)`:
/// `out = J S + f_p P`, where `P` selects the parameter directions (column `n + j` is
/// parameter `j`).
struct Tangents<'a, F> {
    rhs: &'a F,
    p: &'a [f64],
    n: usize,
    m: usize,
    jyp: Mat<f64>,
}

impl<F: OdeRhs> Tangents<'_, F> {
    /// `J S + f_p P` at `(t, y)` into `out` (n × m); leaves `[J | J_p]` in `self.jyp`.
    fn f_dot(&mut self, t: f64, y: &[f64], s: &Mat<f64>, out: &mut Mat<f64>) {
        jacobian_yp_by_duals(self.rhs, t, y, self.p, &mut self.jyp);
        let (n, m) = (self.n, self.m);
        for c in 0..m {
            for r in 0..n {
                let mut acc = if c >= n { self.jyp[(r, c)] } else { 0.0 };
                for j in 0..n {
                    acc += self.jyp[(r, j)] * s[(j, c)];
                }
                out[(r, c)] = acc;
            }
        }
    }
}

/// Initial sensitivity `[I 0]`.
fn s0(n: usize, m: usize) -> Mat<f64> {
    Mat::from_fn(n, m, |r, c| if r == c { 1.0 } else { 0.0 })
}

/// The ESDIRK tangent propagation (an [`EsdirkHook`]).
struct EsdirkTangents<'a, F> {
    tan: Tangents<'a, F>,
    s: Mat<f64>,
    kdot: Vec<Mat<f64>>,
    lu: LuWork,
    save_ts: Vec<f64>,
    next_save: usize,
    out: Vec<Mat<f64>>,
}

impl<F: OdeRhs, S: ?Sized> EsdirkHook<S> for EsdirkTangents<'_, F> {
    fn on_accept(
        &mut self,
        _sys: &mut S,
        tab: &EsdirkTableau,
        step: Step<'_, f64>,
        z: &[f64],
        _k: &[f64],
    ) -> Result<()> {
        let Step { t, h, y, .. } = step;
        let (n, m) = (self.tan.n, self.tan.m);
        let st = tab.stages();
        let hg = h * tab.gamma;
        // Stage 0 is explicit: K̇₀ = J(t, y) S + f_p.
        let mut kd0 = Mat::zeros(n, m);
        self.tan.f_dot(t, y, &self.s, &mut kd0);
        self.kdot[0] = kd0;
        let mut psi = Mat::zeros(n, m);
        let mut rhs = Mat::zeros(n, m);
        let mut col = vec![0.0; n];
        for i in 1..st {
            for c in 0..m {
                for r in 0..n {
                    let mut v = self.s[(r, c)];
                    for (j, &a) in tab.a[i].iter().enumerate() {
                        v += h * a * self.kdot[j][(r, c)];
                    }
                    psi[(r, c)] = v;
                }
            }
            let zi = &z[i * n..(i + 1) * n];
            self.tan.f_dot(t + tab.c[i] * h, zi, &psi, &mut rhs);
            if let Err(idx) = self.lu.factor_shifted(self.tan.jyp.subcols(0, n), 1.0, -hg) {
                return Err(Error::Singular {
                    op: "ode forward sensitivities (ESDIRK stage matrix)",
                    index: idx,
                });
            }
            for c in 0..m {
                for r in 0..n {
                    col[r] = rhs[(r, c)];
                }
                self.lu.solve(&mut col);
                for r in 0..n {
                    self.kdot[i][(r, c)] = col[r];
                }
            }
        }
        let mut s_new = self.s.clone();
        for (i, &b) in tab.b.iter().enumerate() {
            if b != 0.0 {
                for c in 0..m {
                    for r in 0..n {
                        s_new[(r, c)] += h * b * self.kdot[i][(r, c)];
                    }
                }
            }
        }
        let t_new = step.t_new;
        while self.next_save < self.save_ts.len() && self.save_ts[self.next_save] <= t_new {
            let tau = self.save_ts[self.next_save];
            if tau >= t_new {
                self.out.push(s_new.clone());
            } else {
                let [a, b, w0, w1] = crate::ode::dense::hermite_weights((tau - t) / h);
                let last = &self.kdot[st - 1];
                let k0 = &self.kdot[0];
                self.out.push(Mat::from_fn(n, m, |r, c| {
                    a * self.s[(r, c)]
                        + b * s_new[(r, c)]
                        + h * (w0 * k0[(r, c)] + w1 * last[(r, c)])
                }));
            }
            self.next_save += 1;
        }
        self.s = s_new;
        Ok(())
    }
}

fn esdirk<F: OdeRhs>(
    problem: &OdeProblem<F>,
    tab: &'static EsdirkTableau,
    options: &OdeOptions,
) -> Result<(OdeSolution, Vec<Mat<f64>>)> {
    let n = problem.y0.len();
    let m = n + problem.p.len();
    let save_ts = save_times(&options.save_at, problem.t1);
    let mut out = Vec::new();
    let mut next_save = 0;
    while next_save < save_ts.len() && save_ts[next_save] <= problem.t0 {
        out.push(s0(n, m));
        next_save += 1;
    }
    let hook = EsdirkTangents {
        tan: Tangents {
            rhs: &problem.rhs,
            p: &problem.p,
            n,
            m,
            jyp: Mat::zeros(n, m),
        },
        s: s0(n, m),
        kdot: vec![Mat::zeros(n, m); tab.stages()],
        lu: LuWork::new(n),
        save_ts,
        next_save,
        out,
    };
    let mut stepper = Esdirk::with_hook(tab, n, options, hook);
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let mut controller = options.controller.clone();
    let res = integrate(
        &mut sys,
        &mut stepper,
        &mut controller,
        problem.span(),
        options,
        options.fixed_step,
        &mut NoObserver,
    )?;
    let hook = stepper.hook;
    Ok((res.into_solution(), hook.out))
}

/// The BDF tangent propagation (a [`BdfHook`]): difference arrays of `S`, row `j` at
/// `sd[j·n·m..]` (column-major n × m blocks).
struct BdfTangents<'a, F> {
    tan: Tangents<'a, F>,
    sd: Vec<f64>,
    ds: Vec<f64>,
    lu: LuWork,
    w: Vec<f64>,
    save_ts: Vec<f64>,
    next_save: usize,
    out: Vec<Mat<f64>>,
}

impl<F: OdeRhs> BdfTangents<'_, F> {
    fn block(&self, j: usize) -> &[f64] {
        let nm = self.tan.n * self.tan.m;
        &self.sd[j * nm..(j + 1) * nm]
    }
}

impl<F: OdeRhs> BdfHook for BdfTangents<'_, F> {
    fn init(&mut self, t0: f64, y0: &[f64], h: f64) {
        let (n, m) = (self.tan.n, self.tan.m);
        let nm = n * m;
        self.sd = vec![0.0; (bdf::MAX_ORDER + 3) * nm];
        let s = s0(n, m);
        let mut fd = Mat::zeros(n, m);
        self.tan.f_dot(t0, y0, &s, &mut fd);
        for c in 0..m {
            for r in 0..n {
                self.sd[c * n + r] = s[(r, c)];
                self.sd[nm + c * n + r] = h * fd[(r, c)];
            }
        }
        while self.next_save < self.save_ts.len() && self.save_ts[self.next_save] <= t0 {
            self.out.push(s.clone());
            self.next_save += 1;
        }
    }

    fn change_d(&mut self, k: usize, r: f64) {
        let nm = self.tan.n * self.tan.m;
        bdf::coeffs::change_d(&mut self.sd, nm, k, r);
    }

    fn on_accept(&mut self, k: usize, c: f64, t_new: f64, y_new: &[f64]) -> Result<()> {
        let (n, m) = (self.tan.n, self.tan.m);
        let nm = n * m;
        let a = alpha(k);
        // Predicted tangent and ψ̇.
        let mut s_pred = Mat::zeros(n, m);
        let mut psi = vec![0.0; nm];
        for j in 0..=k {
            let b = self.block(j).to_vec();
            for cc in 0..m {
                for r in 0..n {
                    s_pred[(r, cc)] += b[cc * n + r];
                    if j >= 1 {
                        psi[cc * n + r] += gamma(j) * b[cc * n + r] / a;
                    }
                }
            }
        }
        let mut fd = Mat::zeros(n, m);
        self.tan.f_dot(t_new, y_new, &s_pred, &mut fd);
        if let Err(idx) = self.lu.factor_shifted(self.tan.jyp.subcols(0, n), 1.0, -c) {
            return Err(Error::Singular {
                op: "ode forward sensitivities (BDF corrector matrix)",
                index: idx,
            });
        }
        self.ds.resize(nm, 0.0);
        let mut col = vec![0.0; n];
        for cc in 0..m {
            for r in 0..n {
                col[r] = c * fd[(r, cc)] - psi[cc * n + r];
            }
            self.lu.solve(&mut col);
            self.ds[cc * n..(cc + 1) * n].copy_from_slice(&col);
        }
        Ok(())
    }

    fn update_d(&mut self, k: usize, step: Step<'_, f64>) {
        let (n, m) = (self.tan.n, self.tan.m);
        let nm = n * m;
        for i in 0..nm {
            self.sd[(k + 2) * nm + i] = self.ds[i] - self.sd[(k + 1) * nm + i];
            self.sd[(k + 1) * nm + i] = self.ds[i];
        }
        for j in (0..=k).rev() {
            for i in 0..nm {
                self.sd[j * nm + i] += self.sd[(j + 1) * nm + i];
            }
        }
        // The tangents at the save times inside the step, from the updated differences.
        while self.next_save < self.save_ts.len() && self.save_ts[self.next_save] <= step.t_new {
            let ts = self.save_ts[self.next_save];
            let theta = if ts >= step.t_new {
                1.0
            } else {
                (ts - step.t) / step.h
            };
            interp_weights(k, theta, &mut self.w);
            let mut s = Mat::zeros(n, m);
            for (j, &wj) in self.w.iter().enumerate().take(k + 1) {
                let b = self.block(j);
                for cc in 0..m {
                    for r in 0..n {
                        s[(r, cc)] += wj * b[cc * n + r];
                    }
                }
            }
            self.out.push(s);
            self.next_save += 1;
        }
    }
}

fn bdf_forward<F: OdeRhs>(
    problem: &OdeProblem<F>,
    options: &OdeOptions,
) -> Result<(OdeSolution, Vec<Mat<f64>>)> {
    let n = problem.y0.len();
    let m = n + problem.p.len();
    let hook = BdfTangents {
        tan: Tangents {
            rhs: &problem.rhs,
            p: &problem.p,
            n,
            m,
            jyp: Mat::zeros(n, m),
        },
        sd: Vec::new(),
        ds: Vec::new(),
        lu: LuWork::new(n),
        w: vec![0.0; bdf::MAX_ORDER + 3],
        save_ts: save_times(&options.save_at, problem.t1),
        next_save: 0,
        out: Vec::new(),
    };
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let mut stepper = Bdf::with_hook(n, options, hook);
    let res = integrate(
        &mut sys,
        &mut stepper,
        &mut options.controller.clone(),
        problem.span(),
        options,
        None,
        &mut NoObserver,
    )?;
    Ok((res.into_solution(), stepper.hook.out))
}
