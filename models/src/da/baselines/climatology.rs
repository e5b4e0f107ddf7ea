//! The climatological mean and covariance of a model, from a free run.

use faer::Mat;
use mechml_engine::{Error, Result};

use crate::da::dynamics::Model;

/// The long-run mean and covariance of a model's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Climatology {
    /// Mean (length n).
    pub mean: Vec<f64>,
    /// Covariance `B_c` (`n × n`).
    pub cov: Mat<f64>,
}

impl Climatology {
    /// Runs `model` from `x0` for `burn_in` steps (discarded), then `n_steps` steps, and
    /// returns the sample mean and covariance (unbiased) of the visited states. Only the
    /// first `n_keep` components of the state enter (the resolved part of a two-scale
    /// truth; `x0.len()` for all).
    pub fn from_run<M: Model + ?Sized>(
        model: &M,
        x0: &[f64],
        burn_in: usize,
        n_steps: usize,
        n_keep: usize,
    ) -> Result<Self> {
        if n_steps < 2 {
            return Err(Error::invalid_option(
                "Climatology",
                "n_steps",
                n_steps,
                ">= 2",
            ));
        }
        if n_keep == 0 || n_keep > x0.len() {
            return Err(Error::invalid_option(
                "Climatology",
                "n_keep",
                n_keep,
                format!("in 1..={}", x0.len()),
            ));
        }
        let mut x = x0.to_vec();
        for _ in 0..burn_in {
            model.step(&mut x);
        }
        let n = n_keep;
        // Shifted sums for stability: shift by the first state kept.
        let shift: Vec<f64> = x[..n].to_vec();
        let mut s1 = vec![0.0; n];
        let mut s2 = Mat::<f64>::zeros(n, n);
        let mut d = vec![0.0; n];
        for step in 0..n_steps {
            model.step(&mut x);
            if let Some(k) = x.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    op: "Climatology::from_run",
                    index: k,
                    value: x[k],
                    context: format!("free run at step {step}"),
                });
            }
            for i in 0..n {
                d[i] = x[i] - shift[i];
                s1[i] += d[i];
            }
            for j in 0..n {
                for i in j..n {
                    s2[(i, j)] += d[i] * d[j];
                }
            }
        }
        let t = n_steps as f64;
        let mean: Vec<f64> = (0..n).map(|i| shift[i] + s1[i] / t).collect();
        let cov = Mat::from_fn(n, n, |i, j| {
            let (a, b) = if i >= j { (i, j) } else { (j, i) };
            (s2[(a, b)] - s1[a] * s1[b] / t) / (t - 1.0)
        });
        Ok(Self { mean, cov })
    }

    /// The climatological spread `sqrt(mean_i B_ii)`.
    pub fn spread(&self) -> f64 {
        let n = self.mean.len();
        ((0..n).map(|i| self.cov[(i, i)]).sum::<f64>() / n as f64).sqrt()
    }
}
