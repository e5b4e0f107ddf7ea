//! Training a UDE through the solvers: Adam on minibatches of time windows (or on the
//! multiple-shooting objective), early stopping on a validation split, then L-BFGS; seeded
//! and bitwise reproducible (every loop is sequential and every random choice comes from
//! one xoshiro256++ stream).

use mechml_engine::ode::OdeRhs;
use mechml_engine::optim::{Adam, AdamOptions, LbfgsOptions, LearningRate, lbfgs};
use mechml_engine::{Error, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardUniform};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::data::Trajectory;
use super::loss::{SolverSettings, ValueGrad, multiple_shooting_loss, segment_bounds, window_loss};

/// How the training objective follows the data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Shooting {
    /// Windows of `window` observation intervals, each solved from its first observation,
    /// `batch` windows per Adam step (window starts every `window/2` intervals, shuffled
    /// each epoch). `window = 0` means the whole training series in one window.
    Single {
        /// Observation intervals per window (0: all).
        window: usize,
        /// Windows per Adam step.
        batch: usize,
    },
    /// Multiple shooting with segments of `segment` intervals and continuity penalty
    /// `rho` ([`super::loss`]); one Adam step per epoch on the whole objective.
    Multiple {
        /// Observation intervals per segment.
        segment: usize,
        /// Continuity penalty ρ.
        rho: f64,
    },
}

/// Training settings.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Solver, tolerances and sensitivity method.
    pub solver: SolverSettings,
    /// Objective.
    pub shooting: Shooting,
    /// Adam epochs (passes over the training windows).
    pub epochs: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// L-BFGS iterations after Adam (0: none).
    pub lbfgs_iters: usize,
    /// Points kept at the end of the series for validation (0: no early stopping).
    pub n_validation: usize,
    /// Epochs without a better validation loss before stopping.
    pub patience: usize,
    /// Ridge penalty `λ ‖w‖²` on the network's weights.
    pub weight_decay: f64,
    /// Seed of the window shuffling.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            solver: SolverSettings::default(),
            shooting: Shooting::Single {
                window: 0,
                batch: 1,
            },
            epochs: 200,
            learning_rate: 1e-2,
            lbfgs_iters: 100,
            n_validation: 0,
            patience: 20,
            weight_decay: 0.0,
            seed: 0,
        }
    }
}

impl TrainOptions {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, v: String, e: &str| {
            Err(Error::invalid_option("de::TrainOptions", name, v, e))
        };
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "positive, finite",
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                self.weight_decay.to_string(),
                "non-negative, finite",
            );
        }
        if self.patience == 0 {
            return bad("patience", "0".into(), "at least 1");
        }
        match self.shooting {
            Shooting::Single { batch: 0, .. } => bad("shooting.batch", "0".into(), "at least 1"),
            Shooting::Multiple { segment: 0, .. } => {
                bad("shooting.segment", "0".into(), "at least 1")
            }
            Shooting::Multiple { rho, .. } if !(rho.is_finite() && rho > 0.0) => {
                bad("shooting.rho", rho.to_string(), "positive, finite")
            }
            _ => Ok(()),
        }
    }
}

/// One epoch of the record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (from 0).
    pub epoch: usize,
    /// Mean training objective over the epoch's steps.
    pub train_loss: f64,
    /// Validation mean squared error after the epoch (NaN without validation).
    pub val_loss: f64,
}

/// What training returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainResult {
    /// The network weights kept (best validation, or the last).
    pub w: Vec<f64>,
    /// Segment starts of multiple shooting (empty for single shooting).
    pub segment_states: Vec<f64>,
    /// Adam epochs.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights were kept after Adam.
    pub best_epoch: usize,
    /// Whether Adam stopped on the patience rule.
    pub stopped_early: bool,
    /// L-BFGS iterations run.
    pub lbfgs_iterations: usize,
    /// Whether the L-BFGS result was kept (it is dropped if it worsens validation).
    pub lbfgs_kept: bool,
    /// Final training objective, divided by the number of residuals.
    pub train_mse: f64,
    /// Final validation mean squared error (NaN without validation).
    pub val_mse: f64,
}

/// Validation: mean squared error of one solve from the validation series' first point.
fn val_mse<F: OdeRhs + Clone>(
    rhs: &F,
    w: &[f64],
    val: Option<&Trajectory>,
    s: &SolverSettings,
) -> Result<f64> {
    let Some(v) = val else { return Ok(f64::NAN) };
    let mut s = *s;
    s.sensitivity = mechml_engine::ode::Sensitivity::Forward;
    let value = value_only(rhs, w, v, (0, v.len() - 1), &s)?;
    Ok(value / ((v.len() - 1) * v.n_states()) as f64)
}

/// The sum of squared residuals of a window without its gradient.
fn value_only<F: OdeRhs + Clone>(
    rhs: &F,
    w: &[f64],
    d: &Trajectory,
    win: (usize, usize),
    s: &SolverSettings,
) -> Result<f64> {
    use mechml_engine::ode::{OdeOptions, OdeProblem, SaveAt, solve};
    let (ts, ys) = (d.ts(), d.ys());
    let prob = OdeProblem::new(
        rhs.clone(),
        ts[win.0],
        ts[win.1],
        ys[win.0].clone(),
        w.to_vec(),
    )?;
    let opts = OdeOptions::with_tol(s.rtol, s.atol)
        .saving(SaveAt::Times(ts[win.0 + 1..=win.1].to_vec()))
        .max_steps(s.max_steps);
    let sol = solve(&prob, s.method, &opts)?;
    Ok(sol
        .ys
        .iter()
        .zip(&ys[win.0 + 1..=win.1])
        .map(|(y, o)| y.iter().zip(o).map(|(a, b)| (a - b).powi(2)).sum::<f64>())
        .sum())
}

/// The training objective on a set of windows (or multiple shooting), normalised by the
/// number of residuals, plus the ridge term.
struct Objective<'a, F> {
    rhs: &'a F,
    data: &'a Trajectory,
    opts: &'a TrainOptions,
    bounds: Vec<usize>,
    np: usize,
}

impl<F: OdeRhs + Clone> Objective<'_, F> {
    fn windows(&self, grad: &mut [f64], z: &[f64], wins: &[(usize, usize)]) -> Result<f64> {
        let n = self.data.n_states();
        let count: usize = wins.iter().map(|(a, b)| (b - a) * n).sum();
        let mut value = 0.0;
        for &win in wins {
            let (vg, _) = window_loss(self.rhs, z, self.data, win, None, &self.opts.solver)?;
            value += vg.value;
            for (g, d) in grad.iter_mut().zip(&vg.grad) {
                *g += d / count as f64;
            }
        }
        Ok(value / count as f64)
    }

    fn multiple(&self, grad: &mut [f64], z: &[f64], rho: f64) -> Result<f64> {
        let count = self.data.len() * self.data.n_states();
        let vg =
            multiple_shooting_loss(self.rhs, z, self.data, &self.bounds, rho, &self.opts.solver)?;
        for (g, d) in grad.iter_mut().zip(&vg.grad) {
            *g += d / count as f64;
        }
        Ok(vg.value / count as f64)
    }

    /// Value and gradient at `z` on `wins` (ignored for multiple shooting).
    fn eval(&self, z: &[f64], wins: &[(usize, usize)]) -> Result<(f64, Vec<f64>)> {
        let mut grad = vec![0.0; z.len()];
        let mut value = match self.opts.shooting {
            Shooting::Single { .. } => self.windows(&mut grad, z, wins)?,
            Shooting::Multiple { rho, .. } => self.multiple(&mut grad, z, rho)?,
        };
        let lam = self.opts.weight_decay;
        if lam > 0.0 {
            for (g, w) in grad[..self.np].iter_mut().zip(&z[..self.np]) {
                value += lam * w * w;
                *g += 2.0 * lam * w;
            }
        }
        Ok((value, grad))
    }
}

/// Trains the weights of `rhs` (any [`OdeRhs`] whose parameters are the trainable weights,
/// typically a [`UdeRhs`](super::UdeRhs)) from `w0` on `data` (see the module doc).
///
/// # Errors
/// Invalid options, too little data for the validation split, or a solver failure during
/// training (the message names the time and the step).
pub fn train<F: OdeRhs + Clone>(
    rhs: &F,
    w0: &[f64],
    data: &Trajectory,
    opts: &TrainOptions,
) -> Result<TrainResult> {
    opts.validate()?;
    check_len("w0", w0.len(), rhs.n_params())?;
    check_len("data states", data.n_states(), rhs.n_states())?;
    let (train_d, val_d) = data.split(data.len().saturating_sub(opts.n_validation))?;
    let n_train = train_d.len();
    let np = rhs.n_params();
    let bounds = match opts.shooting {
        Shooting::Multiple { segment, .. } => segment_bounds(n_train, segment)?,
        Shooting::Single { .. } => Vec::new(),
    };
    let obj = Objective {
        rhs,
        data: &train_d,
        opts,
        bounds,
        np,
    };
    // Parameters: weights, then (multiple shooting) the segment starts at the observations.
    let mut z = w0.to_vec();
    for &b in obj.bounds.iter().take(obj.bounds.len().saturating_sub(1)) {
        z.extend_from_slice(&train_d.ys()[b]);
    }
    let starts: Vec<(usize, usize)> = match opts.shooting {
        Shooting::Single { window, .. } => {
            let len = if window == 0 || window >= n_train {
                n_train - 1
            } else {
                window
            };
            let stride = (len / 2).max(1);
            (0..n_train - len)
                .step_by(stride)
                .map(|k| (k, k + len))
                .collect()
        }
        Shooting::Multiple { .. } => vec![(0, n_train - 1)],
    };
    let batch = match opts.shooting {
        Shooting::Single { batch, .. } => batch,
        Shooting::Multiple { .. } => 1,
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let adam_opts = AdamOptions {
        learning_rate: LearningRate::Constant {
            lr: opts.learning_rate,
        },
        ..AdamOptions::default()
    };
    let mut adam = Adam::new(z.len(), &adam_opts)?;
    let mut history = Vec::with_capacity(opts.epochs);
    let (mut best_z, mut best_val, mut best_epoch) = (z.clone(), f64::INFINITY, 0);
    let mut bad_epochs = 0;
    let mut stopped_early = false;
    let mut order = starts.clone();
    for epoch in 0..opts.epochs {
        // Fisher–Yates with the one seeded stream.
        for i in (1..order.len()).rev() {
            let u: f64 = StandardUniform.sample(&mut rng);
            let j = ((u * (i + 1) as f64) as usize).min(i);
            order.swap(i, j);
        }
        let mut sum = 0.0;
        let mut steps = 0;
        for chunk in order.chunks(batch) {
            let (v, g) = obj.eval(&z, chunk)?;
            adam.step(&mut z, &g)?;
            sum += v;
            steps += 1;
        }
        let val = val_mse(rhs, &z[..np], val_d.as_ref(), &opts.solver)?;
        history.push(EpochRecord {
            epoch,
            train_loss: sum / steps as f64,
            val_loss: val,
        });
        if val_d.is_some() {
            if val < best_val {
                (best_z, best_val, best_epoch, bad_epochs) = (z.clone(), val, epoch, 0);
            } else {
                bad_epochs += 1;
                if bad_epochs >= opts.patience {
                    stopped_early = true;
                    break;
                }
            }
        }
    }
    if val_d.is_none() {
        best_z = z.clone();
        best_epoch = opts.epochs.saturating_sub(1);
    }
    z = best_z;
    let mut lbfgs_iterations = 0;
    let mut lbfgs_kept = false;
    if opts.lbfgs_iters > 0 {
        let lopts = LbfgsOptions {
            max_iters: opts.lbfgs_iters,
            max_evals: 4 * opts.lbfgs_iters + 20,
            record_params: false,
            ..LbfgsOptions::default()
        };
        let r = lbfgs(|x| obj.eval(x, &starts), &z, &lopts)?;
        lbfgs_iterations = r.iterations;
        let val = val_mse(rhs, &r.x[..np], val_d.as_ref(), &opts.solver)?;
        if val_d.is_none() || val <= best_val {
            z = r.x;
            lbfgs_kept = true;
        }
    }
    let (train_obj, _) = obj.eval(&z, &starts)?;
    let val_mse = val_mse(rhs, &z[..np], val_d.as_ref(), &opts.solver)?;
    Ok(TrainResult {
        segment_states: z[np..].to_vec(),
        w: z[..np].to_vec(),
        history,
        best_epoch,
        stopped_early,
        lbfgs_iterations,
        lbfgs_kept,
        train_mse: train_obj,
        val_mse,
    })
}

/// The single-shooting sum of squared residuals over the whole series from its first
/// observation, with its gradient in `w` (a convenience for tests and reports).
///
/// # Errors
/// As [`window_loss`].
pub fn trajectory_loss<F: OdeRhs + Clone>(
    rhs: &F,
    w: &[f64],
    data: &Trajectory,
    s: &SolverSettings,
) -> Result<ValueGrad> {
    Ok(window_loss(rhs, w, data, (0, data.len() - 1), None, s)?.0)
}

fn check_len(name: &'static str, found: usize, expected: usize) -> Result<()> {
    if found != expected {
        return Err(Error::ShapeMismatch {
            op: "de::train",
            arg: name,
            expected: expected.to_string(),
            found: found.to_string(),
        });
    }
    Ok(())
}
