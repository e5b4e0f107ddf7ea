//! A local network correction of a resolvent on a ring, the learned model error of the
//! hybrid experiment (Brajard, Carrassi, Bocquet & Bertino 2021, Phil. Trans. R. Soc. A
//! 379: 20200086, §2b, a network applied to each variable and its neighbours):
//!
//! $$ c_w(x)_i = s_z \, g_w\big((x_{i−1} − μ)/s_x,\ (x_i − μ)/s_x,\ (x_{i+1} − μ)/s_x\big), $$
//!
//! one [`Mlp`] `3 → h → … → 1` shared by all `i`, with the input and output scales taken
//! from the training pairs. Trained by Adam (Kingma & Ba 2015) on seeded, shuffled
//! minibatches of the pooled `(stencil, target)` rows, gradients by [`Mlp::vjp_f64`].

use mechml_engine::ad::Real;
use mechml_engine::nn::{Activation, Init, Mlp};
use mechml_engine::optim::{Adam, AdamOptions, LearningRate};
use mechml_engine::{Error, Result};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::twin::stream;

/// Most rows × epochs a training may take (about a minute of CPU).
pub const MAX_ROW_EPOCHS: usize = 200_000_000;

/// How to build and train a [`NetworkCorrection`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkOptions {
    /// Width of each hidden layer.
    pub hidden: usize,
    /// Number of hidden layers (≥ 1).
    pub layers: usize,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per Adam step.
    pub batch: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Seed of the initial weights and the shuffles.
    pub seed: u64,
}

impl Default for NetworkOptions {
    /// Two hidden tanh layers of 16, 40 epochs of batches of 128, learning rate 3·10⁻³.
    fn default() -> Self {
        Self {
            hidden: 16,
            layers: 2,
            epochs: 40,
            batch: 128,
            learning_rate: 3e-3,
            seed: 0,
        }
    }
}

impl NetworkOptions {
    /// Checks the sizes.
    pub fn validate(&self) -> Result<()> {
        let op = "NetworkOptions";
        let bad = |name: &str, v: String, e: &str| Err(Error::invalid_option(op, name, v, e));
        if !(1..=256).contains(&self.hidden) {
            return bad("hidden", self.hidden.to_string(), "1 to 256");
        }
        if !(1..=8).contains(&self.layers) {
            return bad("layers", self.layers.to_string(), "1 to 8");
        }
        if self.epochs == 0 || self.batch == 0 {
            return bad(
                "epochs, batch",
                format!("{}, {}", self.epochs, self.batch),
                "≥ 1 each",
            );
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "finite and > 0",
            );
        }
        Ok(())
    }

    fn net(&self) -> Result<Mlp> {
        let mut sizes = vec![3];
        sizes.extend(std::iter::repeat_n(self.hidden, self.layers));
        sizes.push(1);
        Ok(Mlp::new(sizes)?.with_activations(Activation::Tanh, Activation::Identity))
    }
}

/// A trained local network correction (module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkCorrection {
    net: Mlp,
    /// The weights.
    pub w: Vec<f64>,
    mu: f64,
    sx: f64,
    sz: f64,
}

impl NetworkCorrection {
    /// The correction at one stencil `(x_{i−1}, x_i, x_{i+1})`.
    pub fn point<R: Real>(&self, xm: R, x: R, xp: R) -> R {
        let s = |v: R| (v - self.mu) * (1.0 / self.sx);
        let w: Vec<R> = self.w.iter().map(|&v| R::from_f64(v)).collect();
        let mut out = [R::zero()];
        self.net.forward_into(&w, &[s(xm), s(x), s(xp)], &mut out);
        out[0] * self.sz
    }

    /// The correction at one stencil in `f64`, with `scratch` as workspace.
    pub fn point_f64(&self, xm: f64, x: f64, xp: f64, scratch: &mut Vec<f64>) -> f64 {
        let s = |v: f64| (v - self.mu) / self.sx;
        let mut out = [0.0];
        self.net
            .forward_f64(&self.w, &[s(xm), s(x), s(xp)], &mut out, scratch);
        out[0] * self.sz
    }

    /// Trains a network on the pooled rows `(x_{k,i−1}, x_{k,i}, x_{k,i+1}) → z_{k,i}` of
    /// the states `x_k` (on a ring) and targets `z_k`, by Adam on mean squared error.
    ///
    /// # Errors
    /// Bad options, no rows, non-finite data, or more than [`MAX_ROW_EPOCHS`] of work.
    pub fn fit(states: &[&[f64]], targets: &[Vec<f64>], opts: &NetworkOptions) -> Result<Self> {
        let op = "NetworkCorrection::fit";
        opts.validate()?;
        let mut rows: Vec<[f64; 3]> = Vec::new();
        let mut z: Vec<f64> = Vec::new();
        for (k, (x, t)) in states.iter().zip(targets).enumerate() {
            let n = x.len();
            crate::da::ensemble::check_len(op, "targets[k]", t.len(), n)?;
            for i in 0..n {
                let r = [x[(i + n - 1) % n], x[i], x[(i + 1) % n]];
                if r.iter().chain([&t[i]]).any(|v| !v.is_finite()) {
                    return Err(Error::NonFinite {
                        op,
                        index: k,
                        value: f64::NAN,
                        context: format!("training pair {k}, variable {i}"),
                    });
                }
                rows.push(r);
                z.push(t[i]);
            }
        }
        if rows.is_empty() {
            return Err(Error::invalid_option(
                op,
                "states",
                "[]",
                "at least one pair",
            ));
        }
        if rows.len().saturating_mul(opts.epochs) > MAX_ROW_EPOCHS {
            return Err(Error::invalid_option(
                op,
                "epochs",
                opts.epochs,
                format!("rows × epochs ≤ {MAX_ROW_EPOCHS} ({} rows)", rows.len()),
            ));
        }
        let mean_sd = |v: &mut dyn Iterator<Item = f64>| {
            let (mut n, mut s, mut s2) = (0.0, 0.0, 0.0);
            for a in v {
                n += 1.0;
                s += a;
                s2 += a * a;
            }
            let m = s / n;
            (m, ((s2 / n - m * m).max(0.0)).sqrt().max(1e-12))
        };
        let (mu, sx) = mean_sd(&mut rows.iter().map(|r| r[1]));
        let (_, sz) = mean_sd(&mut z.iter().copied());
        let net = opts.net()?;
        let mut w = net.init_seeded(Init::GlorotNormal, opts.seed);
        let x_std: Vec<[f64; 3]> = rows.iter().map(|r| r.map(|v| (v - mu) / sx)).collect();
        let z_std: Vec<f64> = z.iter().map(|v| v / sz).collect();
        let mut adam = Adam::new(
            w.len(),
            &AdamOptions {
                learning_rate: LearningRate::Constant {
                    lr: opts.learning_rate,
                },
                record_params: false,
                ..AdamOptions::default()
            },
        )?;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut g = stream(opts.seed, 1);
        let (mut grad, mut scratch, mut out) = (vec![0.0; w.len()], Vec::new(), [0.0]);
        for _ in 0..opts.epochs {
            order.shuffle(&mut g);
            for chunk in order.chunks(opts.batch) {
                grad.fill(0.0);
                let scale = 2.0 / chunk.len() as f64;
                for &r in chunk {
                    net.forward_f64(&w, &x_std[r], &mut out, &mut scratch);
                    let ybar = [scale * (out[0] - z_std[r])];
                    net.vjp_f64(&w, &x_std[r], &ybar, &mut [], &mut grad, &mut scratch);
                }
                adam.step(&mut w, &grad)?;
            }
        }
        Ok(Self { net, w, mu, sx, sz })
    }
}
