//! [`SparseGp`]: regression with the collapsed VFE bound or the FITC likelihood, with
//! gradients in the hyperparameters, the noise and the inducing inputs.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use super::collapsed_bound::{CollapsedFactor, SparseMethod, collapsed_forward};
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, Var, VarMat, VarVec};
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::exact::{DenseMatrix, Prediction};
use crate::gp::kernels::matrix::{check_args, check_matrix_finite};
use crate::gp::kernels::{Kernel, fold_symmetric, kernel_matrix_theta};
use crate::gp::workspace::{self, MatPool};
use crate::optim::{LbfgsOptions, OptimResult, lbfgs};

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
    /// `∂F/∂(θ_kernel…, log σ²)`.
    pub grad: Vec<f64>,
    /// `∂F/∂Z`, point-major (`M d`).
    pub grad_z: Vec<f64>,
}

/// Options of [`SparseGp::fit`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseFitOptions {
    /// Optimiser options (it minimises `−F`).
    pub lbfgs: LbfgsOptions,
    /// Indices into [`SparseGp::params`] held fixed.
    pub fixed: Vec<usize>,
    /// Whether the inducing inputs are optimised too.
    pub optimise_inducing: bool,
}

impl Default for SparseFitOptions {
    fn default() -> Self {
        Self {
            lbfgs: LbfgsOptions {
                grad_tol: 1e-5,
                f_tol: 1e-10,
                max_iters: 500,
                ..Default::default()
            },
            fixed: Vec::new(),
            optimise_inducing: true,
        }
    }
}

/// What [`SparseGp::fit`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseFitReport {
    /// The optimiser's result (trace of `−F`) over the free parameters followed by the
    /// inducing inputs when they were optimised.
    pub optim: OptimResult,
    /// The objective at the fitted parameters.
    pub objective: f64,
}

/// Sparse GP regression with `M` inducing inputs `Z`, trained by the collapsed VFE bound
/// (Titsias 2009) or by FITC (Snelson & Ghahramani 2006); see
/// [`collapsed_bound`](super::collapsed_bound) for the equations.
///
/// Parameters ([`SparseGp::params`]): the kernel's, then `log σ²`; the inducing inputs are
/// separate ([`SparseGp::inducing`]).
///
/// ```
/// use mechml_engine::gp::{Inputs, SparseGp, SparseMethod, SquaredExponential};
/// let xs: Vec<f64> = (0..200).map(|i| i as f64 / 20.0).collect();
/// let y: Vec<f64> = xs.iter().map(|v| v.sin()).collect();
/// let z = Inputs::from_1d(&[0.5, 2.5, 4.5, 6.5, 8.5])?;
/// let mut gp = SparseGp::new(SquaredExponential::new(1.0, 1.0)?, Inputs::from_1d(&xs)?, &y, z, 0.01, SparseMethod::Vfe)?;
/// let before = gp.objective()?;
/// let report = gp.fit(&Default::default())?;
/// assert!(report.objective > before);
/// let p = gp.predict(&Inputs::from_1d(&[3.0])?)?;
/// assert!((p.mean[(0, 0)] - 3f64.sin()).abs() < 0.05);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SparseGp<K> {
    kernel: K,
    log_noise: f64,
    x: Inputs,
    y: Vec<f64>,
    z: Inputs,
    method: SparseMethod,
    options: SparseGpOptions,
    pool: MatPool,
}

/// Builds `K_uu`, `K_uf`, `diag K_ff` and evaluates the collapsed objective.
#[allow(clippy::too_many_arguments)]
fn evaluate<K: Kernel>(
    kernel: &K,
    theta: &[f64],
    log_noise: f64,
    x: &Inputs,
    y: &[f64],
    z: &Inputs,
    method: SparseMethod,
    options: &SparseGpOptions,
    pool: Option<&MatPool>,
) -> Result<(CollapsedFactor, Vec<f64>)> {
    check_args("sparse_gp", kernel, theta, x, Some(z))?;
    crate::error::check_len("sparse_gp", "y", y.len(), x.n())?;
    crate::error::check_finite("sparse_gp", "y", y)?;
    if !options.jitter.is_finite() || options.jitter < 0.0 || !log_noise.is_finite() {
        return Err(Error::InvalidArgument {
            op: "sparse_gp",
            message: format!(
                "jitter must be finite and ≥ 0 (got {}) and log noise finite (got {log_noise})",
                options.jitter
            ),
        });
    }
    let kuu = kernel_matrix_theta(kernel, theta, z, None)?;
    let mut kuf = workspace::take(pool, z.n(), x.n());
    kernel.matrix_into(theta, z, Some(x), kuf.as_mut());
    if let Err(e) = check_matrix_finite("sparse_gp", kuf.as_ref(), false) {
        workspace::give(pool, kuf);
        return Err(e);
    }
    let mut kdiag = vec![0.0; x.n()];
    kernel.diag_into(theta, x, &mut kdiag);
    crate::error::check_finite("sparse_gp", "diag K_ff", &kdiag)?;
    let f = collapsed_forward(
        method,
        kuu.as_ref(),
        kuf,
        &kdiag,
        y,
        log_noise.exp(),
        options.jitter,
        options.par,
        pool,
    )?;
    Ok((f, kdiag))
}

/// Adjoints in `θ`, `log σ²`, `Z` (point-major), `X` (point-major, if wanted) and `y`.
struct Grads {
    theta: Vec<f64>,
    log_noise: f64,
    z: Vec<f64>,
    x: Option<Vec<f64>>,
    y: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
fn pullback<K: Kernel>(
    kernel: &K,
    theta: &[f64],
    log_noise: f64,
    x: &Inputs,
    y: &[f64],
    z: &Inputs,
    f: &CollapsedFactor,
    kdiag: &[f64],
    gbar: f64,
    want_x: bool,
    par: Par,
    pool: Option<&MatPool>,
) -> Grads {
    let noise = log_noise.exp();
    let adj = f.adjoints(y, noise, kdiag, gbar, par, pool);
    let mut g = Grads {
        theta: vec![0.0; theta.len()],
        log_noise: noise * adj.noise,
        z: vec![0.0; z.n() * z.d()],
        x: want_x.then(|| vec![0.0; x.n() * x.d()]),
        y: adj.y,
    };
    let kuu_w = fold_symmetric(adj.kuu.as_ref());
    kernel.matrix_pullback(
        theta,
        z,
        None,
        kuu_w.as_ref(),
        &mut g.theta,
        Some(&mut g.z),
        None,
    );
    kernel.matrix_pullback(
        theta,
        z,
        Some(x),
        adj.kuf.as_ref(),
        &mut g.theta,
        Some(&mut g.z),
        g.x.as_deref_mut(),
    );
    kernel.diag_pullback(theta, x, &adj.kdiag, &mut g.theta, g.x.as_deref_mut());
    workspace::give(pool, adj.kuf);
    g
}

impl<K: Kernel> SparseGp<K> {
    /// A sparse GP on `(x, y)` with inducing inputs `z` and noise variance `σ²`.
    pub fn new(
        kernel: K,
        x: Inputs,
        y: &[f64],
        z: Inputs,
        noise_variance: f64,
        method: SparseMethod,
    ) -> Result<Self> {
        let log_noise =
            crate::gp::kernels::positive_log("SparseGp", "noise variance", noise_variance)?;
        check_args("SparseGp", &kernel, &kernel.params(), &x, Some(&z))?;
        crate::error::check_len("SparseGp", "y", y.len(), x.n())?;
        crate::error::check_finite("SparseGp", "y", y)?;
        if z.n() == 0 {
            return Err(Error::InvalidArgument {
                op: "SparseGp",
                message: "need at least one inducing input".into(),
            });
        }
        Ok(Self {
            kernel,
            log_noise,
            x,
            y: y.to_vec(),
            z,
            method,
            options: SparseGpOptions::default(),
            pool: MatPool::default(),
        })
    }

    /// Replaces the numerical options.
    pub fn with_options(mut self, options: SparseGpOptions) -> Self {
        self.options = options;
        self
    }

    /// The kernel.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// The noise variance.
    pub fn noise_variance(&self) -> f64 {
        self.log_noise.exp()
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

    /// `(θ_kernel…, log σ²)`.
    pub fn params(&self) -> Vec<f64> {
        let mut p = self.kernel.params();
        p.push(self.log_noise);
        p
    }

    /// Sets `(θ_kernel…, log σ²)`.
    pub fn set_params(&mut self, params: &[f64]) -> Result<()> {
        let pk = self.kernel.n_params();
        crate::error::check_len("SparseGp::set_params", "params", params.len(), pk + 1)?;
        crate::error::check_finite("SparseGp::set_params", "params", params)?;
        self.kernel.set_params(&params[..pk])?;
        self.log_noise = params[pk];
        Ok(())
    }

    /// The objective (VFE bound or FITC log-likelihood) at the current parameters.
    pub fn objective(&self) -> Result<f64> {
        let pk = self.kernel.n_params();
        let p = self.params();
        let (f, _) = evaluate(
            &self.kernel,
            &p[..pk],
            p[pk],
            &self.x,
            &self.y,
            &self.z,
            self.method,
            &self.options,
            Some(&self.pool),
        )?;
        let v = f.value;
        self.pool.give(f.u);
        Ok(v)
    }

    /// The objective and its gradients at `params` and inducing inputs `z`.
    pub fn objective_and_grad(&self, params: &[f64], z: &Inputs) -> Result<SparseGradient> {
        let pk = self.kernel.n_params();
        crate::error::check_len("SparseGp", "params", params.len(), pk + 1)?;
        let (theta, ln) = (&params[..pk], params[pk]);
        let (f, kdiag) = evaluate(
            &self.kernel,
            theta,
            ln,
            &self.x,
            &self.y,
            z,
            self.method,
            &self.options,
            Some(&self.pool),
        )?;
        let g = pullback(
            &self.kernel,
            theta,
            ln,
            &self.x,
            &self.y,
            z,
            &f,
            &kdiag,
            1.0,
            false,
            self.options.par,
            Some(&self.pool),
        );
        let value = f.value;
        self.pool.give(f.u);
        let mut grad = g.theta;
        grad.push(g.log_noise);
        crate::error::check_finite("sparse_gp", "gradient", &grad)?;
        crate::error::check_finite("sparse_gp", "inducing-input gradient", &g.z)?;
        Ok(SparseGradient {
            value,
            grad,
            grad_z: g.z,
        })
    }

    /// Maximises the objective by L-BFGS over the free parameters (and the inducing inputs
    /// if `opts.optimise_inducing`), keeping the result.
    pub fn fit(&mut self, opts: &SparseFitOptions) -> Result<SparseFitReport> {
        let all = self.params();
        let np = all.len();
        if let Some(&i) = opts.fixed.iter().find(|&&i| i >= np) {
            return Err(Error::InvalidArgument {
                op: "SparseGp::fit",
                message: format!("fixed index {i} out of range for {np} parameters"),
            });
        }
        let free: Vec<usize> = (0..np).filter(|i| !opts.fixed.contains(i)).collect();
        let nf = free.len();
        let (m, d) = (self.z.n(), self.z.d());
        let unpack = |v: &[f64]| -> Result<(Vec<f64>, Inputs)> {
            let mut p = all.clone();
            for (k, &i) in free.iter().enumerate() {
                p[i] = v[k];
            }
            let z = if opts.optimise_inducing {
                Inputs::new(m, d, v[nf..].to_vec())?
            } else {
                self.z.clone()
            };
            Ok((p, z))
        };
        let mut v0: Vec<f64> = free.iter().map(|&i| all[i]).collect();
        if opts.optimise_inducing {
            v0.extend_from_slice(self.z.as_slice());
        }
        let objective = |v: &[f64]| -> Result<(f64, Vec<f64>)> {
            let (p, z) = unpack(v)?;
            let r = self.objective_and_grad(&p, &z)?;
            let mut g: Vec<f64> = free.iter().map(|&i| -r.grad[i]).collect();
            if opts.optimise_inducing {
                g.extend(r.grad_z.iter().map(|v| -v));
            }
            Ok((-r.value, g))
        };
        let optim = lbfgs(objective, &v0, &opts.lbfgs)?;
        let (p, z) = unpack(&optim.x)?;
        self.set_params(&p)?;
        self.z = z;
        Ok(SparseFitReport {
            objective: -optim.value,
            optim,
        })
    }

    /// Predictive mean and variance of the latent function at `xs`:
    /// `μ = K_*u Σ⁻¹ K_uf D⁻¹ y`, `v = k_** − Q_** + K_*u Σ⁻¹ K_u*` (Titsias 2009, eq. 6;
    /// Quiñonero-Candela & Rasmussen 2005, eq. 24b).
    pub fn predict(&self, xs: &Inputs) -> Result<Prediction> {
        let pk = self.kernel.n_params();
        let p = self.params();
        let (theta, ln) = (&p[..pk], p[pk]);
        let par = self.options.par;
        let (f, _) = evaluate(
            &self.kernel,
            theta,
            ln,
            &self.x,
            &self.y,
            &self.z,
            self.method,
            &self.options,
            None,
        )?;
        let h = f.h(par);
        let m = self.z.n();
        let mut w = kernel_matrix_theta(&self.kernel, theta, &self.z, Some(xs))?;
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
        self.kernel.diag_into(theta, xs, &mut kd);
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
            noise_variance: ln.exp(),
        })
    }
}

struct CollapsedOp<K> {
    kernel: K,
    theta: Vec<f64>,
    log_noise: f64,
    x: Inputs,
    y: Vec<f64>,
    z: Inputs,
    factor: CollapsedFactor,
    kdiag: Vec<f64>,
    par: Par,
}

impl<K: Kernel> BlockOp for CollapsedOp<K> {
    fn name(&self) -> &'static str {
        "sparse_gp_objective"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let want_x = inputs.is_active(2);
        let gr = pullback(
            &self.kernel,
            &self.theta,
            self.log_noise,
            &self.x,
            &self.y,
            &self.z,
            &self.factor,
            &self.kdiag,
            g[0],
            want_x,
            self.par,
            None,
        );
        if let Some(mut a) = inputs.arg(0) {
            let pk = self.theta.len();
            for k in 0..pk {
                a[k] += gr.theta[k];
            }
            a[pk] += gr.log_noise;
        }
        let to_col_major = |n: usize, d: usize, src: &[f64], dst: &mut [f64]| {
            for i in 0..n {
                for c in 0..d {
                    dst[i + c * n] += src[i * d + c];
                }
            }
        };
        if let Some(mut a) = inputs.arg(1) {
            to_col_major(self.z.n(), self.z.d(), &gr.z, &mut a);
        }
        if let (Some(gx), Some(mut a)) = (gr.x.as_ref(), inputs.arg(2)) {
            to_col_major(self.x.n(), self.x.d(), gx, &mut a);
        }
        if let Some(mut a) = inputs.arg(3) {
            a.iter_mut().zip(&gr.y).for_each(|(a, g)| *a += g);
        }
        Ok(())
    }
}

/// The VFE bound or FITC log-likelihood as one tape block, differentiable in
/// `params = (θ_kernel…, log σ²)`, the inducing inputs `z` (`M × d`), the inputs `x`
/// (`N × d`) and the outputs `y`.
#[allow(clippy::too_many_arguments)]
pub fn sparse_objective_var<'t, K: Kernel>(
    tape: &'t Tape,
    kernel: &K,
    method: SparseMethod,
    params: &VarVec<'t>,
    z: &VarMat<'t>,
    x: &VarMat<'t>,
    y: &VarVec<'t>,
    options: &SparseGpOptions,
) -> Result<Var<'t>> {
    crate::ad::varmat::check_tape(
        "sparse_objective",
        tape,
        &[params.tape(), z.tape(), x.tape(), y.tape()],
    )?;
    let pk = kernel.n_params();
    crate::error::check_len("sparse_objective", "params", params.len(), pk + 1)?;
    let xi = Inputs::from_col_major(x.nrows(), x.ncols(), x.values())?;
    let zi = Inputs::from_col_major(z.nrows(), z.ncols(), z.values())?;
    let theta = params.values()[..pk].to_vec();
    let ln = params.values()[pk];
    let (factor, kdiag) = evaluate(
        kernel,
        &theta,
        ln,
        &xi,
        y.values(),
        &zi,
        method,
        options,
        None,
    )?;
    let value = factor.value;
    let start = tape.push_block(
        CollapsedOp {
            kernel: kernel.clone(),
            theta,
            log_noise: ln,
            x: xi,
            y: y.values().to_vec(),
            z: zi,
            factor,
            kdiag,
            par: options.par,
        },
        &[params.arg(), z.arg(), x.arg(), y.arg()],
        1,
    )?;
    Ok(VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value)))
}
