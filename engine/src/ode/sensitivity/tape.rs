//! A solve as one block on the tape: inputs `y₀`, `p` and `t₁`, outputs the states at
//! the save times. The forward pass of the chosen [`Sensitivity`] runs when the block is
//! recorded; its pullback is that method's vector–Jacobian product (the steps are
//! replayed from the saved checkpoints inside the pullback, never recorded on the
//! caller's tape).

use std::borrow::Cow;

use super::{Sensitivity, SensitivitySolve};
use crate::ad::{BlockArg, BlockOp, InputAdjoints, InputTangents, Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result};
use crate::ode::method::Method;
use crate::ode::options::OdeOptions;
use crate::ode::problem::{OdeProblem, OdeRhs};
use crate::ode::solution::{OdeSolution, OdeStats};

/// The end time of a solve on the tape: a constant `f64` or a tape variable.
pub trait TimeArg<'t> {
    /// As a (possibly constant) variable.
    fn into_var(self) -> Var<'t>;
}

impl<'t> TimeArg<'t> for f64 {
    fn into_var(self) -> Var<'t> {
        Var::constant(self)
    }
}

impl<'t> TimeArg<'t> for Var<'t> {
    fn into_var(self) -> Var<'t> {
        self
    }
}

/// The outputs of [`solve_on_tape`].
#[derive(Debug)]
pub struct TapeSolve<'t> {
    /// `n × m` states: column `k` is `y(τₖ)`.
    pub states: VarMat<'t>,
    /// The save times `τₖ`.
    pub ts: Vec<f64>,
    /// Counts of the forward pass.
    pub stats: OdeStats,
}

impl<'t> TapeSolve<'t> {
    /// The state at save time `k` as scalar variables.
    pub fn state(&self, k: usize) -> Vec<Var<'t>> {
        (0..self.states.nrows())
            .filter_map(|i| self.states.get(i, k))
            .collect()
    }
}

struct OdeSolveOp<F> {
    solve: SensitivitySolve<F>,
    n: usize,
}

impl<F: OdeRhs + Clone + Send + 'static> BlockOp for OdeSolveOp<F> {
    fn name(&self) -> &'static str {
        "ode_solve"
    }

    fn pullback(&self, out_adj: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let n = self.n;
        let w: Vec<Vec<f64>> = out_adj.chunks(n).map(|c| c.to_vec()).collect();
        let g = self.solve.vjp(&w)?;
        if let Some(mut a) = inputs.arg(0) {
            for (x, v) in a.iter_mut().zip(&g.y0) {
                *x += v;
            }
        }
        if let Some(mut a) = inputs.arg(1) {
            for (x, v) in a.iter_mut().zip(&g.p) {
                *x += v;
            }
        }
        if let Some(mut a) = inputs.arg(2) {
            a[0] += g.t1;
        }
        Ok(())
    }

    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out_tan: &mut [f64]) -> Result<()> {
        let Some(s) = self.solve.forward_sensitivities() else {
            return Err(Error::Unsupported {
                op: "ode_solve",
                reason: "forward mode over the tape needs Sensitivity::Forward".into(),
            });
        };
        let n = self.n;
        let np = s.n_params();
        let dy0 = inputs.arg(0).unwrap_or(Cow::Owned(vec![0.0; n]));
        let dp = inputs.arg(1).unwrap_or(Cow::Owned(vec![0.0; np]));
        let dt1 = inputs.arg(2).map_or(0.0, |v| v[0]);
        let sol = self.solve.solution();
        let prob = &self.solve.problem;
        let mut f1 = vec![0.0; n];
        if dt1 != 0.0
            && let Some(y) = sol.ys.last()
        {
            prob.rhs.rhs(prob.t1, y, &prob.p, &mut f1);
        }
        for k in 0..s.n_times() {
            let out = &mut out_tan[k * n..(k + 1) * n];
            s.jvp_into(k, &dp, &dy0, out);
            if sol.ts[k] >= prob.t1 {
                for (o, f) in out.iter_mut().zip(&f1) {
                    *o += f * dt1;
                }
            }
        }
        Ok(())
    }
}

/// An initial-value problem whose inputs are tape variables: the right-hand side, the
/// start time, the end time (a constant or a variable), the initial state and the
/// parameters ([`solve_on_tape`]).
#[derive(Clone, Debug)]
pub struct TapeProblem<'a, 't, F> {
    /// The right-hand side.
    pub rhs: F,
    /// Start time.
    pub t0: f64,
    /// End time (`> t0`), constant or a variable.
    pub t1: Var<'t>,
    /// Initial state.
    pub y0: &'a VarVec<'t>,
    /// Parameters.
    pub p: &'a VarVec<'t>,
}

impl<'a, 't, F: OdeRhs> TapeProblem<'a, 't, F> {
    /// The problem `y' = rhs(t, y, p)`, `y(t0) = y0` on `[t0, t1]`; `t1` is an `f64` or a
    /// [`Var`].
    pub fn new(
        rhs: F,
        t0: f64,
        t1: impl TimeArg<'t>,
        y0: &'a VarVec<'t>,
        p: &'a VarVec<'t>,
    ) -> Self {
        Self {
            rhs,
            t0,
            t1: t1.into_var(),
            y0,
            p,
        }
    }
}

/// Solves `problem` as one block on `tape`, with gradients with respect to `y₀`, `p`
/// and `t₁` by `sensitivity`.
///
/// The save times come from `options.save_at` (`SaveAt::Final` or `SaveAt::Times`);
/// the outputs are an `n × m` matrix of variables, column `k` the state at time `k`.
/// See the [module documentation](crate::ode) for an example.
///
/// # Errors
/// As [`SensitivitySolve::new`]; [`Error::MixedTapes`] if the inputs live on another
/// tape.
pub fn solve_on_tape<'t, F>(
    tape: &'t Tape,
    problem: TapeProblem<'_, 't, F>,
    method: Method,
    options: &OdeOptions,
    sensitivity: Sensitivity,
) -> Result<TapeSolve<'t>>
where
    F: OdeRhs + Clone + Send + 'static,
{
    let TapeProblem { rhs, t0, t1, y0, p } = problem;
    for t in [y0.tape(), p.tape()].into_iter().flatten() {
        if !std::ptr::eq(t, tape) {
            return Err(Error::MixedTapes { op: "ode_solve" });
        }
    }
    if let Some(t) = t1.tape()
        && !std::ptr::eq(t, tape)
    {
        return Err(Error::MixedTapes { op: "ode_solve" });
    }
    let problem = OdeProblem::new(rhs, t0, t1.val(), y0.values().to_vec(), p.values().to_vec())?;
    let n = problem.y0.len();
    let solve = SensitivitySolve::new(&problem, method, options, sensitivity)?;
    let sol: &OdeSolution = solve.solution();
    let m = sol.ts.len();
    let values: Vec<f64> = sol.ys.iter().flatten().copied().collect();
    let ts = sol.ts.clone();
    let stats = sol.stats;
    let t1_arg = match t1.slot_if_var() {
        Some(s) => BlockArg::Slots(Cow::Owned(vec![s])),
        None => BlockArg::Constant { len: 1 },
    };
    let start = tape.push_block(OdeSolveOp { solve, n }, &[y0.arg(), p.arg(), t1_arg], n * m)?;
    Ok(TapeSolve {
        states: VarMat::from_block(tape, start, n, m, values),
        ts,
        stats,
    })
}
