//! Minibatch training of an [`Svgp`]: Adam on the packed parameters (unconstrained scale)
//! that are not held fixed, and natural-gradient steps for `q(v)` when asked for.

use rand::RngExt;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::model::Svgp;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::likelihoods::Likelihood;
use crate::gp::params::inducing_params;
use crate::optim::{Adam, AdamOptions, OptimResult, Termination, TraceEntry};

/// Options of [`Svgp::train`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvgpTrainOptions {
    /// Number of steps.
    pub iterations: usize,
    /// Minibatch size `B` (indices drawn uniformly with replacement).
    pub batch_size: usize,
    /// Adam for the hyperparameters, inducing inputs and (without natural gradients) `q`.
    pub adam: AdamOptions,
    /// Natural-gradient step size `γ ∈ (0, 1]` for `q(v)`; `None` trains `q` with Adam.
    pub natural_gradient: Option<f64>,
    /// Parameters held at their values, by name or group (as
    /// [`FitOptions::fixed`](crate::optim::FitOptions::fixed)): the hyperparameters'
    /// names ([`Svgp::param_names`]) and `inducing` (the inducing inputs, `inducing[i][k]`).
    pub fixed: Vec<String>,
    /// Seed of the minibatch sampler.
    pub seed: u64,
    /// Record a trace row every `trace_every` steps.
    pub trace_every: usize,
}

impl Default for SvgpTrainOptions {
    fn default() -> Self {
        Self {
            iterations: 1000,
            batch_size: 256,
            adam: AdamOptions {
                record_params: false,
                ..Default::default()
            },
            natural_gradient: Some(0.1),
            fixed: Vec::new(),
            seed: 0,
            trace_every: 10,
        }
    }
}

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// Which packed parameters Adam updates: those of `θ` and `Z` not in `fixed`, and `q`
    /// unless it is trained by natural gradients.
    fn train_mask(&self, opts: &SvgpTrainOptions) -> Result<Vec<bool>> {
        let mut names = self.layout.clone();
        for p in inducing_params(&self.z) {
            names.push(p)?;
        }
        let mut mask = vec![true; self.n_packed()];
        for pattern in &opts.fixed {
            for i in names.indices_of(pattern)? {
                mask[i] = false;
            }
        }
        if opts.natural_gradient.is_some() {
            mask[names.len()..].iter_mut().for_each(|v| *v = false);
        }
        Ok(mask)
    }

    /// Trains on `(x, y)` by minibatches (see [`SvgpTrainOptions`]). The trace records
    /// `−ELBO_b` of the batch used at each recorded step and the gradient norm over the
    /// parameters Adam trains.
    pub fn train(&mut self, x: &Inputs, y: &[f64], opts: &SvgpTrainOptions) -> Result<OptimResult> {
        self.check_batch(x, y)?;
        for (name, v) in [
            ("batch_size", opts.batch_size),
            ("trace_every", opts.trace_every),
        ] {
            if v == 0 {
                return Err(Error::invalid_option(
                    "SvgpTrainOptions",
                    name,
                    v,
                    "at least 1",
                ));
            }
        }
        self.check_full_data("Svgp::train", x)?;
        let mask = self.train_mask(opts)?;
        let total = mask.len();
        let idx_free: Vec<usize> = (0..total).filter(|&i| mask[i]).collect();
        let mut adam = Adam::new(idx_free.len(), &opts.adam)?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
        let b = opts.batch_size;
        let mut trace: Vec<TraceEntry> = Vec::new();
        let mut last = None;
        for it in 0..opts.iterations {
            let idx: Vec<usize> = (0..b).map(|_| rng.random_range(0..x.n())).collect();
            let xb = x.select(&idx)?;
            let yb: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            if let Some(gamma) = opts.natural_gradient {
                self.natural_gradient_step(&xb, &yb, gamma)?;
            }
            let g = self.elbo_and_grad(&xb, &yb)?;
            let gp = self.pack_gradient(&g);
            let mut v = self.pack();
            let mut free: Vec<f64> = idx_free.iter().map(|&i| v[i]).collect();
            let gfree: Vec<f64> = idx_free.iter().map(|&i| -gp[i]).collect();
            let lr = adam.step(&mut free, &gfree)?;
            for (k, &i) in idx_free.iter().enumerate() {
                v[i] = free[k];
            }
            self.unpack(&v)?;
            let gnorm = gfree.iter().map(|v| v * v).sum::<f64>().sqrt();
            if it % opts.trace_every == 0 || it + 1 == opts.iterations {
                trace.push(TraceEntry {
                    iteration: it,
                    evaluations: it + 1,
                    value: -g.value,
                    grad_norm: gnorm,
                    step: lr,
                    params: if opts.adam.record_params {
                        v.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
            last = Some((g, gfree));
        }
        let (value, gradient) = match last {
            Some((g, gf)) => (-g.value, gf),
            None => (f64::NAN, Vec::new()),
        };
        Ok(OptimResult {
            x: self.pack(),
            value,
            gradient,
            termination: Termination::MaxIterations,
            iterations: opts.iterations,
            evaluations: opts.iterations,
            trace,
        })
    }
}
