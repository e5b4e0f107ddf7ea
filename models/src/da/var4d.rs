//! Strong-constraint 4D-Var, incremental (Courtier, Thépaut & Hollingsworth 1994, QJRMS
//! 120), with the tangent-linear and adjoint models from the engine's AD.
//!
//! Over a window of L model steps with background `x_b` at its start and observations
//! `y_k` at some steps `k ∈ {0, …, L}`, the initial state minimises
//!
//! $$ J(x_0) = ½ (x_0 − x_b)ᵀ B^{-1} (x_0 − x_b)
//!    + ½ \sum_k (y_k − h_k(M_k(x_0)))ᵀ R_k^{-1} (y_k − h_k(M_k(x_0))), $$
//!
//! `M_k` the model over k steps. In the control variable `x_0 = x_b + L v`, `B = LLᵀ`,
//! each *outer* loop j records the nonlinear trajectory from `x_0^j` on a tape once; the
//! *inner* loop minimises the quadratic
//!
//! $$ J^j(v) = ½ vᵀv + ½ \sum_k ‖H_k M'_k δ_0 − d_k‖²_{R_k^{-1}},\quad
//!    δ_0 = x_b + Lv − x_0^j,\ d_k = y_k − h_k(x_k^j), $$
//!
//! by L-BFGS ([`lbfgs`](mechml_engine::optim::lbfgs())), each gradient `v + Lᵀ Σ_k M'_kᵀ H_kᵀ R_k^{-1}(H_k M'_k δ_0 − d_k)`
//! costing one forward sweep (the tangent-linear model) and one reverse sweep (the adjoint)
//! over the recorded trajectory. For a linear model and observation operator one outer
//! loop gives the exact minimiser, which is the Kalman smoother's mean at the window
//! start (Rauch–Tung–Striebel with no model noise and prior `N(x_b, B)`).
//!
//! [`Var4d`] cycles windows as DAPPER's `Var4D` and the iEnKS of Bocquet & Sakov (2013,
//! NPG 20; 2014): a window of `lag` steps ends at the newest observation, only that
//! observation is assimilated (the background at the window start already carries the
//! older ones), and the window slides by one step, its new background the analysed initial
//! state advanced one step.

use faer::Mat;
use mechml_engine::ad::Tape;
use mechml_engine::linalg::Llt;
use mechml_engine::linalg::Par;
use mechml_engine::optim::{LbfgsOptions, Termination, lbfgs};
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::dynamics::Model;
use super::obs::ObsModel;

/// One observation in a window: the step k (0 = the window start), its model and value.
#[derive(Clone, Copy, Debug)]
pub struct WindowObs<'a> {
    /// Step in the window (0..=L).
    pub step: usize,
    /// The observation model.
    pub obs: &'a ObsModel,
    /// The observation.
    pub y: &'a [f64],
}

/// Options of a 4D-Var minimisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Var4dOptions {
    /// Outer loops (relinearisations), ≥ 1.
    #[serde(default = "default_outer")]
    pub outer_loops: usize,
    /// L-BFGS options of the inner loops.
    #[serde(default = "default_lbfgs")]
    pub lbfgs: LbfgsOptions,
}

fn default_outer() -> usize {
    3
}

fn default_lbfgs() -> LbfgsOptions {
    // The inner problem is quadratic: stop on the gradient, or when the cost decrease
    // reaches rounding (a relative 1e-14; the engine's default 1e-12 stops the outer
    // Gauss–Newton iteration with ‖∇J‖ ~ 1e-6 ‖∇J(x_b)‖).
    LbfgsOptions {
        grad_tol: 1e-8,
        f_tol: 1e-14,
        max_iters: 200,
        record_params: false,
        ..LbfgsOptions::default()
    }
}

impl Default for Var4dOptions {
    fn default() -> Self {
        Self {
            outer_loops: default_outer(),
            lbfgs: default_lbfgs(),
        }
    }
}

/// The result of one window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowAnalysis {
    /// The analysed initial state.
    pub x0: Vec<f64>,
    /// The analysed trajectory `x_0, …, x_L`.
    pub trajectory: Vec<Vec<f64>>,
    /// Inner iterations, summed over the outer loops.
    pub inner_iterations: usize,
    /// The nonlinear cost at the analysis.
    pub cost: f64,
}

/// A 4D-Var window problem: model, background, `B = LLᵀ`, length and observations.
pub struct Var4dProblem<'a, M: Model + ?Sized> {
    /// The model.
    pub model: &'a M,
    /// The background at the window start.
    pub xb: &'a [f64],
    /// The lower Cholesky factor L of B.
    pub b_chol: &'a Mat<f64>,
    /// Window length L in model steps.
    pub len: usize,
    /// The observations.
    pub obs: &'a [WindowObs<'a>],
}

impl<'a, M: Model + ?Sized> Var4dProblem<'a, M> {
    fn check(&self) -> Result<()> {
        let n = self.model.n_state();
        if self.xb.len() != n || self.b_chol.nrows() != n || self.b_chol.ncols() != n {
            return Err(Error::ShapeMismatch {
                op: "Var4dProblem",
                arg: "xb / b_chol",
                expected: format!("state dimension {n}"),
                found: format!(
                    "{} / {}x{}",
                    self.xb.len(),
                    self.b_chol.nrows(),
                    self.b_chol.ncols()
                ),
            });
        }
        for (k, o) in self.obs.iter().enumerate() {
            if o.step > self.len {
                return Err(Error::invalid_option(
                    "Var4dProblem",
                    format!("obs[{k}].step"),
                    o.step,
                    format!("<= window length {}", self.len),
                ));
            }
            o.obs.check_y(o.y, "Var4dProblem")?;
            if o.obs.operator.n_state() != n {
                return Err(Error::ShapeMismatch {
                    op: "Var4dProblem",
                    arg: "obs operator",
                    expected: format!("state dimension {n}"),
                    found: format!("{}", o.obs.operator.n_state()),
                });
            }
        }
        Ok(())
    }

    /// The nonlinear trajectory `x_0, …, x_L` from `x0`.
    pub fn trajectory(&self, x0: &[f64]) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(self.len + 1);
        let mut x = x0.to_vec();
        out.push(x.clone());
        for _ in 0..self.len {
            self.model.step(&mut x);
            out.push(x.clone());
        }
        out
    }

    /// `J(x0)` and `∇J(x0)` of the nonlinear cost, by one reverse sweep over the window.
    pub fn cost_grad(&self, x0: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.check()?;
        let n = x0.len();
        // Background term: w = L⁻¹(x0 − xb), J_b = ½‖w‖², ∇ = L⁻ᵀ w.
        let mut w = Mat::<f64>::from_fn(n, 1, |i, _| x0[i] - self.xb[i]);
        self.b_chol
            .as_ref()
            .solve_lower_triangular_in_place(w.as_mut());
        let jb = 0.5 * (0..n).map(|i| w[(i, 0)] * w[(i, 0)]).sum::<f64>();
        self.b_chol
            .transpose()
            .solve_upper_triangular_in_place(w.as_mut());
        let tape = Tape::new();
        let xs = tape.vars(x0);
        let mut state = xs.clone();
        let mut seeds: Vec<(u32, f64)> = Vec::new();
        let mut jo = 0.0;
        let mut xv = vec![0.0; n];
        for step in 0..=self.len {
            if step > 0 {
                self.model.step(&mut state);
            }
            for o in self.obs.iter().filter(|o| o.step == step) {
                for (i, v) in state.iter().enumerate() {
                    xv[i] = v.val();
                }
                let hx = o.obs.operator.eval(&xv)?;
                let z: Vec<f64> = (0..hx.len())
                    .map(|j| (hx[j] - o.y[j]) / o.obs.noise_var[j])
                    .collect();
                jo += 0.5 * (0..hx.len()).map(|j| (hx[j] - o.y[j]) * z[j]).sum::<f64>();
                let mut lam = vec![0.0; n];
                o.obs.operator.adjoint_add(&xv, &z, &mut lam);
                seeds.extend(
                    state
                        .iter()
                        .zip(&lam)
                        .filter(|(_, l)| **l != 0.0)
                        .filter_map(|(v, &l)| v.slot_if_var().map(|s| (s, l))),
                );
            }
        }
        let adj = tape.reverse(&seeds)?;
        let go = adj.wrt_slice(&xs);
        let g = (0..n).map(|i| w[(i, 0)] + go[i]).collect();
        Ok((jb + jo, g))
    }

    /// Incremental 4D-Var from the background (see the [module docs](self)).
    pub fn solve(&self, opts: &Var4dOptions) -> Result<WindowAnalysis> {
        self.check()?;
        if opts.outer_loops == 0 {
            return Err(Error::invalid_option(
                "Var4dOptions",
                "outer_loops",
                0,
                ">= 1",
            ));
        }
        let n = self.xb.len();
        let l = self.b_chol;
        let to_x = |v: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|i| self.xb[i] + (0..=i).map(|k| l[(i, k)] * v[k]).sum::<f64>())
                .collect()
        };
        let mut v = vec![0.0; n];
        let mut inner = 0;
        let mut scale = 1.0;
        for outer in 0..opts.outer_loops {
            let x0j = to_x(&v);
            let tape = Tape::new();
            let xs = tape.vars(&x0j);
            let mut state = xs.clone();
            // Per observation: the state variables at its step, the trajectory value there
            // and the innovation.
            let mut at_obs: Vec<(Vec<u32>, Vec<f64>, Vec<f64>)> = Vec::new();
            for step in 0..=self.len {
                if step > 0 {
                    self.model.step(&mut state);
                }
                for o in self.obs.iter().filter(|o| o.step == step) {
                    let vals: Vec<f64> = state.iter().map(|s| s.val()).collect();
                    let slots: Vec<u32> = state
                        .iter()
                        .map(|s| s.slot_if_var().unwrap_or(u32::MAX))
                        .collect();
                    let hx = o.obs.operator.eval(&vals)?;
                    let d: Vec<f64> = o.y.iter().zip(&hx).map(|(y, h)| y - h).collect();
                    at_obs.push((slots, vals, d));
                }
            }
            let x0_slots: Vec<u32> = xs.iter().map(|x| x.slot()).collect();
            let obs_list: Vec<&WindowObs<'_>> = {
                let mut list = Vec::new();
                for step in 0..=self.len {
                    list.extend(self.obs.iter().filter(|o| o.step == step));
                }
                list
            };
            let inner_cost = |vv: &[f64]| -> Result<(f64, Vec<f64>)> {
                let xt = to_x(vv);
                let delta: Vec<f64> = (0..n).map(|i| xt[i] - x0j[i]).collect();
                let tan_seeds: Vec<(u32, f64)> =
                    x0_slots.iter().zip(&delta).map(|(&s, &d)| (s, d)).collect();
                let tan = tape.forward(&tan_seeds)?;
                let mut j = 0.5 * vv.iter().map(|a| a * a).sum::<f64>();
                let mut seeds: Vec<(u32, f64)> = Vec::new();
                let mut dx = vec![0.0; n];
                for ((slots, vals, d), o) in at_obs.iter().zip(&obs_list) {
                    for (i, &s) in slots.iter().enumerate() {
                        dx[i] = if s == u32::MAX {
                            0.0
                        } else {
                            tan.slots_ref(s, 1)[0]
                        };
                    }
                    let mut hdx = vec![0.0; d.len()];
                    o.obs.operator.tangent(vals, &dx, &mut hdx);
                    let z: Vec<f64> = (0..d.len())
                        .map(|k| (hdx[k] - d[k]) / o.obs.noise_var[k])
                        .collect();
                    j += 0.5 * (0..d.len()).map(|k| (hdx[k] - d[k]) * z[k]).sum::<f64>();
                    let mut lam = vec![0.0; n];
                    o.obs.operator.adjoint_add(vals, &z, &mut lam);
                    seeds.extend(
                        slots
                            .iter()
                            .zip(&lam)
                            .filter(|(s, l)| **s != u32::MAX && **l != 0.0)
                            .map(|(&s, &l)| (s, l)),
                    );
                }
                let adj = tape.reverse(&seeds)?;
                let a = adj.wrt_slice(&xs);
                let g = (0..n)
                    .map(|k| vv[k] + (k..n).map(|i| l[(i, k)] * a[i]).sum::<f64>())
                    .collect();
                Ok((j, g))
            };
            if outer == 0 {
                scale = inf_norm(&inner_cost(&v)?.1).max(1.0);
            }
            let res = lbfgs(inner_cost, &v, &opts.lbfgs)?;
            inner += res.iterations;
            // Once the outer loops have converged the inner problem starts at its minimum
            // and its line search can only fail at rounding: accept a failed line search at
            // a gradient below 1e-6 of the first inner loop's initial one.
            let at_resolution = matches!(res.termination, Termination::LineSearchFailed { .. })
                && inf_norm(&res.gradient) <= 1e-6 * scale;
            if !(res.converged() || at_resolution) {
                return Err(Error::NoConvergence {
                    op: "Var4dProblem::solve",
                    iterations: res.iterations,
                    detail: format!(
                        "inner loop stopped by {:?}; raise the L-BFGS limits",
                        res.termination
                    ),
                });
            }
            v = res.x;
        }
        let x0 = to_x(&v);
        let cost = self.cost_grad(&x0)?.0;
        Ok(WindowAnalysis {
            trajectory: self.trajectory(&x0),
            x0,
            inner_iterations: inner,
            cost,
        })
    }
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Cycled 4D-Var with a static `B` (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Var4d {
    lag: usize,
    b_chol: Mat<f64>,
    options: Var4dOptions,
    start: Vec<f64>,
    len: usize,
}

/// The estimates of one 4D-Var cycle at the newest observation time.
#[derive(Clone, Debug, PartialEq)]
pub struct Var4dCycle {
    /// The background trajectory's end (the forecast).
    pub forecast: Vec<f64>,
    /// The analysed trajectory's end.
    pub analysis: Vec<f64>,
    /// Inner iterations.
    pub inner_iterations: usize,
}

impl Var4d {
    /// Windows of `lag ≥ 1` steps, `B` the background covariance, starting from `x0`.
    pub fn new(x0: Vec<f64>, b: &Mat<f64>, lag: usize, options: Var4dOptions) -> Result<Self> {
        if lag == 0 {
            return Err(Error::invalid_option("Var4d", "lag", 0, ">= 1"));
        }
        let b_chol = Llt::factor_named("Var4d", b.as_ref(), Par::Seq)?
            .l()
            .to_owned();
        Ok(Self {
            lag,
            b_chol,
            options,
            start: x0,
            len: 0,
        })
    }

    /// One cycle: the model advances one step, `y` (of `obs`) arrives and is assimilated
    /// over the window ending at it.
    pub fn cycle<M: Model + ?Sized>(
        &mut self,
        model: &M,
        obs: &ObsModel,
        y: &[f64],
    ) -> Result<Var4dCycle> {
        self.len += 1;
        let wobs = [WindowObs {
            step: self.len,
            obs,
            y,
        }];
        let problem = Var4dProblem {
            model,
            xb: &self.start,
            b_chol: &self.b_chol,
            len: self.len,
            obs: &wobs,
        };
        let forecast = problem
            .trajectory(&self.start)
            .pop()
            .expect("a window has at least one step");
        let wa = problem.solve(&self.options)?;
        let analysis = wa.trajectory[self.len].clone();
        if self.len == self.lag {
            self.start = wa.trajectory[1].clone();
            self.len -= 1;
        } else {
            self.start = wa.x0;
        }
        Ok(Var4dCycle {
            forecast,
            analysis,
            inner_iterations: wa.inner_iterations,
        })
    }
}
