//! [`ExactGp`]: exact GP regression with Gaussian noise, its log marginal likelihood and
//! gradient (natural and unconstrained scales), and fitting by L-BFGS.

use faer::{Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use super::lml::{self, ExactAdjoints, ExactAt, ExactFactor, Linalg};
use super::predict::{DenseMatrix, ExactPosterior};
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::fit::maximise;
use crate::gp::kernels::Kernel;
use crate::gp::params::{at_values, unconstrained_gradient, with_noise};
use crate::gp::workspace::MatPool;
use crate::linalg::{JitterInfo, JitterPolicy};
use crate::optim::{FitOptions, OptimResult};
use crate::param::ParamLayout;

/// Numerical options of an exact GP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExactGpOptions {
    /// Jitter tried when `K + σ_n² I` is numerically indefinite (reported in
    /// [`LmlGradient::jitter`]).
    pub jitter: JitterPolicy,
    /// Parallelism of the dense linear algebra.
    pub par: Par,
}

impl Default for ExactGpOptions {
    fn default() -> Self {
        Self {
            jitter: JitterPolicy::default(),
            par: Par::Seq,
        }
    }
}

/// The log marginal likelihood, its gradient in the parameters, and the jitter used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmlGradient {
    /// `log p(Y | X, θ)`.
    pub value: f64,
    /// `∂/∂θ` on the natural scale, in the order of [`ExactGp::param_names`].
    pub grad: Vec<f64>,
    /// `∂/∂z` on the unconstrained scale (`z = log θ` for the positive parameters).
    pub grad_unconstrained: Vec<f64>,
    /// Jitter added to the diagonal on top of the noise.
    pub jitter: JitterInfo,
}

/// What [`ExactGp::fit`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The optimiser's result over the free parameters on the unconstrained scale (named
    /// by `free_names`): trace of `−log p(Y)`, gradient norms and parameters per
    /// iteration, and why it stopped (the best of the starts).
    pub optim: OptimResult,
    /// Names of the free parameters, the entries of `optim.x`.
    pub free_names: Vec<String>,
    /// The log marginal likelihood at the fitted parameters.
    pub lml: f64,
    /// Jitter needed at the fitted parameters.
    pub jitter: JitterInfo,
    /// With [`FitOptions::hessian`]: the observed information `−∇² log p(Y)` over
    /// `optim.x` (central differences of the analytic gradient, step `10⁻⁴`).
    pub hessian: Option<DenseMatrix>,
    /// Standard errors `√diag(H⁻¹)` on the unconstrained scale, when the observed
    /// information is positive definite.
    pub std_errors: Option<Vec<f64>>,
}

/// Exact GP regression `y_k = f_k(x) + ε`, `f_k ~ GP(0, k)`, `ε ~ N(0, σ_n²)`, with `p`
/// outputs sharing the kernel and the noise.
///
/// Parameters `θ` ([`ExactGp::params`], natural scale): the kernel's
/// ([`Kernel::layout`]), then `noise_variance`.
///
/// ```
/// use mechml_engine::gp::{ExactGp, Inputs, SquaredExponential};
/// use mechml_engine::optim::FitOptions;
/// let x = Inputs::from_1d(&[0.0, 0.4, 1.1, 1.7, 2.5])?;
/// let y: Vec<f64> = [0.0, 0.4, 1.1, 1.7, 2.5].iter().map(|v: &f64| v.sin()).collect();
/// // θ = (variance, lengthscale, noise_variance).
/// let mut gp = ExactGp::new(SquaredExponential::isotropic(), x, &y, &[1.0, 1.0, 0.01])?;
/// assert_eq!(gp.param_names(), ["variance", "lengthscale", "noise_variance"]);
/// let report = gp.fit(&FitOptions::default().fixing(&["noise_variance"]))?;
/// assert!(report.optim.converged() && report.lml >= report.optim.trace[0].value * -1.0);
/// assert_eq!(gp.param("noise_variance")?, 0.01);
/// let pred = gp.posterior()?.predict(&Inputs::from_1d(&[1.0])?, false)?;
/// assert!((pred.mean[(0, 0)] - 1f64.sin()).abs() < 0.05);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ExactGp<K> {
    kernel: K,
    layout: ParamLayout,
    x: Inputs,
    y: Mat<f64>,
    options: ExactGpOptions,
    pool: MatPool,
}

impl<K: Kernel> ExactGp<K> {
    /// One output `y` (length `n`) at the parameters `θ` (the kernel's, then
    /// `noise_variance`; natural scale).
    pub fn new(kernel: K, x: Inputs, y: &[f64], theta: &[f64]) -> Result<Self> {
        let ym = Mat::from_fn(y.len(), 1, |i, _| y[i]);
        Self::new_multi(kernel, x, ym.as_ref(), theta)
    }

    /// Several outputs: the columns of `y` (`n × p`).
    pub fn new_multi(kernel: K, x: Inputs, y: MatRef<'_, f64>, theta: &[f64]) -> Result<Self> {
        let layout = at_values("ExactGp", with_noise(kernel.layout()?)?, theta)?;
        let gp = Self {
            kernel,
            layout,
            x,
            y: y.to_owned(),
            options: ExactGpOptions::default(),
            pool: MatPool::default(),
        };
        lml::check_problem("ExactGp", &gp.at(theta), gp.y.as_ref())?;
        Ok(gp)
    }

    /// Replaces the numerical options.
    pub fn with_options(mut self, options: ExactGpOptions) -> Self {
        self.options = options;
        self
    }

    /// The kernel (structure).
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// The parameters: names, transforms and current values.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// Training inputs.
    pub fn inputs(&self) -> &Inputs {
        &self.x
    }

    /// Training outputs (`n × p`).
    pub fn outputs(&self) -> MatRef<'_, f64> {
        self.y.as_ref()
    }

    /// Number of parameters: the kernel's plus one.
    pub fn n_params(&self) -> usize {
        self.layout.len()
    }

    /// `θ`: the kernel's parameters, then `noise_variance` (natural scale).
    pub fn params(&self) -> Vec<f64> {
        self.layout.values()
    }

    /// The kernel's parameters (the head of `θ`).
    pub fn kernel_params(&self) -> Vec<f64> {
        let mut t = self.layout.values();
        t.pop();
        t
    }

    /// Names of [`ExactGp::params`].
    pub fn param_names(&self) -> Vec<String> {
        self.layout.names().iter().map(|s| s.to_string()).collect()
    }

    /// The parameter `name`.
    pub fn param(&self, name: &str) -> Result<f64> {
        self.layout.value(name)
    }

    /// The noise variance `σ_n²`.
    pub fn noise_variance(&self) -> f64 {
        self.layout.params().last().map_or(f64::NAN, |p| p.value)
    }

    /// Sets `θ` (checked: length, and each value in its parameter's support).
    pub fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        self.layout = at_values("ExactGp::set_params", self.layout.clone(), theta)?;
        Ok(())
    }

    /// Sets the parameter `name`.
    pub fn set_param(&mut self, name: &str, value: f64) -> Result<()> {
        self.layout.set_value(name, value)
    }

    /// The problem at `θ` (its length already checked).
    fn at<'a>(&'a self, theta: &'a [f64]) -> ExactAt<'a, K> {
        let pk = theta.len() - 1;
        ExactAt {
            kernel: &self.kernel,
            theta: &theta[..pk],
            noise: theta[pk],
            x: &self.x,
        }
    }

    fn linalg(&self) -> Linalg<'_> {
        Linalg {
            par: self.options.par,
            pool: Some(&self.pool),
        }
    }

    /// [`lml::factor_keep`] at `θ` (checked against the layout).
    fn factor_keep_at(
        &self,
        theta: &[f64],
        keep_k: bool,
    ) -> Result<(ExactFactor, Option<Mat<f64>>)> {
        crate::gp::kernels::matrix::check_support("ExactGp", &self.layout, theta)?;
        lml::factor_keep(
            &self.at(theta),
            self.y.as_ref(),
            self.options.jitter,
            self.linalg(),
            keep_k,
        )
    }

    fn factor_at(&self, theta: &[f64]) -> Result<ExactFactor> {
        self.factor_keep_at(theta, false).map(|(f, _)| f)
    }

    /// `log p(Y | X)` at the current parameters.
    pub fn log_marginal_likelihood(&self) -> Result<f64> {
        let f = self.factor_at(&self.params())?;
        let v = lml::lml_value(&f, self.y.as_ref());
        self.pool.give(f.llt.into_l());
        Ok(v)
    }

    /// `log p(Y | X)` and its gradient at `θ`, on the natural and the unconstrained scale
    /// (≈ three Cholesky factorisations of work: the factorisation, the inverse, and
    /// `O(n² (d + #θ))` for the contraction). The kernel matrix is kept for the
    /// contraction (a squared exponential reads its values instead of recomputing them),
    /// so three `n × n` work buffers are live at once; they are reused across calls.
    pub fn lml_and_grad(&self, theta: &[f64]) -> Result<LmlGradient> {
        let (f, kxx) = self.factor_keep_at(theta, true)?;
        let value = lml::lml_value(&f, self.y.as_ref());
        let pk = theta.len() - 1;
        let mut grad = vec![0.0; pk + 1];
        let (dtheta, dnoise) = grad.split_at_mut(pk);
        let jitter = f.jitter;
        lml::lml_pullback_owned(
            &self.at(theta),
            f,
            kxx,
            1.0,
            self.linalg(),
            ExactAdjoints {
                dtheta,
                dnoise: &mut dnoise[0],
                dx: None,
                dy: None,
            },
        );
        crate::error::check_finite("exact_gp", "gradient", &grad)?;
        Ok(LmlGradient {
            value,
            grad_unconstrained: unconstrained_gradient(&self.layout, theta, &grad),
            grad,
            jitter,
        })
    }

    /// Maximises `log p(Y | X)` by L-BFGS over the free parameters on the unconstrained
    /// scale, from the current ones (and `opts.n_starts − 1` perturbations), holding
    /// `opts.fixed` (names or groups) at their values; keeps the result (also when the
    /// optimiser stopped without converging: check `report.optim.converged()`).
    pub fn fit(&mut self, opts: &FitOptions) -> Result<FitReport> {
        let fitted = maximise(&self.layout, opts, |theta| {
            let r = self.lml_and_grad(theta)?;
            Ok((r.value, r.grad))
        })?;
        self.set_params(&fitted.theta)?;
        let f = self.factor_at(&fitted.theta)?;
        let lml = lml::lml_value(&f, self.y.as_ref());
        let jitter = f.jitter;
        self.pool.give(f.llt.into_l());
        Ok(FitReport {
            optim: fitted.optim,
            free_names: fitted.free_names,
            lml,
            jitter,
            hessian: fitted.hessian,
            std_errors: fitted.std_errors,
        })
    }

    /// The posterior at the current parameters (one factorisation, reused by every
    /// prediction).
    pub fn posterior(&self) -> Result<ExactPosterior<K>> {
        let theta = self.params();
        let f = self.factor_at(&theta)?;
        let p = self.at(&theta);
        Ok(ExactPosterior::new(
            self.kernel.clone(),
            p.theta.to_vec(),
            self.x.clone(),
            f,
            p.noise,
            self.options.par,
        ))
    }
}
