//! Logistic growth fitted by gradient descent on the tape: the smallest complete
//! mechanistic-ML loop (a closed-form model, data, a loss, exact gradients, a fit).
//!
//! Model (Verhulst 1838): dN/dt = r N (1 − N/K), whose solution is
//! N(t) = K / (1 + (K/N₀ − 1) e^{−r t}). Parameters are fitted on the log scale,
//! θ = (ln r, ln K, ln N₀), by least squares with Armijo backtracking gradient descent.

use mechml_engine::ad::api::grad;
use mechml_engine::ad::{Real, Tape};
use mechml_engine::{Error, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The logistic curve N(t) for growth rate `r`, carrying capacity `k` and initial size `n0`.
pub fn logistic<R: Real>(t: f64, r: R, k: R, n0: R) -> R {
    k / ((k / n0 - 1.0) * (-(r * t)).exp() + 1.0)
}

/// Sum of squared residuals of the logistic curve with log-parameters `theta`.
pub fn sse<R: Real>(theta: &[R], t: &[f64], y: &[f64]) -> R {
    let (r, k, n0) = (theta[0].exp(), theta[1].exp(), theta[2].exp());
    let mut s = R::zero();
    for (&ti, &yi) in t.iter().zip(y) {
        s += (logistic(ti, r, k, n0) - yi).square();
    }
    s
}

/// Synthetic observations: the curve with `(r, k, n0)` at `n` times in `[0, t_end]` plus
/// Gaussian noise of standard deviation `sigma`, from a seeded generator.
pub fn simulate(
    truth: [f64; 3],
    n: usize,
    t_end: f64,
    sigma: f64,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let noise = Normal::new(0.0, sigma).map_err(|_| {
        Error::invalid_option("logistic::simulate", "sigma", sigma, "finite and ≥ 0")
    })?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let denom = (n.max(2) - 1) as f64;
    let t: Vec<f64> = (0..n).map(|i| t_end * i as f64 / denom).collect();
    let y = t
        .iter()
        .map(|&ti| logistic(ti, truth[0], truth[1], truth[2]) + noise.sample(&mut rng))
        .collect();
    Ok((t, y))
}

/// Result of [`fit`].
#[derive(Clone, Debug)]
pub struct LogisticFit {
    /// Fitted `(r, K, N₀)`.
    pub params: [f64; 3],
    /// Loss (sum of squares) at every iteration.
    pub loss_trace: Vec<f64>,
    /// Final gradient norm (log scale).
    pub grad_norm: f64,
    /// Whether the gradient-norm tolerance was met.
    pub converged: bool,
}

/// Fits `(r, K, N₀)` to `(t, y)` from `init` by gradient descent with Armijo backtracking,
/// calling `progress(iteration, loss)` every iteration.
///
/// # Errors
/// Mismatched lengths, non-positive initial values, or a non-finite loss.
pub fn fit(
    t: &[f64],
    y: &[f64],
    init: [f64; 3],
    max_iter: usize,
    mut progress: impl FnMut(usize, f64),
) -> Result<LogisticFit> {
    if t.len() != y.len() || t.is_empty() {
        return Err(Error::ShapeMismatch {
            op: "logistic::fit",
            arg: "y",
            expected: format!("len {} (same as t, non-empty)", t.len()),
            found: format!("len {}", y.len()),
        });
    }
    if let Some(i) = init.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(Error::invalid_option(
            "logistic::fit",
            format!("init[{i}]"),
            init[i],
            "positive and finite",
        ));
    }
    let mut theta: Vec<f64> = init.iter().map(|v| v.ln()).collect();
    let mut tape = Tape::new();
    let eval = |tape: &mut Tape, th: &[f64]| grad(tape, th, |_, v| Ok(sse(v, t, y)));
    let (mut loss, mut g) = eval(&mut tape, &theta)?;
    let mut trace = vec![loss];
    let mut step = 1e-3;
    let norm = |g: &[f64]| g.iter().map(|x| x * x).sum::<f64>().sqrt();
    let tol = 1e-8 * (1.0 + loss);
    for it in 0..max_iter {
        progress(it, loss);
        if norm(&g) <= tol {
            break;
        }
        // Armijo backtracking: halve until f(θ − s g) ≤ f(θ) − ½ s ‖g‖².
        let gg = g.iter().map(|x| x * x).sum::<f64>();
        let mut accepted = false;
        for _ in 0..60 {
            let trial: Vec<f64> = theta.iter().zip(&g).map(|(a, b)| a - step * b).collect();
            let (l, gt) = eval(&mut tape, &trial)?;
            if l.is_finite() && l <= loss - 0.5 * step * gg {
                theta = trial;
                loss = l;
                g = gt;
                step *= 2.0;
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        trace.push(loss);
        if !accepted {
            break;
        }
    }
    if !loss.is_finite() {
        return Err(Error::NonFinite {
            op: "logistic::fit",
            index: trace.len(),
            value: loss,
            context: "loss".into(),
        });
    }
    let gn = norm(&g);
    Ok(LogisticFit {
        params: [theta[0].exp(), theta[1].exp(), theta[2].exp()],
        loss_trace: trace,
        grad_norm: gn,
        converged: gn <= tol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_truth_from_noise_free_data() {
        let truth = [0.8, 50.0, 2.0];
        let (t, y) = simulate(truth, 40, 15.0, 1e-300, 1).unwrap();
        let f = fit(&t, &y, [0.3, 30.0, 5.0], 20_000, |_, _| {}).unwrap();
        for (k, (p, t)) in f.params.iter().zip(&truth).enumerate() {
            assert!((p - t).abs() < 1e-5 * t, "param {k}: {p} vs {t}");
        }
    }

    #[test]
    fn least_squares_fit_beats_the_truth_on_noisy_data() {
        // The least-squares minimiser has a smaller loss than the true parameters, and a
        // vanishing gradient; both checks are independent of the optimiser's path.
        let truth = [0.8, 50.0, 2.0];
        let (t, y) = simulate(truth, 40, 15.0, 1.0, 7).unwrap();
        let f = fit(&t, &y, [0.3, 30.0, 5.0], 20_000, |_, _| {}).unwrap();
        let truth_log: Vec<f64> = truth.iter().map(|v| v.ln()).collect();
        assert!(*f.loss_trace.last().unwrap() <= sse(&truth_log, &t, &y));
        assert!(f.converged, "gradient norm {}", f.grad_norm);
        assert!(f.loss_trace.windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(fit(&[0.0, 1.0], &[1.0], [1.0, 1.0, 1.0], 10, |_, _| {}).is_err());
        assert!(fit(&[0.0], &[1.0], [1.0, -1.0, 1.0], 10, |_, _| {}).is_err());
    }
}
