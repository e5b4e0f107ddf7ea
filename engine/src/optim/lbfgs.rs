//! L-BFGS (Nocedal & Wright 2006, *Numerical Optimization*, 2nd ed., Alg. 7.4 and 7.5)
//! with the strong-Wolfe line search of [`super::line_search`].

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::line_search::{LineSearchOptions, LineSearchOutcome, strong_wolfe};
use super::trace::{OptimResult, Termination, Trace};
use super::{dot, norm2};
use crate::error::{Error, Result};

/// Options for [`lbfgs`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LbfgsOptions {
    /// Number of `(s, y)` pairs kept (the memory `m`, ≥ 1).
    pub memory: usize,
    /// Iteration limit.
    pub max_iters: usize,
    /// Objective-evaluation limit (line-search trials included).
    pub max_evals: usize,
    /// Converged when `‖∇f‖∞ ≤ grad_tol`.
    pub grad_tol: f64,
    /// Converged when the relative decrease `(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)`
    /// is at most `f_tol` (0 disables).
    pub f_tol: f64,
    /// Converged when `‖x_{k+1} − x_k‖∞ ≤ x_tol (1 + ‖x_k‖∞)` (0 disables).
    pub x_tol: f64,
    /// Line-search parameters.
    pub line_search: LineSearchOptions,
    /// Whether trace rows keep the parameters.
    pub record_params: bool,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        Self {
            memory: 10,
            max_iters: 1000,
            max_evals: 5000,
            grad_tol: 1e-6,
            f_tol: 1e-12,
            x_tol: 0.0,
            line_search: LineSearchOptions::default(),
            record_params: true,
        }
    }
}

impl LbfgsOptions {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the field (`line_search.*` for the line search's).
    pub fn validate(&self) -> Result<()> {
        let op = "LbfgsOptions";
        self.line_search
            .validate()
            .map_err(super::nested_option(op, "line_search"))?;
        if self.memory == 0 {
            return Err(Error::invalid_option(op, "memory", 0, "≥ 1"));
        }
        if self.max_evals == 0 {
            return Err(Error::invalid_option(op, "max_evals", 0, "≥ 1"));
        }
        for (name, v) in [
            ("grad_tol", self.grad_tol),
            ("f_tol", self.f_tol),
            ("x_tol", self.x_tol),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid_option(op, name, v, "finite and ≥ 0"));
            }
        }
        Ok(())
    }
}

/// The two-loop recursion (Alg. 7.4): returns `−H g` with `H⁰ = γ I`,
/// `γ = sᵀy / yᵀy` of the newest pair (eq. 7.20).
fn direction(g: &[f64], pairs: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y, rho) in pairs.iter().rev() {
        let a = rho * dot(s, &q);
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= a * yi;
        }
        alphas.push(a);
    }
    if let Some((s, y, _)) = pairs.back() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (a - b) * si;
        }
    }
    q.iter_mut().for_each(|v| *v = -*v);
    q
}

/// Minimises `f` from `x0` by L-BFGS.
///
/// The first step (and any step after the memory is reset) is along `−∇f` with trial
/// length `min(1, 1/‖∇f‖₂)`; later trials start at `α = 1`. Pairs with
/// `sᵀy ≤ 10⁻¹⁰ ‖s‖‖y‖` are skipped so the implicit Hessian stays positive definite. If
/// the line search fails along the quasi-Newton direction, the memory is cleared and
/// steepest descent is tried once before giving up with
/// [`Termination::LineSearchFailed`].
///
/// # Errors
/// Invalid options, an objective error at an accepted point, or a non-finite value at `x0`.
pub fn lbfgs<F>(mut f: F, x0: &[f64], opts: &LbfgsOptions) -> Result<OptimResult>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    opts.validate()?;
    let mut x = x0.to_vec();
    let (mut fx, mut g) = super::eval_checked(&mut f, &x, "lbfgs")?;
    let mut evals = 1;
    let mut trace = Trace::new(opts.record_params);
    trace.push(0, evals, 0.0, &x, fx, &g);
    let inf_norm = |v: &[f64]| v.iter().fold(0.0_f64, |a, b| a.max(b.abs()));
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(opts.memory);
    let mut iterations = 0;
    let finish = |x, fx, g, termination, iterations, evals, trace: Trace| {
        Ok(OptimResult {
            x,
            value: fx,
            gradient: g,
            termination,
            iterations,
            evaluations: evals,
            trace: trace.into_entries(),
        })
    };
    if inf_norm(&g) <= opts.grad_tol {
        return finish(x, fx, g, Termination::GradientTolerance, 0, evals, trace);
    }
    loop {
        if iterations >= opts.max_iters {
            return finish(
                x,
                fx,
                g,
                Termination::MaxIterations,
                iterations,
                evals,
                trace,
            );
        }
        // Direction, with one retry along steepest descent after a failed search.
        let mut outcome = None;
        for attempt in 0..2 {
            if evals >= opts.max_evals {
                return finish(
                    x,
                    fx,
                    g,
                    Termination::MaxEvaluations,
                    iterations,
                    evals,
                    trace,
                );
            }
            if attempt == 1 {
                pairs.clear();
            }
            let mut p = direction(&g, &pairs);
            if dot(&p, &g).partial_cmp(&0.0) != Some(std::cmp::Ordering::Less) {
                pairs.clear();
                p = g.iter().map(|v| -v).collect();
            }
            let alpha0 = if pairs.is_empty() {
                (1.0 / norm2(&g)).min(1.0)
            } else {
                1.0
            };
            let ls = LineSearchOptions {
                max_evals: opts.line_search.max_evals.min(opts.max_evals - evals),
                ..opts.line_search.clone()
            };
            match strong_wolfe(&mut f, &x, fx, &g, &p, alpha0, &ls)? {
                LineSearchOutcome::Accepted { step, evaluations } => {
                    evals += evaluations;
                    outcome = Some(step);
                    break;
                }
                LineSearchOutcome::Failed {
                    reason,
                    evaluations,
                    best,
                    budget_exhausted,
                } => {
                    evals += evaluations;
                    let out_of_evals = evals >= opts.max_evals;
                    if attempt == 1 || out_of_evals {
                        // Keep the best sufficient-decrease point, if any.
                        if let Some(b) = best {
                            iterations += 1;
                            trace.push(
                                iterations,
                                evals,
                                b.alpha * norm2(&p),
                                &b.x,
                                b.value,
                                &b.gradient,
                            );
                            (x, fx, g) = (b.x, b.value, b.gradient);
                        }
                        let t = if out_of_evals && budget_exhausted {
                            Termination::MaxEvaluations
                        } else {
                            Termination::LineSearchFailed { reason }
                        };
                        return finish(x, fx, g, t, iterations, evals, trace);
                    }
                }
            }
        }
        let Some(step) = outcome else {
            return Err(Error::InvalidArgument {
                op: "lbfgs",
                message: "internal: line search neither accepted nor failed".into(),
            });
        };
        iterations += 1;
        let s: Vec<f64> = step.x.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = step.gradient.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-10 * norm2(&s) * norm2(&y) {
            if pairs.len() == opts.memory {
                pairs.pop_front();
            }
            pairs.push_back((s.clone(), y, 1.0 / sy));
        }
        let f_old = fx;
        let x_scale = 1.0 + inf_norm(&x);
        (x, fx, g) = (step.x, step.value, step.gradient);
        trace.push(iterations, evals, norm2(&s), &x, fx, &g);
        if inf_norm(&g) <= opts.grad_tol {
            return finish(
                x,
                fx,
                g,
                Termination::GradientTolerance,
                iterations,
                evals,
                trace,
            );
        }
        if opts.f_tol > 0.0 && (f_old - fx) <= opts.f_tol * f_old.abs().max(fx.abs()).max(1.0) {
            return finish(
                x,
                fx,
                g,
                Termination::ValueTolerance,
                iterations,
                evals,
                trace,
            );
        }
        if opts.x_tol > 0.0 && inf_norm(&s) <= opts.x_tol * x_scale {
            return finish(
                x,
                fx,
                g,
                Termination::StepTolerance,
                iterations,
                evals,
                trace,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_loop_equals_bfgs_inverse_update() {
        // With one pair, H = (I − ρ s yᵀ) γI (I − ρ y sᵀ) + ρ s sᵀ (eq. 7.19, one step).
        let s = vec![0.3, -0.2, 0.5];
        let y = vec![0.4, -0.1, 0.7];
        let rho = 1.0 / dot(&s, &y);
        let gamma = dot(&s, &y) / dot(&y, &y);
        let g = [1.0, 2.0, -0.5];
        let mut pairs = VecDeque::new();
        pairs.push_back((s.clone(), y.clone(), rho));
        let p = direction(&g, &pairs);
        let n = 3;
        let mut h = vec![vec![0.0; n]; n];
        for i in 0..n {
            for j in 0..n {
                let mut acc = 0.0;
                for (k, yk) in y.iter().enumerate() {
                    let vik = if i == k { 1.0 } else { 0.0 } - rho * s[i] * yk;
                    let vjk = if j == k { 1.0 } else { 0.0 } - rho * s[j] * yk;
                    acc += vik * gamma * vjk;
                }
                h[i][j] = acc + rho * s[i] * s[j];
            }
        }
        for i in 0..n {
            let hg: f64 = (0..n).map(|j| h[i][j] * g[j]).sum();
            assert!((p[i] + hg).abs() < 1e-13);
        }
    }
}
