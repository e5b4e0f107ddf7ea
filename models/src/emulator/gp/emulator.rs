//! [`GpEmulator`]: one output of a simulator as a GP with a regression mean, fitted by
//! maximum likelihood or MAP from several starts; predictions with the uncertainty of
//! the GLS coefficients (universal kriging) and their gradients in the inputs.
//!
//! Prediction at `x` (Sacks et al. 1989, eqs. (4)–(5); Rasmussen & Williams 2006, eq. 2.42):
//! with `k_* = k(X, x)`, `h_* = h(x)` and `u = h_* − Hᵀ K_y⁻¹ k_*`,
//!
//! $$ m(x) = h_*ᵀ β̂ + k_*ᵀ α, \qquad
//!    v(x) = k(x, x) − k_*ᵀ K_y⁻¹ k_* + uᵀ A⁻¹ u. $$
//!
//! `v` is the variance of the latent simulator output (add the nugget for a new noisy
//! run). Their input gradients (for calibration by HMC) come from the kernel's pullback:
//! `∂m/∂x = J_hᵀ β̂ + Σ_i α_i ∂k(x, x_i)/∂x` and
//! `∂v/∂x = ∂k(x,x)/∂x − 2 Σ_i (K_y⁻¹ k_* + K_y⁻¹ H A⁻¹ u)_i ∂k(x, x_i)/∂x + 2 J_hᵀ A⁻¹ u`.

use faer::{Mat, Par};
use mechml_engine::ad::Dual;
use mechml_engine::gp::{Inputs, Kernel, KernelAdjoints};
use mechml_engine::linalg::JitterInfo;
use mechml_engine::param::{Param, ParamLayout};
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::kernel::EmuKernel;
use super::likelihood::{Factor, Problem, Workspace, factor, value_and_grad};
use super::mean::MeanFunction;
use super::options::{EmulatorOptions, HyperPrior, Nugget, Objective};
use super::predict::PredictCache;

/// What a fit did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmulatorFit {
    /// Parameter names (`variance`, `lengthscale[i]`, then `nugget` if fitted).
    pub names: Vec<String>,
    /// Fitted values (natural scale).
    pub theta: Vec<f64>,
    /// The objective at the optimum (log likelihood, or log posterior with priors).
    pub objective: f64,
    /// Whether the best start's L-BFGS converged.
    pub converged: bool,
    /// Starts that ran to completion (the rest failed, e.g. a singular covariance).
    pub starts_ok: usize,
    /// Objective evaluations over all starts.
    pub evaluations: usize,
    /// Jitter the final factorisation needed.
    pub jitter: JitterInfo,
}

/// Mean and variance of the latent output at a set of points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmuPrediction {
    /// Posterior means.
    pub mean: Vec<f64>,
    /// Posterior variances (≥ 0).
    pub var: Vec<f64>,
}

/// A GP emulator of one scalar output on the unit cube.
///
/// ```
/// use mechml_engine::gp::Inputs;
/// use mechml_models::emulator::design::{SobolOptions, sobol};
/// use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator};
/// let design = sobol(24, 2, &SobolOptions::scrambled(1))?;
/// let y: Vec<f64> = (0..24).map(|i| { let p = design.point(i); (3.0 * p[0]).sin() + p[1] * p[1] }).collect();
/// let emu = GpEmulator::fit(design.to_inputs()?, &y, &EmulatorOptions::default())?;
/// let p = emu.predict(&Inputs::from_rows(&[[0.3, 0.6]])?)?;
/// assert!((p.mean[0] - ((0.9f64).sin() + 0.36)).abs() < 0.05);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpEmulator {
    pub(super) kernel: EmuKernel,
    pub(super) mean: MeanFunction,
    pub(super) layout: ParamLayout,
    pub(super) nugget: Nugget,
    pub(super) objective: Objective,
    pub(super) x: Inputs,
    pub(super) y: Vec<f64>,
    pub(super) h: Mat<f64>,
    pub(super) factor: Factor,
    pub(super) cache: PredictCache,
    pub(super) fit: Option<EmulatorFit>,
}

/// The parameter layout: the kernel's, then `nugget` when fitted.
fn build_layout(kernel: &EmuKernel, nugget: &Nugget) -> Result<ParamLayout> {
    let mut l = kernel.layout()?;
    if matches!(nugget, Nugget::Fitted) {
        l.push(Param::positive("nugget", 1e-6))?;
    }
    Ok(l)
}

impl GpEmulator {
    /// An emulator at given hyperparameters `theta` (names as [`GpEmulator::param_names`]),
    /// without fitting.
    pub fn with_params(
        x: Inputs,
        y: &[f64],
        opts: &EmulatorOptions,
        theta: &[f64],
    ) -> Result<Self> {
        let kernel = EmuKernel::ard(opts.kernel, x.d())?;
        let mut layout = build_layout(&kernel, &opts.nugget)?;
        check_data(&x, y)?;
        opts.validate(x.n())?;
        if theta.len() != layout.len() {
            return Err(Error::ShapeMismatch {
                op: "GpEmulator::with_params",
                arg: "theta",
                expected: format!("len {} ({:?})", layout.len(), layout.names()),
                found: format!("len {}", theta.len()),
            });
        }
        layout.set_values(theta)?;
        let h = basis(&opts.mean, &x);
        let mut emu = Self {
            kernel,
            mean: opts.mean.clone(),
            layout,
            nugget: opts.nugget.clone(),
            objective: opts.objective,
            x,
            y: y.to_vec(),
            h,
            factor: placeholder(),
            cache: PredictCache::default(),
            fit: None,
        };
        emu.refactor()?;
        Ok(emu)
    }

    /// Fits the hyperparameters by L-BFGS on the log scale from `opts.fit.n_starts`
    /// starts (the first from defaults scaled to the data, the others perturbed by
    /// `start_spread` on the log scale), maximising the objective plus the log hyperpriors.
    ///
    /// # Errors
    /// Bad shapes or non-finite data; every start failing (the first start's error).
    pub fn fit(x: Inputs, y: &[f64], opts: &EmulatorOptions) -> Result<Self> {
        check_data(&x, y)?;
        opts.validate(x.n())?;
        opts.fit.validate()?;
        let kernel = EmuKernel::ard(opts.kernel, x.d())?;
        let mut layout = build_layout(&kernel, &opts.nugget)?;
        // Starting values scaled to the data: output variance, lengthscales 0.5 on the
        // unit cube, nugget 10⁻⁴ of the variance.
        let n = y.len() as f64;
        let ybar = y.iter().sum::<f64>() / n;
        let var = (y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>() / n).max(1e-12);
        let mut init = vec![0.5; layout.len()];
        init[0] = var;
        if matches!(opts.nugget, Nugget::Fitted) {
            let last = init.len() - 1;
            init[last] = 1e-4 * var;
        }
        layout.set_values(&init)?;
        let h = basis(&opts.mean, &x);
        let mut emu = Self {
            kernel,
            mean: opts.mean.clone(),
            layout,
            nugget: opts.nugget.clone(),
            objective: opts.objective,
            x,
            y: y.to_vec(),
            h,
            factor: placeholder(),
            cache: PredictCache::default(),
            fit: None,
        };
        let fit = emu.optimise(opts)?;
        emu.refactor()?;
        emu.fit = Some(EmulatorFit {
            jitter: emu.factor.jitter,
            ..fit
        });
        Ok(emu)
    }

    /// The emulator conditioned on extra runs `(x_new, y_new)` (point-major, unit cube) at
    /// the same hyperparameters, without refitting (for fantasies in batch sequential
    /// design). With known per-run nugget variances, each new run gets their mean.
    pub fn with_runs(&self, x_new: &[f64], y_new: &[f64]) -> Result<Self> {
        let d = self.x.d();
        if x_new.len() != y_new.len() * d {
            return Err(Error::ShapeMismatch {
                op: "GpEmulator::with_runs",
                arg: "x_new",
                expected: format!("{} coordinates ({d} per new run)", y_new.len() * d),
                found: format!("{} coordinates", x_new.len()),
            });
        }
        let mut xs = self.x.as_slice().to_vec();
        xs.extend_from_slice(x_new);
        let x = Inputs::new(self.x.n() + y_new.len(), d, xs)?;
        let mut y = self.y.clone();
        y.extend_from_slice(y_new);
        check_data(&x, &y)?;
        let nugget = match &self.nugget {
            Nugget::Known(v) => {
                let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                let mut v = v.clone();
                v.resize(x.n(), mean);
                Nugget::Known(v)
            }
            other => other.clone(),
        };
        let mut emu = Self {
            kernel: self.kernel.clone(),
            mean: self.mean.clone(),
            layout: self.layout.clone(),
            nugget,
            objective: self.objective,
            h: basis(&self.mean, &x),
            x,
            y,
            factor: placeholder(),
            cache: PredictCache::default(),
            fit: None,
        };
        emu.refactor()?;
        Ok(emu)
    }

    fn problem(&self) -> Problem<'_> {
        Problem {
            kernel: &self.kernel,
            x: &self.x,
            y: &self.y,
            h: self.h.as_ref(),
            known: match &self.nugget {
                Nugget::Known(v) => v,
                _ => &[],
            },
            objective: self.objective,
        }
    }

    fn nugget_fitted(&self) -> bool {
        matches!(self.nugget, Nugget::Fitted)
    }

    fn fixed_nugget(&self) -> f64 {
        match self.nugget {
            Nugget::Fixed(v) => v,
            _ => 0.0,
        }
    }

    /// Log posterior (objective + log hyperpriors) and its natural-scale gradient.
    fn log_post(
        &self,
        theta: &[f64],
        priors: &[(usize, HyperPrior)],
        ws: &mut Workspace,
    ) -> Result<(f64, Vec<f64>)> {
        let (mut v, mut g) = value_and_grad(
            &self.problem(),
            theta,
            self.nugget_fitted(),
            self.fixed_nugget(),
            ws,
        )?;
        for (i, hp) in priors {
            let d = hp.prior.log_pdf(Dual::dual(theta[*i], 1.0));
            v += d.v;
            g[*i] += d.tangent();
        }
        Ok((v, g))
    }

    fn optimise(&mut self, opts: &EmulatorOptions) -> Result<EmulatorFit> {
        let mut priors = Vec::new();
        for hp in &opts.priors {
            for i in self.layout.indices_of(&hp.name)? {
                priors.push((i, hp.clone()));
            }
        }
        let mut layout = self.layout.clone();
        layout.fix_all(&opts.fit.fixed)?;
        let z0 = layout.free_unconstrained()?;
        let mut ws = Workspace::default();
        let mut evals = 0usize;
        let mut neg = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
            evals += 1;
            let theta = layout.natural(z)?;
            let (v, g) = self.log_post(&theta, &priors, &mut ws)?;
            let gz = layout.chain_gradient(z, &g)?;
            Ok((-v, gz.iter().map(|g| -g).collect()))
        };
        let (best, ok) = opts.fit.minimize_multistart(&z0, &mut neg)?;
        let theta = layout.natural(&best.x)?;
        self.layout.set_values(&theta)?;
        Ok(EmulatorFit {
            names: self.param_names(),
            theta,
            objective: -best.value,
            converged: best.converged(),
            starts_ok: ok,
            evaluations: evals,
            jitter: JitterInfo::default(),
        })
    }

    /// Refactorises at the current parameters.
    fn refactor(&mut self) -> Result<()> {
        let theta = self.layout.values();
        let nk = self.kernel.n_params();
        let nug = if self.nugget_fitted() {
            theta[nk]
        } else {
            self.fixed_nugget()
        };
        let mut ws = Workspace::default();
        self.factor = factor(&self.problem(), &theta[..nk], nug, &mut ws, false)?;
        self.cache = PredictCache::new(&self.factor);
        Ok(())
    }

    /// The objective (ML or REML log likelihood, no priors) and its gradient on the
    /// natural scale at `theta` (names as [`GpEmulator::param_names`]).
    pub fn log_likelihood_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        if theta.len() != self.layout.len() {
            return Err(Error::ShapeMismatch {
                op: "GpEmulator::log_likelihood_grad",
                arg: "theta",
                expected: format!("len {}", self.layout.len()),
                found: format!("len {}", theta.len()),
            });
        }
        let mut ws = Workspace::default();
        value_and_grad(
            &self.problem(),
            theta,
            self.nugget_fitted(),
            self.fixed_nugget(),
            &mut ws,
        )
    }

    /// Names of the hyperparameters.
    pub fn param_names(&self) -> Vec<String> {
        self.layout.names().iter().map(|s| s.to_string()).collect()
    }

    /// Hyperparameters (natural scale).
    pub fn params(&self) -> Vec<f64> {
        self.layout.values()
    }

    /// The hyperparameter `name`.
    pub fn param(&self, name: &str) -> Result<f64> {
        self.layout.value(name)
    }

    /// The fit report (none for [`GpEmulator::with_params`]).
    pub fn fit_report(&self) -> Option<&EmulatorFit> {
        self.fit.as_ref()
    }

    /// The kernel's part of the parameters.
    pub fn kernel_params(&self) -> Vec<f64> {
        let mut t = self.layout.values();
        t.truncate(self.kernel.n_params());
        t
    }

    /// The kernel.
    pub fn kernel(&self) -> &EmuKernel {
        &self.kernel
    }

    /// The mean function.
    pub fn mean_function(&self) -> &MeanFunction {
        &self.mean
    }

    /// GLS coefficients `β̂`.
    pub fn beta(&self) -> &[f64] {
        &self.factor.beta
    }

    /// `α = K_y⁻¹ (y − Hβ̂)`.
    pub fn alpha(&self) -> &[f64] {
        &self.factor.alpha
    }

    /// Training inputs (unit cube).
    pub fn inputs(&self) -> &Inputs {
        &self.x
    }

    /// Training outputs.
    pub fn outputs(&self) -> &[f64] {
        &self.y
    }

    /// The nugget variance of each training point (fitted or fixed, plus known parts).
    pub fn nugget_variances(&self) -> Vec<f64> {
        let base = if self.nugget_fitted() {
            self.layout.values()[self.kernel.n_params()]
        } else {
            self.fixed_nugget()
        };
        (0..self.x.n())
            .map(|i| {
                base + if let Nugget::Known(v) = &self.nugget {
                    v[i]
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The objective (log likelihood, ML or REML) at the current parameters, without priors.
    pub fn log_likelihood(&self) -> f64 {
        self.factor.value
    }

    /// The training covariance's inverse `K_y⁻¹` and `Q = K_y⁻¹ − K_y⁻¹H A⁻¹ HᵀK_y⁻¹`
    /// (both `n × n`), for leave-one-out formulas.
    pub(crate) fn q_matrix(&self) -> Mat<f64> {
        let mut q = self.factor.llt.inverse(Par::Seq);
        if let Some(a) = &self.factor.a_llt {
            let mut c = self.factor.kinv_h.transpose().to_owned();
            a.solve_l_in_place(c.as_mut(), Par::Seq);
            let n = q.nrows();
            for j in 0..n {
                for i in 0..n {
                    q[(i, j)] -= (0..c.nrows()).map(|t| c[(t, i)] * c[(t, j)]).sum::<f64>();
                }
            }
        }
        q
    }

    /// `K_y⁻¹` (`n × n`).
    pub fn kinv(&self) -> Mat<f64> {
        self.factor.llt.inverse(Par::Seq)
    }

    /// Number of mean coefficients.
    pub fn n_basis(&self) -> usize {
        self.h.ncols()
    }

    /// Mean, variance and their gradients in `x` (unit cube) at one point.
    pub fn predict_with_gradient(&self, x: &[f64]) -> Result<PointGradient> {
        let (n, d, q) = (self.x.n(), self.x.d(), self.h.ncols());
        crate::emulator::design::check_point("GpEmulator::predict_with_gradient", x, d)?;
        let xin = Inputs::new(1, d, x.to_vec())?;
        let tk = self.kernel_params();
        let mut ks = Mat::<f64>::zeros(n, 1);
        self.kernel
            .matrix_into(&tk, &self.x, Some(&xin), ks.as_mut());
        let ksv: Vec<f64> = (0..n).map(|i| ks[(i, 0)]).collect();
        let mut h = vec![0.0; q];
        self.mean.eval(x, &mut h);
        let mut jh = vec![0.0; q * d];
        self.mean.jacobian(x, &mut jh);
        let mean = ksv
            .iter()
            .zip(&self.factor.alpha)
            .map(|(a, b)| a * b)
            .sum::<f64>()
            + h.iter()
                .zip(&self.factor.beta)
                .map(|(a, b)| a * b)
                .sum::<f64>();
        let kinv_k = self.factor.llt.solve_vec(&ksv, Par::Seq);
        let mut kd = [0.0];
        self.kernel.diag_into(&tk, &xin, &mut kd);
        let mut var = kd[0] - ksv.iter().zip(&kinv_k).map(|(a, b)| a * b).sum::<f64>();
        // u = h − (K⁻¹H)ᵀ k_*, w = A⁻¹ u.
        let mut w = vec![0.0; q];
        if let Some(a) = &self.factor.a_llt {
            let u: Vec<f64> = (0..q)
                .map(|j| {
                    h[j] - (0..n)
                        .map(|t| self.factor.kinv_h[(t, j)] * ksv[t])
                        .sum::<f64>()
                })
                .collect();
            w = a.solve_vec(&u, Par::Seq);
            var += u.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        }
        // Adjoint weights on k_*: mean → α; variance → −2 (K⁻¹k_* + K⁻¹H w).
        let mut dmean = vec![0.0; d];
        let mut dvar = vec![0.0; d];
        let wm = Mat::from_fn(n, 1, |i, _| self.factor.alpha[i]);
        let mut dummy = vec![0.0; tk.len()];
        self.kernel.matrix_pullback(
            &tk,
            &self.x,
            Some(&xin),
            wm.as_ref(),
            KernelAdjoints::new(&mut dummy, None, Some(&mut dmean)),
        );
        let wv = Mat::from_fn(n, 1, |i, _| {
            -2.0 * (kinv_k[i]
                + (0..q)
                    .map(|j| self.factor.kinv_h[(i, j)] * w[j])
                    .sum::<f64>())
        });
        self.kernel.matrix_pullback(
            &tk,
            &self.x,
            Some(&xin),
            wv.as_ref(),
            KernelAdjoints::new(&mut dummy, None, Some(&mut dvar)),
        );
        self.kernel.diag_pullback(
            &tk,
            &xin,
            &[1.0],
            KernelAdjoints::new(&mut dummy, Some(&mut dvar), None),
        );
        for k in 0..d {
            for j in 0..q {
                dmean[k] += jh[j * d + k] * self.factor.beta[j];
                dvar[k] += 2.0 * jh[j * d + k] * w[j];
            }
        }
        Ok(PointGradient {
            mean,
            var: var.max(0.0),
            dmean,
            dvar,
        })
    }

    /// The full posterior covariance of the latent output at `xs` (`m × m`, for
    /// validation on held-out runs).
    pub fn predict_cov(&self, xs: &Inputs) -> Result<(Vec<f64>, Mat<f64>)> {
        let (n, q, m) = (self.x.n(), self.h.ncols(), xs.n());
        let tk = self.kernel_params();
        let mut ks = Mat::<f64>::zeros(n, m);
        self.kernel.matrix_into(&tk, &self.x, Some(xs), ks.as_mut());
        let pred = self.predict(xs)?;
        let mut kss = Mat::<f64>::zeros(m, m);
        self.kernel.matrix_into(&tk, xs, None, kss.as_mut());
        mechml_engine::linalg::fill_upper_from_lower(&mut kss);
        let mut hs = Mat::<f64>::zeros(q, m);
        let mut row = vec![0.0; q];
        for i in 0..m {
            self.mean.eval(xs.point(i), &mut row);
            for j in 0..q {
                hs[(j, i)] = row[j];
            }
        }
        if q > 0 {
            faer::linalg::matmul::matmul(
                hs.as_mut(),
                faer::Accum::Add,
                self.factor.kinv_h.transpose(),
                ks.as_ref(),
                -1.0,
                Par::Seq,
            );
            if let Some(a) = &self.factor.a_llt {
                a.solve_l_in_place(hs.as_mut(), Par::Seq);
            }
        }
        self.factor.llt.solve_l_in_place(ks.as_mut(), Par::Seq);
        faer::linalg::matmul::matmul(
            kss.as_mut(),
            faer::Accum::Add,
            ks.transpose(),
            ks.as_ref(),
            -1.0,
            Par::Seq,
        );
        if q > 0 {
            faer::linalg::matmul::matmul(
                kss.as_mut(),
                faer::Accum::Add,
                hs.transpose(),
                hs.as_ref(),
                1.0,
                Par::Seq,
            );
        }
        Ok((pred.mean, kss))
    }
}

/// Mean and variance at one point with their gradients in the (unit-cube) input.
#[derive(Clone, Debug, PartialEq)]
pub struct PointGradient {
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub var: f64,
    /// `∂m/∂x`.
    pub dmean: Vec<f64>,
    /// `∂v/∂x`.
    pub dvar: Vec<f64>,
}

fn basis(mean: &MeanFunction, x: &Inputs) -> Mat<f64> {
    let (n, d) = (x.n(), x.d());
    let q = mean.n_basis(d);
    let h = mean.design_matrix(x.as_slice(), d);
    Mat::from_fn(n, q, |i, j| h[i + j * n])
}

fn placeholder() -> Factor {
    Factor {
        llt: mechml_engine::linalg::Llt::from_factor(Mat::zeros(0, 0)),
        alpha: Vec::new(),
        beta: Vec::new(),
        kinv_h: Mat::zeros(0, 0),
        a_llt: None,
        jitter: JitterInfo::default(),
        value: f64::NAN,
    }
}

/// Checks the training data: at least two points, one finite output per point.
pub(crate) fn check_data(x: &Inputs, y: &[f64]) -> Result<()> {
    if y.len() != x.n() {
        return Err(Error::ShapeMismatch {
            op: "GpEmulator",
            arg: "y",
            expected: format!("len {} (one output per run)", x.n()),
            found: format!("len {}", y.len()),
        });
    }
    if x.n() < 2 {
        return Err(Error::invalid_option(
            "GpEmulator",
            "runs",
            x.n(),
            "at least 2 runs",
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            op: "GpEmulator",
            index: i,
            value: y[i],
            context: format!("output of run {i}"),
        });
    }
    Ok(())
}
