//! Gradients through ODE solves.
//!
//! For outputs `y(τ₁), …, y(τ_m)` at the save times and cotangents `wₖ = ∂L/∂y(τₖ)`, the
//! vector–Jacobian product `Σₖ wₖᵀ ∂y(τₖ)/∂(y₀, p, t₁)` by one of four methods
//! ([`Sensitivity`]):
//!
//! * **Forward** ([`forward`]): the sensitivities `S = ∂y/∂(y₀, p)` solve
//!   `S' = J S + f_p`, `S(t₀) = [I 0]`. Explicit methods carry them as dual numbers through
//!   the same steps (step control on the primal only), so `S` is the exact derivative of
//!   the computed solution; ESDIRK and BDF propagate them through the linearised stage or
//!   corrector equations at each accepted step (exact derivative of the discrete scheme
//!   with the stage equations solved exactly). Cost ∝ `n + n_p` directions; memory `O(1)`
//!   in the number of steps.
//! * **Discrete adjoint** ([`discrete_adjoint`]): reverse-mode differentiation of the
//!   computed steps (Runge–Kutta adjoint recursion; Hager 2000, Numer. Math. 87; Sandu 2006),
//!   with the step sizes held fixed (as diffrax does), replayed segment by segment from
//!   checkpoints ([`checkpoint`]): exact for the computed solution, memory `O(√N)` states
//!   for `N` steps with [`Checkpointing::Auto`], one extra forward pass.
//! * **Continuous adjoint** ([`continuous_adjoint`]): the adjoint equation
//!   `λ' = −J(t, y(t))ᵀ λ` solved backwards from `λ(t₁) = w` with jumps `λ += wₖ` at the
//!   save times, with `y(t)` from a dense re-solve of each checkpoint segment, and
//!   `∂L/∂p = ∫ f_pᵀ λ dt` by Gauss–Legendre quadrature on each backward step (the
//!   "interpolating adjoint" with quadrature; Cao, Li, Petzold & Serban 2003, SIAM J. Sci.
//!   Comput. 24(3)); accurate to the tolerances of the two solves.
//! * **Backsolve**: the same adjoint equation with `y` integrated backwards alongside
//!   (`y' = f`, `λ' = −Jᵀλ`, `μ' = −f_pᵀλ`; Chen et al. 2018), memory `O(1)`, unstable for
//!   chaotic or strongly dissipative problems (the backward `y` diverges).
//!
//! The derivative with respect to `t₁` is `wᵀ f(t₁, y(t₁))` for outputs at `t₁`.

pub mod checkpoint;
pub mod continuous_adjoint;
pub mod discrete_adjoint;
mod explicit_small;
pub mod forward;
mod forward_sens;
mod tape;

use serde::{Deserialize, Serialize};

pub use forward_sens::ForwardSensitivities;
pub use tape::{TapeProblem, TapeSolve, TimeArg, solve_on_tape};

use super::method::Method;
use super::options::OdeOptions;
use super::problem::{OdeProblem, OdeRhs};
use super::solution::{OdeSolution, OdeStats};
use crate::error::{Error, Result};
use crate::solver::{Checkpointing, SaveAt};

/// How gradients through a solve are computed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Sensitivity {
    /// Forward sensitivities (dual numbers through explicit methods; linearised stages for
    /// ESDIRK and BDF).
    Forward,
    /// Discrete adjoint with checkpointing (explicit Runge–Kutta and ESDIRK).
    DiscreteAdjoint {
        /// Checkpoint policy.
        checkpointing: Checkpointing,
    },
    /// Continuous adjoint with the forward solution interpolated between checkpoints and
    /// quadrature for the parameters (every method).
    ContinuousAdjoint {
        /// Checkpoint policy.
        checkpointing: Checkpointing,
    },
    /// Continuous adjoint integrating `y` backwards (explicit methods).
    Backsolve,
}

impl Default for Sensitivity {
    fn default() -> Self {
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Auto,
        }
    }
}

/// What an adjoint used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdjointInfo {
    /// Largest number of `f64` held for the backward pass at any time, besides the step
    /// grid: checkpoint states plus one replayed segment's states and stages (or dense
    /// output), or the sensitivity matrices; `O(n)` work vectors excluded.
    pub peak_stored_f64: usize,
    /// Numbers held by the step grid of the forward pass (2 per accepted step).
    pub grid_f64: usize,
    /// Checkpoints kept by the forward pass.
    pub n_checkpoints: usize,
    /// Counts of the backward pass (replays and backward solves).
    pub backward: OdeStats,
}

/// The gradient of `Σₖ wₖᵀ y(τₖ)` with respect to the inputs of a solve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OdeGradient {
    /// With respect to `y₀`.
    pub y0: Vec<f64>,
    /// With respect to `p`.
    pub p: Vec<f64>,
    /// With respect to `t₁`.
    pub t1: f64,
    /// Memory and work.
    pub info: AdjointInfo,
}

/// Where a save time falls in the accepted step grid: `None` at `t₀`, else the step and
/// `θ ∈ (0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SaveLoc {
    pub step: Option<usize>,
    pub theta: f64,
}

/// Locates the save times `ts` in the step grid `steps` (as the time loop assigns them: a
/// time is taken by the first step ending at or after it).
pub(crate) fn locate_saves(ts: &[f64], steps: &[(f64, f64)], t0: f64) -> Vec<SaveLoc> {
    ts.iter()
        .map(|&tau| {
            if tau <= t0 || steps.is_empty() {
                return SaveLoc {
                    step: None,
                    theta: 0.0,
                };
            }
            // First step whose end is ≥ τ.
            let k = steps.partition_point(|&(t, h)| step_end(t, h, steps) < tau);
            let k = k.min(steps.len() - 1);
            let (t, h) = steps[k];
            let theta = if tau >= step_end(t, h, steps) {
                1.0
            } else {
                (tau - t) / h
            };
            SaveLoc {
                step: Some(k),
                theta,
            }
        })
        .collect()
}

/// The end of a step as the time loop computed it (`t + h`; the loop clips the last step
/// to `t₁` exactly, and `h` was recorded as `t_new − t`).
#[inline]
fn step_end(t: f64, h: f64, _steps: &[(f64, f64)]) -> f64 {
    t + h
}

/// The data a sensitivity method keeps between the forward solve and the
/// vector–Jacobian product.
#[derive(Clone, Debug)]
enum Stored {
    Forward { s: ForwardSensitivities },
    Discrete(checkpoint::Checkpoints),
    Continuous(checkpoint::Checkpoints),
    Backsolve { y1: Vec<f64> },
}

/// A solve prepared for gradients: the forward pass has run; [`SensitivitySolve::vjp`]
/// returns the gradient for any cotangents of the saved states (and may be called
/// several times).
#[derive(Clone, Debug)]
pub struct SensitivitySolve<F> {
    pub(crate) problem: OdeProblem<F>,
    method: Method,
    options: OdeOptions,
    sensitivity: Sensitivity,
    solution: OdeSolution,
    stored: Stored,
}

impl<F: OdeRhs + Clone> SensitivitySolve<F> {
    /// Runs the forward pass of `sensitivity`.
    ///
    /// # Errors
    /// Those of [`solve`](fn@super::solve); [`Error::Unsupported`] for a method that does not
    /// support the sensitivity (naming alternatives) or for `SaveAt::Every`.
    pub fn new(
        problem: &OdeProblem<F>,
        method: Method,
        options: &OdeOptions,
        sensitivity: Sensitivity,
    ) -> Result<Self> {
        problem.validate()?;
        options.validate(problem.y0.len(), problem.t0, problem.t1)?;
        if let SaveAt::Every(k) = options.save_at {
            return Err(Error::Unsupported {
                op: "ode sensitivity",
                reason: format!(
                    "SaveAt::Every({k}): save at fixed times (SaveAt::Times) to differentiate"
                ),
            });
        }
        match sensitivity {
            Sensitivity::DiscreteAdjoint { checkpointing }
            | Sensitivity::ContinuousAdjoint { checkpointing } => {
                checkpointing.validate("ode sensitivity")?
            }
            Sensitivity::Forward | Sensitivity::Backsolve => {}
        }
        let fam = method.check_sensitivity(sensitivity, options)?;
        let (solution, stored) = match sensitivity {
            Sensitivity::Forward => {
                let (sol, s) = forward::forward_sensitivities_family(problem, fam, options)?;
                let s =
                    ForwardSensitivities::from_state_first(problem.y0.len(), problem.p.len(), &s);
                (sol, Stored::Forward { s })
            }
            Sensitivity::DiscreteAdjoint { checkpointing } => {
                let (sol, c) =
                    discrete_adjoint::forward_pass(problem, method, options, checkpointing)?;
                (sol, Stored::Discrete(c))
            }
            Sensitivity::ContinuousAdjoint { checkpointing } => {
                let (sol, c) =
                    continuous_adjoint::forward_pass(problem, method, options, checkpointing)?;
                (sol, Stored::Continuous(c))
            }
            Sensitivity::Backsolve => {
                // The backward solve starts from y(t1): save it too.
                let mut ts = super::driver::save_times(&options.save_at, problem.t1);
                let extra = ts.last() != Some(&problem.t1);
                if extra {
                    ts.push(problem.t1);
                }
                let opts = OdeOptions {
                    save_at: SaveAt::Times(ts),
                    ..options.clone()
                };
                let mut sol = super::solve(problem, method, &opts)?;
                let y1 = sol.ys.last().cloned().unwrap_or_default();
                if extra {
                    sol.ts.pop();
                    sol.ys.pop();
                }
                (sol, Stored::Backsolve { y1 })
            }
        };
        Ok(Self {
            problem: problem.clone(),
            method,
            options: options.clone(),
            sensitivity,
            solution,
            stored,
        })
    }

    /// The forward solution.
    pub fn solution(&self) -> &OdeSolution {
        &self.solution
    }

    /// The sensitivity method.
    pub fn sensitivity(&self) -> Sensitivity {
        self.sensitivity
    }

    /// The forward sensitivities `∂y(τₖ)/∂(p, y₀)`, if this is a
    /// [`Sensitivity::Forward`] solve.
    pub fn forward_sensitivities(&self) -> Option<&ForwardSensitivities> {
        match &self.stored {
            Stored::Forward { s } => Some(s),
            _ => None,
        }
    }

    /// The gradient of `Σₖ wₖᵀ y(τₖ)`, one cotangent `wₖ` (length n) per save time.
    pub fn vjp(&self, w: &[Vec<f64>]) -> Result<OdeGradient> {
        let n = self.problem.y0.len();
        crate::error::check_len("ode vjp", "cotangents", w.len(), self.solution.ts.len())?;
        for wk in w {
            crate::error::check_len("ode vjp", "cotangent", wk.len(), n)?;
            crate::error::check_finite("ode vjp", "cotangent", wk)?;
        }
        let mut g = match &self.stored {
            Stored::Forward { s } => {
                let (y0, p) = s.vjp(w);
                OdeGradient {
                    y0,
                    p,
                    t1: 0.0,
                    info: AdjointInfo {
                        peak_stored_f64: s.n_times() * n * (n + self.problem.p.len()),
                        ..AdjointInfo::default()
                    },
                }
            }
            Stored::Discrete(c) => discrete_adjoint::vjp(
                &self.problem,
                self.method,
                &self.options,
                &self.solution,
                c,
                w,
            )?,
            Stored::Continuous(c) => continuous_adjoint::vjp(
                &self.problem,
                self.method,
                &self.options,
                &self.solution,
                c,
                w,
            )?,
            Stored::Backsolve { y1 } => continuous_adjoint::backsolve_vjp(
                &self.problem,
                self.method,
                &self.options,
                &self.solution,
                y1,
                w,
            )?,
        };
        g.t1 = t1_gradient(&self.problem, &self.solution, w);
        Ok(g)
    }
}

/// `Σ wₖᵀ f(t₁, y(t₁))` over the outputs at `t₁`.
fn t1_gradient<F: OdeRhs>(problem: &OdeProblem<F>, sol: &OdeSolution, w: &[Vec<f64>]) -> f64 {
    let n = problem.y0.len();
    let mut f = vec![0.0; n];
    let mut done = false;
    let mut g = 0.0;
    for (k, &tau) in sol.ts.iter().enumerate() {
        if tau >= problem.t1 {
            if !done {
                problem.rhs.rhs(problem.t1, &sol.ys[k], &problem.p, &mut f);
                done = true;
            }
            g += w[k].iter().zip(&f).map(|(a, b)| a * b).sum::<f64>();
        }
    }
    g
}

/// Value and gradient of a loss of the saved states: `loss(solution)` returns the value
/// and `∂L/∂y(τₖ)` for every save time.
///
/// ```
/// use mechml_engine::ode::problems::LotkaVolterra;
/// use mechml_engine::ode::{gradient, Method, OdeOptions, OdeProblem, Sensitivity};
///
/// let prob = OdeProblem::new(LotkaVolterra, 0.0, 10.0, vec![1.0, 1.0], vec![1.5, 1.0, 3.0, 1.0])?;
/// // L = Σ y(T)²: dL/dy = 2 y(T).
/// let (loss, g) = gradient(&prob, Method::Tsit5, &OdeOptions::with_tol(1e-8, 1e-8), Sensitivity::default(), |sol| {
///     let y = sol.y_final();
///     (y.iter().map(|v| v * v).sum(), vec![y.iter().map(|v| 2.0 * v).collect()])
/// })?;
/// // WORKLOADS.md §7: L = 1.8809214…, dL/dα = −6.9485028….
/// assert!((loss - 1.880921439569346).abs() < 1e-5);
/// assert!((g.p[0] + 6.94850281620019).abs() < 1e-4);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn gradient<F, L>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
    sensitivity: Sensitivity,
    loss: L,
) -> Result<(f64, OdeGradient)>
where
    F: OdeRhs + Clone,
    L: FnOnce(&OdeSolution) -> (f64, Vec<Vec<f64>>),
{
    let s = SensitivitySolve::new(problem, method, options, sensitivity)?;
    let (value, w) = loss(s.solution());
    Ok((value, s.vjp(&w)?))
}

/// The solution and the forward sensitivities `∂y(τₖ)/∂(p, y₀)` at every save time (see
/// [`ForwardSensitivities`] for an example).
///
/// # Errors
/// As [`SensitivitySolve::new`] with [`Sensitivity::Forward`].
pub fn forward_sensitivities<F: OdeRhs + Clone>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
) -> Result<(OdeSolution, ForwardSensitivities)> {
    let s = SensitivitySolve::new(problem, method, options, Sensitivity::Forward)?;
    match s.stored {
        Stored::Forward { s: sens } => Ok((s.solution, sens)),
        _ => unreachable!("a Forward solve stores forward sensitivities"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_are_located_like_the_time_loop() {
        let steps = [(0.0, 0.5), (0.5, 0.25), (0.75, 0.25)];
        let locs = locate_saves(&[0.0, 0.1, 0.5, 0.6, 1.0], &steps, 0.0);
        assert_eq!(locs[0].step, None);
        assert_eq!((locs[1].step, locs[1].theta), (Some(0), 0.2));
        assert_eq!((locs[2].step, locs[2].theta), (Some(0), 1.0));
        assert_eq!(locs[3].step, Some(1));
        assert!((locs[3].theta - 0.4).abs() < 1e-12);
        assert_eq!((locs[4].step, locs[4].theta), (Some(2), 1.0));
    }
}
