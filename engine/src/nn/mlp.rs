//! A multilayer perceptron with one flat parameter vector.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::ad::Real;
use crate::error::{Error, Result};

use super::activation::Activation;
use super::dense::Dense;
use super::init::Init;

/// A fully connected network: hidden layers with activation `hidden`, an output layer
/// with activation `output` (tanh and identity by default). The parameters are one flat
/// vector, layer after layer, `W` row-major then `b` ([`crate::nn`]).
///
/// ```
/// use mechml_engine::nn::Mlp;
/// let net = Mlp::new(vec![2, 4, 2])?;
/// assert_eq!(net.n_params(), 2 * 4 + 4 + 4 * 2 + 2);
/// let w = net.init(1, 0.1);
/// let y = net.forward(&w, &[0.5, -0.3]);
/// assert_eq!(y.len(), 2);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    sizes: Vec<usize>,
    hidden: Activation,
    output: Activation,
}

impl Mlp {
    /// Layer sizes, input first (at least two layers, none empty); tanh hidden layers and
    /// a linear output layer.
    pub fn new(sizes: Vec<usize>) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::invalid_option(
                "Mlp",
                "sizes",
                format!("{sizes:?}"),
                "at least two layers (input and output), none empty",
            ));
        }
        Ok(Self {
            sizes,
            hidden: Activation::Tanh,
            output: Activation::Identity,
        })
    }

    /// The same network with other activations.
    pub fn with_activations(mut self, hidden: Activation, output: Activation) -> Self {
        self.hidden = hidden;
        self.output = output;
        self
    }

    /// Layer sizes, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Hidden and output activations.
    pub fn activations(&self) -> (Activation, Activation) {
        (self.hidden, self.output)
    }

    /// Number of weights and biases.
    pub fn n_params(&self) -> usize {
        self.sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// Input size.
    pub fn n_in(&self) -> usize {
        self.sizes[0]
    }

    /// Output size.
    pub fn n_out(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    /// The layers, input side first.
    pub fn layers(&self) -> impl Iterator<Item = Dense> + '_ {
        let last = self.sizes.len() - 2;
        self.sizes.windows(2).enumerate().map(move |(l, s)| Dense {
            n_in: s[0],
            n_out: s[1],
            act: if l == last { self.output } else { self.hidden },
        })
    }

    /// Checks the lengths of a parameter vector and an input.
    pub fn check(&self, w_len: usize, x_len: usize) -> Result<()> {
        crate::error::check_len("Mlp", "params", w_len, self.n_params())?;
        crate::error::check_len("Mlp", "x", x_len, self.n_in())
    }

    /// Seeded `N(0, scale²)` weights, zero biases.
    pub fn init(&self, seed: u64, scale: f64) -> Vec<f64> {
        self.init_seeded(Init::Normal { std: scale }, seed)
    }

    /// Weights by `init` from a xoshiro256++ stream seeded with `seed`, zero biases.
    pub fn init_seeded(&self, init: Init, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        self.init_with(init, &mut rng)
    }

    /// Weights by `init` drawn from `rng` (layer by layer, row-major), zero biases.
    pub fn init_with(&self, init: Init, rng: &mut Xoshiro256PlusPlus) -> Vec<f64> {
        let mut w = vec![0.0; self.n_params()];
        let mut o = 0;
        for layer in self.layers() {
            let nw = layer.n_in * layer.n_out;
            init.fill(layer.n_in, layer.n_out, rng, &mut w[o..o + nw]);
            o += layer.n_params();
        }
        w
    }

    /// The network's output at `x` with parameters `w`; each layer is one block on a
    /// `Tape<f64>` ([`Dense::forward`]). Lengths must match ([`Mlp::check`]).
    pub fn forward<R: Real>(&self, w: &[R], x: &[R]) -> Vec<R> {
        self.run(w, x, false)
    }

    /// The same network by scalar operations only (the reference for the fused blocks).
    pub fn forward_unfused<R: Real>(&self, w: &[R], x: &[R]) -> Vec<R> {
        self.run(w, x, true)
    }

    fn run<R: Real>(&self, w: &[R], x: &[R], unfused: bool) -> Vec<R> {
        let mut a = x.to_vec();
        let mut z = Vec::new();
        let mut o = 0;
        for layer in self.layers() {
            let np = layer.n_params();
            z.clear();
            z.resize(layer.n_out, R::zero());
            if unfused {
                layer.forward_unfused(&w[o..o + np], &a, &mut z);
            } else {
                layer.forward(&w[o..o + np], &a, &mut z);
            }
            std::mem::swap(&mut a, &mut z);
            o += np;
        }
        a
    }
}
