//! One chain: initialisation, warm-up with adaptation, and the stored draws.

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::adapt::{DualAveraging, Windows};
use super::metric::Metric;
use super::options::{MetricKind, NutsOptions};
use super::tree::{Hamiltonian, Point, Workspace, init_step_size, transition};
use crate::error::{Error, Result};
use crate::infer::density::LogDensity;
use crate::infer::posterior::{Chain, Divergence, DrawStats};

/// Attempts at a random initial point with a finite log density and gradient.
const INIT_TRIES: usize = 100;

fn at(chain: usize, iteration: usize, warmup: bool) -> impl Fn(Error) -> Error {
    move |e| Error::Sampling {
        chain,
        iteration,
        warmup,
        source: Box::new(e),
    }
}

/// Finds the initial point: the given one, or random draws in `(−r, r)`.
fn initial_point<D: LogDensity>(
    ham: &mut Hamiltonian<'_, D>,
    init: Option<&[f64]>,
    radius: f64,
    rng: &mut Xoshiro256PlusPlus,
    chain: usize,
) -> Result<Point> {
    let n = ham.density.dim();
    let mut z = Point::new(n);
    let tries = if init.is_some() { 1 } else { INIT_TRIES };
    for _ in 0..tries {
        match init {
            Some(q) => z.q.copy_from_slice(q),
            None => {
                z.q.iter_mut()
                    .for_each(|q| *q = radius * (2.0 * rng.random::<f64>() - 1.0))
            }
        }
        ham.eval(&mut z).map_err(at(chain, 0, true))?;
        if z.lp.is_finite() {
            return Ok(z);
        }
    }
    Err(Error::Sampling {
        chain,
        iteration: 0,
        warmup: true,
        source: Box::new(Error::NoConvergence {
            op: "nuts initialisation",
            iterations: tries,
            detail: if init.is_some() {
                "the log density or its gradient is not finite at the given initial point".into()
            } else {
                format!(
                    "no point with a finite log density and gradient among {tries} uniform \
                     draws in (-{radius}, {radius}) on the unconstrained scale; give an \
                     initial point"
                )
            },
        }),
    })
}

/// Runs one chain.
pub(crate) fn run_chain<D: LogDensity>(
    mut density: D,
    chain: usize,
    mut rng: Xoshiro256PlusPlus,
    init: Option<Vec<f64>>,
    opts: &NutsOptions,
) -> Result<Chain> {
    let n = density.dim();
    let n_names = density.param_names().len();
    let radius = match opts.init {
        super::Init::Random { radius } => radius,
        _ => 0.0,
    };
    let mut metric = match opts.metric {
        MetricKind::Dense => Metric::unit_dense(n),
        _ => Metric::unit_diag(n),
    };
    let mut current = {
        let mut ham = Hamiltonian {
            density: &mut density,
            metric: &metric,
            n_grad: 0,
        };
        initial_point(&mut ham, init.as_deref(), radius, &mut rng, chain)?
    };
    let mut n_grad = 0u64;
    let step_size_error = |iteration: usize, warmup: bool, message: String| Error::Sampling {
        chain,
        iteration,
        warmup,
        source: Box::new(Error::NoConvergence {
            op: "nuts step-size initialisation",
            iterations: 200,
            detail: message,
        }),
    };
    let mut eps = {
        let mut ham = Hamiltonian {
            density: &mut density,
            metric: &metric,
            n_grad: 0,
        };
        let r = init_step_size(&mut ham, &current, opts.init_step_size, &mut rng)
            .map_err(at(chain, 0, true))?;
        n_grad += ham.n_grad;
        r.map_err(|m| step_size_error(0, true, m))?
    };
    let mut dual = DualAveraging::new(&opts.adapt, eps);
    let mut windows = Windows::new(
        &opts.adapt,
        opts.n_warmup,
        n,
        opts.metric == MetricKind::Dense,
        opts.metric != MetricKind::Unit,
    );
    let mut ws = Workspace::new(n, opts.max_depth);
    let mut draws = Vec::with_capacity(opts.n_draws * n_names);
    let mut stats = Vec::with_capacity(opts.n_draws);
    let mut divergences = Vec::new();
    let total = opts.n_warmup + opts.n_draws;
    for it in 0..total {
        let warmup = it < opts.n_warmup;
        let mut ham = Hamiltonian {
            density: &mut density,
            metric: &metric,
            n_grad: 0,
        };
        let info = transition(
            &mut ws,
            &mut ham,
            &mut current,
            (eps, opts.max_depth, opts.max_energy_error),
            &mut rng,
        )
        .map_err(at(chain, it, warmup))?;
        n_grad += ham.n_grad;
        let used_eps = eps;
        if let Some((q, err)) = &info.divergence {
            divergences.push(Divergence {
                iteration: it,
                warmup,
                position: density.constrain(q).unwrap_or_default(),
                energy_error: err.is_finite().then_some(*err),
            });
        }
        if warmup {
            eps = dual.learn(info.accept_stat);
            if let Some(est) = windows.learn(&current.q) {
                metric = match opts.metric {
                    MetricKind::Dense => {
                        Metric::from_covariance(n, est).map_err(at(chain, it, true))?
                    }
                    _ => Metric::from_variances(est),
                };
                let mut ham = Hamiltonian {
                    density: &mut density,
                    metric: &metric,
                    n_grad: 0,
                };
                let r = init_step_size(&mut ham, &current, eps, &mut rng)
                    .map_err(at(chain, it, true))?;
                n_grad += ham.n_grad;
                eps = r.map_err(|m| step_size_error(it, true, m))?;
                dual.restart(eps);
            }
            if it + 1 == opts.n_warmup {
                eps = dual.final_step_size();
            }
            continue;
        }
        let theta = density
            .constrain(&current.q)
            .map_err(at(chain, it, false))?;
        if theta.len() != n_names {
            return Err(Error::Sampling {
                chain,
                iteration: it,
                warmup: false,
                source: Box::new(Error::ShapeMismatch {
                    op: "nuts",
                    arg: "constrain output",
                    expected: format!("len {n_names} (the number of param_names)"),
                    found: format!("len {}", theta.len()),
                }),
            });
        }
        draws.extend_from_slice(&theta);
        stats.push(DrawStats {
            lp: current.lp,
            accept_stat: info.accept_stat,
            step_size: used_eps,
            tree_depth: info.depth as u32,
            n_leapfrog: info.n_leapfrog as u32,
            divergent: info.divergence.is_some(),
            energy: info.energy,
        });
    }
    Ok(Chain {
        draws,
        stats,
        step_size: eps,
        inv_metric: metric.inverse().to_vec(),
        divergences,
        n_grad_evals: n_grad,
    })
}
