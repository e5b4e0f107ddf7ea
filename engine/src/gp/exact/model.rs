//! [`ExactGp`]: exact GP regression with Gaussian noise, its log marginal likelihood and
//! gradient, fitting by L-BFGS, and the tape block [`exact_lml_var`].

use faer::{Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use super::lml::{self, ExactAdjoints, ExactFactor};
use super::predict::ExactPosterior;
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::workspace::MatPool;
use crate::linalg::{JitterInfo, JitterPolicy};
use crate::optim::{LbfgsOptions, OptimResult, lbfgs};

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
    /// `∂/∂(θ_kernel…, log σ_n²)`.
    pub grad: Vec<f64>,
    /// Jitter added to the diagonal on top of the noise.
    pub jitter: JitterInfo,
}

/// Options of [`ExactGp::fit`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// The optimiser's options (it minimises `−log p(Y)`).
    pub lbfgs: LbfgsOptions,
    /// Indices of parameters (into [`ExactGp::params`]) held fixed.
    pub fixed: Vec<usize>,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            lbfgs: LbfgsOptions {
                grad_tol: 1e-5,
                f_tol: 1e-10,
                max_iters: 500,
                ..Default::default()
            },
            fixed: Vec::new(),
        }
    }
}

/// What [`ExactGp::fit`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The optimiser's result over the free parameters: trace of `−log p(Y)`, gradient
    /// norms and parameters per iteration, and why it stopped.
    pub optim: OptimResult,
    /// The log marginal likelihood at the fitted parameters.
    pub lml: f64,
    /// Jitter needed at the fitted parameters.
    pub jitter: JitterInfo,
}

/// Exact GP regression `y_k = f_k(x) + ε`, `f_k ~ GP(0, k)`, `ε ~ N(0, σ_n²)`, with `p`
/// outputs sharing the kernel and the noise.
///
/// Parameters ([`ExactGp::params`]): the kernel's, then `log σ_n²`.
///
/// ```
/// use mechml_engine::gp::{ExactGp, Inputs, SquaredExponential};
/// let x = Inputs::from_1d(&[0.0, 0.4, 1.1, 1.7, 2.5])?;
/// let y: Vec<f64> = [0.0, 0.4, 1.1, 1.7, 2.5].iter().map(|v: &f64| v.sin()).collect();
/// let mut gp = ExactGp::new(SquaredExponential::new(1.0, 1.0)?, x, &y, 0.01)?;
/// let report = gp.fit(&Default::default())?;
/// assert!(report.optim.converged() && report.lml >= report.optim.trace[0].value * -1.0);
/// let pred = gp.posterior()?.predict(&Inputs::from_1d(&[1.0])?, false)?;
/// assert!((pred.mean[(0, 0)] - 1f64.sin()).abs() < 0.05);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ExactGp<K> {
    kernel: K,
    log_noise: f64,
    x: Inputs,
    y: Mat<f64>,
    options: ExactGpOptions,
    pool: MatPool,
}

impl<K: Kernel> ExactGp<K> {
    /// One output `y` (length `n`) with noise variance `σ_n²`.
    pub fn new(kernel: K, x: Inputs, y: &[f64], noise_variance: f64) -> Result<Self> {
        let ym = Mat::from_fn(y.len(), 1, |i, _| y[i]);
        Self::new_multi(kernel, x, ym.as_ref(), noise_variance)
    }

    /// Several outputs: the columns of `y` (`n × p`).
    pub fn new_multi(
        kernel: K,
        x: Inputs,
        y: MatRef<'_, f64>,
        noise_variance: f64,
    ) -> Result<Self> {
        let log_noise =
            crate::gp::kernels::positive_log("ExactGp", "noise variance", noise_variance)?;
        lml::check_problem("ExactGp", &kernel, &kernel.params(), log_noise, &x, y)?;
        Ok(Self {
            kernel,
            log_noise,
            x,
            y: y.to_owned(),
            options: ExactGpOptions::default(),
            pool: MatPool::default(),
        })
    }

    /// Replaces the numerical options.
    pub fn with_options(mut self, options: ExactGpOptions) -> Self {
        self.options = options;
        self
    }

    /// The kernel (with its current parameters).
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// The noise variance `σ_n²`.
    pub fn noise_variance(&self) -> f64 {
        self.log_noise.exp()
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
        self.kernel.n_params() + 1
    }

    /// `(θ_kernel…, log σ_n²)`.
    pub fn params(&self) -> Vec<f64> {
        let mut p = self.kernel.params();
        p.push(self.log_noise);
        p
    }

    /// Names of [`ExactGp::params`].
    pub fn param_names(&self) -> Vec<String> {
        let mut n = self.kernel.param_names();
        n.push("log_noise_variance".into());
        n
    }

    /// Sets `(θ_kernel…, log σ_n²)`.
    pub fn set_params(&mut self, params: &[f64]) -> Result<()> {
        crate::error::check_len(
            "ExactGp::set_params",
            "params",
            params.len(),
            self.n_params(),
        )?;
        crate::error::check_finite("ExactGp::set_params", "params", params)?;
        let pk = self.kernel.n_params();
        self.kernel.set_params(&params[..pk])?;
        self.log_noise = params[pk];
        Ok(())
    }

    fn factor_at(&self, params: &[f64]) -> Result<ExactFactor> {
        self.factor_keep_at(params, false).map(|(f, _)| f)
    }

    /// [`lml::factor_keep`] at `params`.
    fn factor_keep_at(
        &self,
        params: &[f64],
        keep_k: bool,
    ) -> Result<(ExactFactor, Option<Mat<f64>>)> {
        crate::error::check_len("ExactGp", "params", params.len(), self.n_params())?;
        let pk = self.kernel.n_params();
        lml::factor_keep(
            &self.kernel,
            &params[..pk],
            params[pk],
            &self.x,
            self.y.as_ref(),
            self.options.jitter,
            self.options.par,
            Some(&self.pool),
            keep_k,
        )
    }

    /// `log p(Y | X)` at the current parameters.
    pub fn log_marginal_likelihood(&self) -> Result<f64> {
        let f = self.factor_at(&self.params())?;
        let v = lml::lml_value(&f, self.y.as_ref());
        self.pool.give(f.llt.into_l());
        Ok(v)
    }

    /// `log p(Y | X)` and its gradient at `params` (≈ three Cholesky factorisations of
    /// work: the factorisation, the inverse, and `O(n² (d + #θ))` for the contraction).
    /// The kernel matrix is kept for the contraction (a squared exponential reads its
    /// values instead of recomputing them), so three `n × n` work buffers are live at
    /// once; they are reused across calls.
    pub fn lml_and_grad(&self, params: &[f64]) -> Result<LmlGradient> {
        let (f, kxx) = self.factor_keep_at(params, true)?;
        let value = lml::lml_value(&f, self.y.as_ref());
        let pk = self.kernel.n_params();
        let mut grad = vec![0.0; pk + 1];
        let (dtheta, dnoise) = grad.split_at_mut(pk);
        let jitter = f.jitter;
        lml::lml_pullback_owned(
            &self.kernel,
            &params[..pk],
            params[pk],
            &self.x,
            f,
            kxx,
            1.0,
            self.options.par,
            Some(&self.pool),
            ExactAdjoints {
                dtheta,
                dlog_noise: &mut dnoise[0],
                dx: None,
                dy: None,
            },
        );
        crate::error::check_finite("exact_gp", "gradient", &grad)?;
        Ok(LmlGradient {
            value,
            grad,
            jitter,
        })
    }

    /// Maximises `log p(Y | X)` over the free parameters by L-BFGS from the current ones,
    /// and keeps the result (also when the optimiser stopped without converging: check
    /// `report.optim.converged()`).
    pub fn fit(&mut self, opts: &FitOptions) -> Result<FitReport> {
        let all = self.params();
        let np = all.len();
        if let Some(&i) = opts.fixed.iter().find(|&&i| i >= np) {
            return Err(Error::InvalidArgument {
                op: "ExactGp::fit",
                message: format!("fixed index {i} out of range for {np} parameters"),
            });
        }
        let free: Vec<usize> = (0..np).filter(|i| !opts.fixed.contains(i)).collect();
        let expand = |z: &[f64]| {
            let mut p = all.clone();
            for (k, &i) in free.iter().enumerate() {
                p[i] = z[k];
            }
            p
        };
        let z0: Vec<f64> = free.iter().map(|&i| all[i]).collect();
        let objective = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
            let r = self.lml_and_grad(&expand(z))?;
            Ok((-r.value, free.iter().map(|&i| -r.grad[i]).collect()))
        };
        let optim = lbfgs(objective, &z0, &opts.lbfgs)?;
        let best = expand(&optim.x);
        self.set_params(&best)?;
        let f = self.factor_at(&best)?;
        Ok(FitReport {
            lml: lml::lml_value(&f, self.y.as_ref()),
            jitter: f.jitter,
            optim,
        })
    }

    /// The posterior at the current parameters (one factorisation, reused by every
    /// prediction).
    pub fn posterior(&self) -> Result<ExactPosterior<K>> {
        let f = self.factor_at(&self.params())?;
        Ok(ExactPosterior::new(
            self.kernel.clone(),
            self.x.clone(),
            f,
            self.log_noise.exp(),
            self.options.par,
        ))
    }
}

struct ExactLmlOp<K> {
    kernel: K,
    theta: Vec<f64>,
    log_noise: f64,
    x: Inputs,
    factor: ExactFactor,
    par: Par,
}

impl<K: Kernel> BlockOp for ExactLmlOp<K> {
    fn name(&self) -> &'static str {
        "exact_gp_lml"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let (n, d) = (self.x.n(), self.x.d());
        let p = self.factor.alpha.ncols();
        let pk = self.theta.len();
        let mut dparams = vec![0.0; pk + 1];
        let mut dx = inputs.is_active(1).then(|| vec![0.0; n * d]);
        let mut dy = inputs.is_active(2).then(|| vec![0.0; n * p]);
        {
            let (dtheta, dnoise) = dparams.split_at_mut(pk);
            lml::lml_pullback(
                &self.kernel,
                &self.theta,
                self.log_noise,
                &self.x,
                &self.factor,
                g[0],
                self.par,
                ExactAdjoints {
                    dtheta,
                    dlog_noise: &mut dnoise[0],
                    dx: dx.as_deref_mut(),
                    dy: dy.as_deref_mut(),
                },
            );
        }
        if let Some(mut a) = inputs.arg(0) {
            a.iter_mut().zip(&dparams).for_each(|(a, g)| *a += g);
        }
        if let (Some(dx), Some(mut a)) = (dx, inputs.arg(1)) {
            for i in 0..n {
                for c in 0..d {
                    a[i + c * n] += dx[i * d + c];
                }
            }
        }
        if let (Some(dy), Some(mut a)) = (dy, inputs.arg(2)) {
            a.iter_mut().zip(&dy).for_each(|(a, g)| *a += g);
        }
        Ok(())
    }
}

/// The exact-GP log marginal likelihood as one tape block, differentiable in
/// `params = (θ_kernel…, log σ_n²)`, the inputs `x` (`n × d`) and the outputs `y`
/// (`n × p`). Returns the value and the jitter that was needed.
///
/// ```
/// use mechml_engine::ad::{Tape, VarMat};
/// use mechml_engine::gp::{ExactGpOptions, Kernel, Matern32, exact_lml_var};
/// let k = Matern32::new(0.5, 1.0)?;
/// let tape = Tape::new();
/// let mut p = k.params();
/// p.push((0.1f64).ln());
/// let params = tape.var_vec(&p);
/// let x = VarMat::constant(3, 1, vec![0.0, 0.3, 1.0])?;
/// let y = VarMat::constant(3, 1, vec![0.1, -0.2, 0.4])?;
/// let (lml, jitter) = exact_lml_var(&tape, &k, &params, &x, &y, &ExactGpOptions::default())?;
/// assert_eq!(jitter.jitter_added, 0.0);
/// let g = tape.gradient(&lml)?.wrt_vec(&params);
/// assert_eq!(g.len(), 3);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn exact_lml_var<'t, K: Kernel>(
    tape: &'t Tape,
    kernel: &K,
    params: &VarVec<'t>,
    x: &VarMat<'t>,
    y: &VarMat<'t>,
    options: &ExactGpOptions,
) -> Result<(Var<'t>, JitterInfo)> {
    crate::ad::varmat::check_tape("exact_lml", tape, &[params.tape(), x.tape(), y.tape()])?;
    let pk = kernel.n_params();
    crate::error::check_len("exact_lml", "params", params.len(), pk + 1)?;
    let xi = Inputs::from_col_major(x.nrows(), x.ncols(), x.values())?;
    let ym = y.as_faer();
    let theta = params.values()[..pk].to_vec();
    let log_noise = params.values()[pk];
    let factor = lml::factor(
        kernel,
        &theta,
        log_noise,
        &xi,
        ym,
        options.jitter,
        options.par,
        None,
    )?;
    let value = lml::lml_value(&factor, ym);
    let jitter = factor.jitter;
    let start = tape.push_block(
        ExactLmlOp {
            kernel: kernel.clone(),
            theta,
            log_noise,
            x: xi,
            factor,
            par: options.par,
        },
        &[params.arg(), x.arg(), y.arg()],
        1,
    )?;
    let out = VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value));
    Ok((out, jitter))
}
