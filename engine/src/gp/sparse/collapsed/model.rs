//! [`SparseGp`]: the model, its parameters, value and gradients, fitting and predictions.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use super::objective::{SparseAt, check_problem, evaluate, pullback};
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::exact::{DenseMatrix, Prediction};
use crate::gp::fit::maximise;
use crate::gp::kernels::Kernel;
use crate::gp::kernels::matrix::kernel_matrix_unchecked;
use crate::gp::params::{at_values, inducing_params, unconstrained_gradient, with_noise};
use crate::gp::sparse::collapsed_bound::SparseMethod;
use crate::gp::workspace::{Linalg, MatPool};
use crate::optim::{FitOptions, OptimResult};
use crate::param::{ParamLayout, Transform};

/// Numerical options of a sparse GP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SparseGpOptions {
    /// Absolute jitter `ε` added to `K(Z, Z)` (the workloads use `10⁻⁶`; 0 is allowed when
    /// `K(Z, Z)` is well conditioned).
    pub jitter: f64,
    /// Parallelism of the dense linear algebra.
    pub par: Par,
}

impl Default for SparseGpOptions {
    fn default() -> Self {
        Self {
            jitter: 1e-6,
            par: Par::Seq,
        }
    }
}

/// Value and gradients of a collapsed objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseGradient {
    /// The objective `F`.
    pub value: f64,
    /// `∂F/∂θ` on the natural scale (the kernel's parameters, then `noise_variance`).
    pub grad: Vec<f64>,
    /// `∂F/∂z` on the unconstrained scale (`z = log θ` for the positive parameters).
    pub grad_unconstrained: Vec<f64>,
    /// `∂F/∂Z`, point-major (`M d`).
    pub grad_z: Vec<f64>,
}

/// What [`SparseGp::fit`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseFitReport {
    /// The optimiser's result (trace of `−F`) over the free parameters on the
    /// unconstrained scale, named by `free_names`: hyperparameters, then the inducing
    /// inputs `inducing[i][k]` unless fixed.
    pub optim: OptimResult,
    /// Names of the free parameters, the entries of `optim.x`.
    pub free_names: Vec<String>,
    /// The objective at the fitted parameters.
    pub objective: f64,
    /// With [`FitOptions::hessian`]: the observed information `−∇² F` over `optim.x`.
    pub hessian: Option<DenseMatrix>,
    /// Standard errors `√diag(H⁻¹)` when the observed information is positive definite.
    pub std_errors: Option<Vec<f64>>,
}

/// Sparse GP regression with `M` inducing inputs `Z`, trained by the collapsed VFE bound
/// (Titsias 2009) or by FITC (Snelson & Ghahramani 2006); see
/// [`collapsed_bound`](crate::gp::sparse::collapsed_bound) for the equations.
///
/// Parameters `θ` ([`SparseGp::params`], natural scale): the kernel's, then
/// `noise_variance`; the inducing inputs are separate ([`SparseGp::inducing`]) and, in a
/// fit, form the parameter group `inducing` (`inducing[i][k]`: coordinate `k` of point
/// `i`), optimised unless fixed.
///
/// ```
/// use mechml_engine::gp::{Inputs, SparseGp, SparseMethod, SquaredExponential};
/// use mechml_engine::optim::FitOptions;
/// let xs: Vec<f64> = (0..200).map(|i| i as f64 / 20.0).collect();
/// let y: Vec<f64> = xs.iter().map(|v| v.sin()).collect();
/// let z = Inputs::from_1d(&[0.5, 2.5, 4.5, 6.5, 8.5])?;
/// let theta = [1.0, 1.0, 0.01];                       // variance, lengthscale, noise_variance
/// let mut gp = SparseGp::new(SquaredExponential::isotropic(), Inputs::from_1d(&xs)?, &y, z, &theta, SparseMethod::Vfe)?;
/// let before = gp.objective()?;
/// let report = gp.fit(&FitOptions::default())?;     // θ and Z; `.fixing(&["inducing"])` keeps Z
/// assert!(report.objective > before);
/// let p = gp.predict(&Inputs::from_1d(&[3.0])?)?;
/// assert!((p.mean[(0, 0)] - 3f64.sin()).abs() < 0.05);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SparseGp<K> {
    kernel: K,
    layout: ParamLayout,
    x: Inputs,
    y: Vec<f64>,
    z: Inputs,
    method: SparseMethod,
    options: SparseGpOptions,
    pool: MatPool,
}

impl<K: Kernel> SparseGp<K> {
    /// A sparse GP on `(x, y)` with inducing inputs `z` at the parameters `θ` (the
    /// kernel's, then `noise_variance`; natural scale).
    pub fn new(
        kernel: K,
        x: Inputs,
        y: &[f64],
        z: Inputs,
        theta: &[f64],
        method: SparseMethod,
    ) -> Result<Self> {
        let layout = at_values("SparseGp", with_noise(kernel.layout()?)?, theta)?;
        let gp = Self {
            kernel,
            layout,
            x,
            y: y.to_vec(),
            z,
            method,
            options: SparseGpOptions::default(),
            pool: MatPool::default(),
        };
        check_problem("SparseGp", &gp.at(theta, &gp.z))?;
        Ok(gp)
    }

    /// Replaces the numerical options.
    pub fn with_options(mut self, options: SparseGpOptions) -> Self {
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

    /// The noise variance.
    pub fn noise_variance(&self) -> f64 {
        self.layout.params().last().map_or(f64::NAN, |p| p.value)
    }

    /// The inducing inputs.
    pub fn inducing(&self) -> &Inputs {
        &self.z
    }

    /// Replaces the inducing inputs.
    pub fn set_inducing(&mut self, z: Inputs) -> Result<()> {
        if z.d() != self.x.d() || z.n() == 0 {
            return Err(Error::ShapeMismatch {
                op: "SparseGp::set_inducing",
                arg: "z",
                expected: format!("at least one {}-dimensional point", self.x.d()),
                found: format!("{} points of dimension {}", z.n(), z.d()),
            });
        }
        self.z = z;
        Ok(())
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

    /// Names of [`SparseGp::params`].
    pub fn param_names(&self) -> Vec<String> {
        self.layout.names().iter().map(|s| s.to_string()).collect()
    }

    /// The parameter `name`.
    pub fn param(&self, name: &str) -> Result<f64> {
        self.layout.value(name)
    }

    /// Sets `θ` (checked: length, and each value in its parameter's support).
    pub fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        self.layout = at_values("SparseGp::set_params", self.layout.clone(), theta)?;
        Ok(())
    }

    /// Sets the parameter `name`.
    pub fn set_param(&mut self, name: &str, value: f64) -> Result<()> {
        self.layout.set_value(name, value)
    }

    /// The problem at `θ` and `z` (the length of `θ` already checked).
    fn at<'a>(&'a self, theta: &'a [f64], z: &'a Inputs) -> SparseAt<'a, K> {
        let pk = theta.len() - 1;
        SparseAt {
            kernel: &self.kernel,
            theta: &theta[..pk],
            noise: theta[pk],
            x: &self.x,
            y: &self.y,
            z,
        }
    }

    /// The objective (VFE bound or FITC log-likelihood) at the current parameters.
    pub fn objective(&self) -> Result<f64> {
        let theta = self.params();
        let (f, _) = evaluate(
            &self.at(&theta, &self.z),
            self.method,
            &self.options,
            Some(&self.pool),
        )?;
        let v = f.value;
        self.pool.give(f.u);
        Ok(v)
    }

    /// The objective and its gradients at `θ` and inducing inputs `z`.
    pub fn objective_and_grad(&self, theta: &[f64], z: &Inputs) -> Result<SparseGradient> {
        crate::gp::kernels::matrix::check_support("SparseGp", &self.layout, theta)?;
        let p = self.at(theta, z);
        let (f, kdiag) = evaluate(&p, self.method, &self.options, Some(&self.pool))?;
        let la = Linalg {
            par: self.options.par,
            pool: Some(&self.pool),
        };
        let g = pullback(&p, &f, &kdiag, 1.0, false, la);
        let value = f.value;
        self.pool.give(f.u);
        let mut grad = g.theta;
        grad.push(g.noise);
        crate::error::check_finite("sparse_gp", "gradient", &grad)?;
        crate::error::check_finite("sparse_gp", "inducing-input gradient", &g.z)?;
        Ok(SparseGradient {
            value,
            grad_unconstrained: unconstrained_gradient(&self.layout, theta, &grad),
            grad,
            grad_z: g.z,
        })
    }

    /// Maximises the objective by L-BFGS over the free parameters on the unconstrained
    /// scale: the hyperparameters and the inducing inputs (group `inducing`), holding
    /// `opts.fixed` (names or groups, e.g. `["inducing"]`) at their values; keeps the
    /// result.
    pub fn fit(&mut self, opts: &FitOptions) -> Result<SparseFitReport> {
        let np = self.layout.len();
        let (m, d) = (self.z.n(), self.z.d());
        let mut layout = self.layout.clone();
        for p in inducing_params(&self.z) {
            debug_assert_eq!(p.transform, Transform::Identity);
            layout.push(p)?;
        }
        let fitted = maximise(&layout, opts, |v| {
            let z = Inputs::new(m, d, v[np..].to_vec())?;
            let r = self.objective_and_grad(&v[..np], &z)?;
            let mut g = r.grad;
            g.extend(r.grad_z);
            Ok((r.value, g))
        })?;
        self.set_params(&fitted.theta[..np])?;
        self.z = Inputs::new(m, d, fitted.theta[np..].to_vec())?;
        Ok(SparseFitReport {
            objective: -fitted.optim.value,
            optim: fitted.optim,
            free_names: fitted.free_names,
            hessian: fitted.hessian,
            std_errors: fitted.std_errors,
        })
    }

    /// Predictive mean and variance of the latent function at `xs`:
    /// `μ = K_*u Σ⁻¹ K_uf D⁻¹ y`, `v = k_** − Q_** + K_*u Σ⁻¹ K_u*` (Titsias 2009, eq. 6;
    /// Quiñonero-Candela & Rasmussen 2005, eq. 24b).
    pub fn predict(&self, xs: &Inputs) -> Result<Prediction> {
        let theta = self.params();
        let p = self.at(&theta, &self.z);
        let par = self.options.par;
        let (f, _) = evaluate(&p, self.method, &self.options, None)?;
        let h = f.h(par);
        let m = self.z.n();
        let mut w = kernel_matrix_unchecked(&self.kernel, p.theta, &self.z, Some(xs))?;
        f.lz.solve_l_in_place(w.as_mut(), par);
        let ns = xs.n();
        let mut mean = Mat::<f64>::zeros(ns, 1);
        matmul(
            mean.as_mut(),
            Accum::Replace,
            w.transpose(),
            MatRef::from_column_major_slice(&h, m, 1),
            1.0,
            par,
        );
        let mut kd = vec![0.0; ns];
        self.kernel.diag_into(p.theta, xs, &mut kd);
        let q: Vec<f64> = (0..ns).map(|i| w.col(i).squared_norm_l2()).collect();
        f.lb.solve_l_in_place(w.as_mut(), par);
        let var = (0..ns)
            .map(|i| (kd[i] - q[i] + w.col(i).squared_norm_l2()).max(0.0))
            .collect();
        Ok(Prediction {
            mean: DenseMatrix {
                rows: ns,
                cols: 1,
                values: (0..ns).map(|i| mean[(i, 0)]).collect(),
            },
            var,
            cov: None,
            noise_variance: p.noise,
        })
    }
}
