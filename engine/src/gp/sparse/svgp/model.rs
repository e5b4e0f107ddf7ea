//! [`Svgp`]: the model, its options and parameters.

use faer::{Mat, MatRef, Par};

use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::kernels::matrix::check_args;
use crate::gp::likelihoods::{Likelihood, MAX_LIKELIHOOD_PARAMS};
use crate::gp::params::{at_values, model_layout};
use crate::gp::quadrature::GaussHermite;
use crate::gp::workspace::MatPool;
use crate::param::ParamLayout;

/// Numerical options of an SVGP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvgpOptions {
    /// Absolute jitter on `K(Z, Z)`.
    pub jitter: f64,
    /// Gauss–Hermite points for non-Gaussian expectations.
    pub quadrature_points: usize,
    /// Parallelism of the dense linear algebra.
    pub par: Par,
}

impl Default for SvgpOptions {
    fn default() -> Self {
        Self {
            jitter: 1e-6,
            quadrature_points: 20,
            par: Par::Seq,
        }
    }
}

/// A stochastic variational GP (see the [module docs](super)).
///
/// ```
/// use mechml_engine::gp::{Gaussian, Inputs, SquaredExponential, Svgp, SvgpTrainOptions};
/// let xs: Vec<f64> = (0..400).map(|i| i as f64 / 40.0).collect();
/// let y: Vec<f64> = xs.iter().map(|v| v.sin()).collect();
/// let x = Inputs::from_1d(&xs)?;
/// let z = Inputs::from_1d(&[0.5, 2.0, 3.5, 5.0, 6.5, 8.0, 9.5])?;
/// // θ = (variance, lengthscale, noise_variance).
/// let mut gp = Svgp::new(SquaredExponential::isotropic(), Gaussian::new(), z, x.n(), &[1.0, 1.0, 0.01])?;
/// let opts = SvgpTrainOptions { iterations: 300, batch_size: 64, ..Default::default() };
/// let trace = gp.train(&x, &y, &opts)?;
/// assert!(trace.trace.last().unwrap().value < trace.trace[0].value);
/// let p = gp.predict_f(&Inputs::from_1d(&[3.0])?)?;
/// assert!((p.mean[(0, 0)] - 3f64.sin()).abs() < 0.1);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Svgp<K, L> {
    pub(super) kernel: K,
    pub(super) likelihood: L,
    /// The kernel's parameters, then the likelihood's.
    pub(super) layout: ParamLayout,
    pub(super) z: Inputs,
    pub(super) q_mu: Vec<f64>,
    pub(super) q_sqrt: Mat<f64>,
    pub(super) n_data: usize,
    pub(super) quad: GaussHermite,
    pub(super) options: SvgpOptions,
    pub(super) pool: MatPool,
}

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// An SVGP with inducing inputs `z` for a data set of `n_data` points at the
    /// parameters `θ` (the kernel's, then the likelihood's; natural scale), starting from
    /// `q(v) = N(0, I)` (the prior).
    pub fn new(kernel: K, likelihood: L, z: Inputs, n_data: usize, theta: &[f64]) -> Result<Self> {
        let layout = at_values(
            "Svgp",
            model_layout(kernel.layout()?, &likelihood.layout()?)?,
            theta,
        )?;
        check_args("Svgp", &kernel, &theta[..kernel.n_params()], &z, None)?;
        if z.n() == 0 {
            return Err(Error::invalid_option(
                "Svgp",
                "z",
                "0 points",
                "at least one inducing input",
            ));
        }
        if n_data == 0 {
            return Err(Error::invalid_option("Svgp", "n_data", 0, "at least 1"));
        }
        if likelihood.n_params() > MAX_LIKELIHOOD_PARAMS {
            return Err(Error::invalid_option(
                "Svgp",
                "likelihood",
                format!("{} parameters", likelihood.n_params()),
                format!("at most {MAX_LIKELIHOOD_PARAMS} parameters"),
            ));
        }
        let m = z.n();
        let options = SvgpOptions::default();
        Ok(Self {
            kernel,
            likelihood,
            layout,
            z,
            q_mu: vec![0.0; m],
            q_sqrt: Mat::identity(m, m),
            n_data,
            quad: GaussHermite::new(options.quadrature_points)?,
            options,
            pool: MatPool::default(),
        })
    }

    /// Replaces the numerical options.
    pub fn with_options(mut self, options: SvgpOptions) -> Result<Self> {
        self.quad = GaussHermite::new(options.quadrature_points)?;
        self.options = options;
        Ok(self)
    }

    /// The kernel (structure).
    pub fn kernel(&self) -> &K {
        &self.kernel
    }
    /// The likelihood (structure).
    pub fn likelihood(&self) -> &L {
        &self.likelihood
    }
    /// The hyperparameters: names, transforms and current values.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }
    /// `θ`: the kernel's parameters, then the likelihood's (natural scale).
    pub fn params(&self) -> Vec<f64> {
        self.layout.values()
    }
    /// Names of [`Svgp::params`].
    pub fn param_names(&self) -> Vec<String> {
        self.layout.names().iter().map(|s| s.to_string()).collect()
    }
    /// The parameter `name`.
    pub fn param(&self, name: &str) -> Result<f64> {
        self.layout.value(name)
    }
    /// Sets `θ` (checked: length, and each value in its parameter's support).
    pub fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        self.layout = at_values("Svgp::set_params", self.layout.clone(), theta)?;
        Ok(())
    }
    /// Sets the parameter `name`.
    pub fn set_param(&mut self, name: &str, value: f64) -> Result<()> {
        self.layout.set_value(name, value)
    }
    /// The inducing inputs.
    pub fn inducing(&self) -> &Inputs {
        &self.z
    }
    /// `m`.
    pub fn q_mu(&self) -> &[f64] {
        &self.q_mu
    }
    /// `S` (lower triangular).
    pub fn q_sqrt(&self) -> MatRef<'_, f64> {
        self.q_sqrt.as_ref()
    }

    /// Sets `q(v) = N(m, S Sᵀ)` (the strict upper triangle of `s` is ignored).
    pub fn set_q(&mut self, m: &[f64], s: MatRef<'_, f64>) -> Result<()> {
        let mm = self.z.n();
        crate::error::check_len("Svgp::set_q", "m", m.len(), mm)?;
        crate::error::check_shape("Svgp::set_q", "S", (s.nrows(), s.ncols()), (mm, mm))?;
        crate::error::check_finite("Svgp::set_q", "m", m)?;
        let sl = Mat::from_fn(mm, mm, |i, j| if i >= j { s[(i, j)] } else { 0.0 });
        crate::error::check_finite(
            "Svgp::set_q",
            "S",
            &crate::ad::ops::util::to_vec(sl.as_ref()),
        )?;
        self.q_mu = m.to_vec();
        self.q_sqrt = sl;
        Ok(())
    }

    /// `(θ_kernel, φ_likelihood)`.
    pub(super) fn split_params(&self) -> (Vec<f64>, Vec<f64>) {
        let mut theta = self.layout.values();
        let phi = theta.split_off(self.kernel.n_params());
        (theta, phi)
    }

    pub(super) fn check_batch(&self, x: &Inputs, y: &[f64]) -> Result<()> {
        crate::error::check_len("Svgp", "y", y.len(), x.n())?;
        if x.d() != self.z.d() {
            return Err(Error::ShapeMismatch {
                op: "Svgp",
                arg: "x",
                expected: format!("{}-dimensional points", self.z.d()),
                found: format!("{}-dimensional points", x.d()),
            });
        }
        for &yi in y {
            self.likelihood.check_observation(yi)?;
        }
        Ok(())
    }

    /// Checks that `x` holds the whole data set the model was built for.
    pub(super) fn check_full_data(&self, op: &'static str, x: &Inputs) -> Result<()> {
        if x.n() != self.n_data {
            return Err(Error::invalid_option(
                op,
                "x",
                format!("{} points", x.n()),
                format!("the N = {} points the model was built for", self.n_data),
            ));
        }
        Ok(())
    }
}
