//! Adam (Kingma & Ba 2015, arXiv:1412.6980, Alg. 1) with learning-rate schedules.

use serde::{Deserialize, Serialize};

use super::schedule::LearningRate;
use super::trace::{OptimResult, Termination, Trace};
use crate::error::{Error, Result};

/// Options for [`adam`] and [`Adam`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamOptions {
    /// Learning-rate schedule `η_t`.
    pub learning_rate: LearningRate,
    /// Decay of the first-moment estimate, in [0, 1).
    pub beta1: f64,
    /// Decay of the second-moment estimate, in [0, 1).
    pub beta2: f64,
    /// Added to `√v̂` in the denominator (> 0).
    pub eps: f64,
    /// Number of steps taken by [`adam`] (its only stop unless `grad_tol` is met).
    pub max_iters: usize,
    /// Stop when `‖∇f‖∞ ≤ grad_tol` (0 disables; with a stochastic objective leave it 0).
    pub grad_tol: f64,
    /// Record a trace row every `trace_every` steps (≥ 1; the last step is always recorded).
    pub trace_every: usize,
    /// Whether trace rows keep the parameters.
    pub record_params: bool,
}

impl Default for AdamOptions {
    fn default() -> Self {
        Self {
            learning_rate: LearningRate::default(),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_iters: 1000,
            grad_tol: 0.0,
            trace_every: 1,
            record_params: true,
        }
    }
}

impl AdamOptions {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the field (`learning_rate.*` for the schedule's).
    pub fn validate(&self) -> Result<()> {
        let op = "AdamOptions";
        self.learning_rate
            .validate()
            .map_err(super::nested_option(op, "learning_rate"))?;
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::invalid_option(op, name, b, "in [0, 1)"));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::invalid_option(op, "eps", self.eps, "finite and > 0"));
        }
        if !(self.grad_tol.is_finite() && self.grad_tol >= 0.0) {
            return Err(Error::invalid_option(
                op,
                "grad_tol",
                self.grad_tol,
                "finite and ≥ 0",
            ));
        }
        if self.trace_every == 0 {
            return Err(Error::invalid_option(op, "trace_every", 0, "≥ 1"));
        }
        Ok(())
    }
}

/// Adam's state, for driving the steps yourself (e.g. alternating with natural-gradient
/// steps, or over changing minibatches).
///
/// ```
/// use mechml_engine::optim::{Adam, AdamOptions, LearningRate};
/// let opts = AdamOptions { learning_rate: LearningRate::Constant { lr: 0.1 }, ..Default::default() };
/// let mut adam = Adam::new(1, &opts)?;
/// let mut x = [3.0];
/// // The first Adam step has length η (bias correction makes m̂/√v̂ = sign g).
/// adam.step(&mut x, &[6.0])?;
/// assert!((x[0] - 2.9).abs() < 1e-8);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    opts: AdamOptions,
    m: Vec<f64>,
    v: Vec<f64>,
    t: usize,
}

impl Adam {
    /// A fresh optimiser for `n` parameters.
    pub fn new(n: usize, opts: &AdamOptions) -> Result<Self> {
        opts.validate()?;
        Ok(Self {
            opts: opts.clone(),
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// Forgets the moment estimates and the step count.
    pub fn reset(&mut self) {
        self.m.iter_mut().for_each(|v| *v = 0.0);
        self.v.iter_mut().for_each(|v| *v = 0.0);
        self.t = 0;
    }

    /// One step `x ← x − η_t m̂ / (√v̂ + ε)` with gradient `g`; returns `η_t`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for wrong lengths, [`Error::NonFinite`] for a non-finite
    /// gradient (the state is then left unchanged).
    pub fn step(&mut self, x: &mut [f64], g: &[f64]) -> Result<f64> {
        crate::error::check_len("adam", "x", x.len(), self.m.len())?;
        crate::error::check_len("adam", "gradient", g.len(), self.m.len())?;
        crate::error::check_finite("adam", "gradient", g)?;
        let (b1, b2) = (self.opts.beta1, self.opts.beta2);
        let lr = self.opts.learning_rate.at(self.t);
        self.t += 1;
        let c1 = 1.0 - b1.powi(self.t as i32);
        let c2 = 1.0 - b2.powi(self.t as i32);
        for i in 0..x.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            let mh = self.m[i] / c1;
            let vh = self.v[i] / c2;
            x[i] -= lr * mh / (vh.sqrt() + self.opts.eps);
        }
        Ok(lr)
    }
}

/// Minimises `f` from `x0` with Adam for `opts.max_iters` steps (or until `grad_tol`).
///
/// The result's `x` is the last iterate; `value`/`gradient` are the objective there. With
/// `grad_tol = 0` the run ends with [`Termination::MaxIterations`] (a fixed budget, the
/// usual way to run Adam), which [`OptimResult::converged`] reports as not converged.
///
/// # Errors
/// Invalid options, an objective error, or a non-finite value or gradient.
pub fn adam<F>(mut f: F, x0: &[f64], opts: &AdamOptions) -> Result<OptimResult>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    let mut state = Adam::new(x0.len(), opts)?;
    let mut x = x0.to_vec();
    let (mut fx, mut g) = super::eval_checked(&mut f, &x, "adam")?;
    let mut evals = 1;
    let mut trace = Trace::new(opts.record_params);
    trace.push(0, evals, 0.0, &x, fx, &g);
    let gmax = |g: &[f64]| g.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    let mut termination = Termination::MaxIterations;
    let mut iterations = 0;
    if opts.grad_tol > 0.0 && gmax(&g) <= opts.grad_tol {
        termination = Termination::GradientTolerance;
    } else {
        for k in 1..=opts.max_iters {
            let lr = state.step(&mut x, &g)?;
            (fx, g) = super::eval_checked(&mut f, &x, "adam")?;
            evals += 1;
            iterations = k;
            let done = opts.grad_tol > 0.0 && gmax(&g) <= opts.grad_tol;
            if k % opts.trace_every == 0 || k == opts.max_iters || done {
                trace.push(k, evals, lr, &x, fx, &g);
            }
            if done {
                termination = Termination::GradientTolerance;
                break;
            }
        }
    }
    Ok(OptimResult {
        x,
        value: fx,
        gradient: g,
        termination,
        iterations,
        evaluations: evals,
        trace: trace.into_entries(),
    })
}
