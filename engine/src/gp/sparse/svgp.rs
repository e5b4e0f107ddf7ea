//! Stochastic variational GPs (Hensman, Fusi & Lawrence 2013, UAI; Hensman, Matthews &
//! Ghahramani 2015, AISTATS) in the whitened parameterisation, with minibatches, any
//! [`Likelihood`] and natural-gradient steps for `q(u)` (Salimbeni, Eleftheriadis &
//! Hensman 2018, AISTATS).
//!
//! With `K_uu + εI = L_z L_zᵀ`, `u = L_z v` and `q(v) = N(m, S Sᵀ)` (`S` lower triangular
//! with unconstrained entries), a batch `b` of `B` of the `N` points gives
//!
//! ```text
//! A = L_z⁻¹ K_ub,  μᵢ = (Aᵀ m)ᵢ,  σᵢ² = k_ii − ‖A_{:,i}‖² + ‖Sᵀ A_{:,i}‖²
//! ELBO_b = (N/B) Σ_{i∈b} E_{N(f|μᵢ,σᵢ²)}[log p(yᵢ | f)] − KL(q(v) ‖ N(0, I))
//! KL = ½ (‖S‖²_F + mᵀm − M − 2 Σ log|Sᵢᵢ|)
//! ```
//!
//! **Adjoints** (derived here; checked by finite differences): with `ēᵢ = (N/B) ∂E/∂μᵢ`,
//! `v̄ᵢ = (N/B) ∂E/∂σᵢ²`,
//!
//! ```text
//! m̄ = A ē − m,   S̄ = tril(2 A diag(v̄) Aᵀ S − S + diag(1/Sᵢᵢ))
//! Ā = m ēᵀ + 2 (S Sᵀ − I) A diag(v̄),   k̄_ii = v̄ᵢ,   K̄_ub = L_z⁻ᵀ Ā
//! L̄_z = −tril(K̄_ub Aᵀ)  →  K̄_uu by the Cholesky pullback (Murray 2016, arXiv:1602.07527)
//! ```
//!
//! **Natural gradients** for `q(v)` with natural parameters `θ₁ = Σ⁻¹m`, `θ₂ = −½Σ⁻¹`
//! (`Σ = S Sᵀ`): a step of size `γ` along the gradient in the expectation parameters is
//!
//! ```text
//! Σ⁻¹ ← (1 − γ) Σ⁻¹ + γ (I − 2 A diag(v̄) Aᵀ)
//! Σ⁻¹m ← (1 − γ) Σ⁻¹ m + γ (A ē − 2 A diag(v̄) Aᵀ m)
//! ```
//!
//! For a Gaussian likelihood on the full data, `γ = 1` lands on the optimal
//! `q(v) = N(Σ A y/σ², Σ)`, `Σ = (I + A Aᵀ/σ²)⁻¹`, where the ELBO equals Titsias's bound.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::{Accum, Mat, MatRef, Par};
use rand::RngExt;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, Var, VarVec};
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::exact::{DenseMatrix, Prediction};
use crate::gp::kernels::matrix::{check_args, check_matrix_finite};
use crate::gp::kernels::{Kernel, fold_symmetric, kernel_matrix_theta};
use crate::gp::likelihoods::{Likelihood, MAX_LIKELIHOOD_PARAMS};
use crate::gp::quadrature::GaussHermite;
use crate::gp::workspace::MatPool;
use crate::linalg::Llt;
use crate::optim::{Adam, AdamOptions, OptimResult, Termination, TraceEntry};

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

/// The ELBO on a batch and its gradients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElboGradient {
    /// `ELBO_b`.
    pub value: f64,
    /// `∂/∂θ_kernel`.
    pub kernel: Vec<f64>,
    /// `∂/∂φ_likelihood`.
    pub likelihood: Vec<f64>,
    /// `∂/∂Z`, point-major.
    pub z: Vec<f64>,
    /// `∂/∂m`.
    pub q_mu: Vec<f64>,
    /// `∂/∂S` (lower triangle, column-major `M × M`; zeros above the diagonal).
    pub q_sqrt: Vec<f64>,
}

/// Options of [`Svgp::train`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvgpTrainOptions {
    /// Number of steps.
    pub iterations: usize,
    /// Minibatch size `B` (indices drawn uniformly with replacement).
    pub batch_size: usize,
    /// Adam for the hyperparameters, inducing inputs and (without natural gradients) `q`.
    pub adam: AdamOptions,
    /// Natural-gradient step size `γ ∈ (0, 1]` for `q(v)`; `None` trains `q` with Adam.
    pub natural_gradient: Option<f64>,
    /// Whether the kernel and likelihood parameters are trained.
    pub train_hyperparameters: bool,
    /// Whether the inducing inputs are trained.
    pub train_inducing: bool,
    /// Seed of the minibatch sampler.
    pub seed: u64,
    /// Record a trace row every `trace_every` steps.
    pub trace_every: usize,
}

impl Default for SvgpTrainOptions {
    fn default() -> Self {
        Self {
            iterations: 1000,
            batch_size: 256,
            adam: AdamOptions {
                record_params: false,
                ..Default::default()
            },
            natural_gradient: Some(0.1),
            train_hyperparameters: true,
            train_inducing: true,
            seed: 0,
            trace_every: 10,
        }
    }
}

/// A stochastic variational GP (see the module docs).
///
/// ```
/// use mechml_engine::gp::{Gaussian, Inputs, SquaredExponential, Svgp, SvgpTrainOptions};
/// let xs: Vec<f64> = (0..400).map(|i| i as f64 / 40.0).collect();
/// let y: Vec<f64> = xs.iter().map(|v| v.sin()).collect();
/// let x = Inputs::from_1d(&xs)?;
/// let z = Inputs::from_1d(&[0.5, 2.0, 3.5, 5.0, 6.5, 8.0, 9.5])?;
/// let mut gp = Svgp::new(SquaredExponential::new(1.0, 1.0)?, Gaussian::new(0.01)?, z, x.n())?;
/// let opts = SvgpTrainOptions { iterations: 300, batch_size: 64, ..Default::default() };
/// let trace = gp.train(&x, &y, &opts)?;
/// assert!(trace.trace.last().unwrap().value < trace.trace[0].value);
/// let p = gp.predict_f(&Inputs::from_1d(&[3.0])?)?;
/// assert!((p.mean[(0, 0)] - 3f64.sin()).abs() < 0.1);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Svgp<K, L> {
    kernel: K,
    likelihood: L,
    z: Inputs,
    q_mu: Vec<f64>,
    q_sqrt: Mat<f64>,
    n_data: usize,
    quad: GaussHermite,
    options: SvgpOptions,
    pool: MatPool,
}

/// `Φ(X)`: lower triangle with the diagonal halved.
fn phi_lower(x: &mut Mat<f64>) {
    let n = x.nrows();
    for j in 0..n {
        for i in 0..j {
            x[(i, j)] = 0.0;
        }
        x[(j, j)] *= 0.5;
    }
}

/// `Ā` from `L̄` for `A = L Lᵀ` (Murray 2016, §3.1): `S = L⁻ᵀ Φ(Lᵀ tril(L̄)) L⁻¹`,
/// `Ā = (S + Sᵀ)/2`.
fn cholesky_pullback(l: &Llt, lbar: &Mat<f64>, par: Par) -> Mat<f64> {
    let m = l.dim();
    let mut lb = lbar.clone();
    for j in 0..m {
        for i in 0..j {
            lb[(i, j)] = 0.0;
        }
    }
    let mut p = Mat::<f64>::zeros(m, m);
    matmul(
        p.as_mut(),
        Accum::Replace,
        l.l().transpose(),
        lb.as_ref(),
        1.0,
        par,
    );
    phi_lower(&mut p);
    l.solve_lt_in_place(p.as_mut(), par);
    let mut st = p.transpose().to_owned();
    l.solve_lt_in_place(st.as_mut(), par);
    Mat::from_fn(m, m, |i, j| 0.5 * (st[(i, j)] + st[(j, i)]))
}

/// The per-batch quantities shared by the ELBO, its gradient and the natural gradient.
struct BatchState {
    lz: Llt,
    /// `A = L_z⁻¹ K_ub`.
    a: Mat<f64>,
    /// `Sᵀ A`.
    sta: Mat<f64>,
    mu: Vec<f64>,
    var: Vec<f64>,
}

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// An SVGP with inducing inputs `z` for a data set of `n_data` points, starting from
    /// `q(v) = N(0, I)` (the prior).
    pub fn new(kernel: K, likelihood: L, z: Inputs, n_data: usize) -> Result<Self> {
        check_args("Svgp", &kernel, &kernel.params(), &z, None)?;
        if z.n() == 0 || n_data == 0 {
            return Err(Error::InvalidArgument {
                op: "Svgp",
                message: format!(
                    "need inducing inputs and data (got M = {}, N = {n_data})",
                    z.n()
                ),
            });
        }
        if likelihood.n_params() > MAX_LIKELIHOOD_PARAMS {
            return Err(Error::InvalidArgument {
                op: "Svgp",
                message: format!(
                    "likelihoods with more than {MAX_LIKELIHOOD_PARAMS} parameters are not supported"
                ),
            });
        }
        let m = z.n();
        let options = SvgpOptions::default();
        Ok(Self {
            kernel,
            likelihood,
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

    /// The kernel.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }
    /// The likelihood.
    pub fn likelihood(&self) -> &L {
        &self.likelihood
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

    /// Number of packed parameters (see [`Svgp::pack`]).
    pub fn n_packed(&self) -> usize {
        let m = self.z.n();
        self.kernel.n_params() + self.likelihood.n_params() + m * self.z.d() + m + m * (m + 1) / 2
    }

    /// All parameters as one vector: kernel, likelihood, `Z` (point-major), `m`, and the
    /// lower triangle of `S` column by column.
    pub fn pack(&self) -> Vec<f64> {
        let m = self.z.n();
        let mut v = self.kernel.params();
        v.extend(self.likelihood.params());
        v.extend_from_slice(self.z.as_slice());
        v.extend_from_slice(&self.q_mu);
        for j in 0..m {
            for i in j..m {
                v.push(self.q_sqrt[(i, j)]);
            }
        }
        v
    }

    /// Inverse of [`Svgp::pack`].
    pub fn unpack(&mut self, v: &[f64]) -> Result<()> {
        crate::error::check_len("Svgp::unpack", "v", v.len(), self.n_packed())?;
        crate::error::check_finite("Svgp::unpack", "v", v)?;
        let (m, d) = (self.z.n(), self.z.d());
        let (pk, pl) = (self.kernel.n_params(), self.likelihood.n_params());
        self.kernel.set_params(&v[..pk])?;
        self.likelihood.set_params(&v[pk..pk + pl])?;
        let mut o = pk + pl;
        self.z = Inputs::new(m, d, v[o..o + m * d].to_vec())?;
        o += m * d;
        self.q_mu.copy_from_slice(&v[o..o + m]);
        o += m;
        for j in 0..m {
            for i in j..m {
                self.q_sqrt[(i, j)] = v[o];
                o += 1;
            }
        }
        Ok(())
    }

    /// Packs an [`ElboGradient`] like [`Svgp::pack`].
    pub fn pack_gradient(&self, g: &ElboGradient) -> Vec<f64> {
        let m = self.z.n();
        let mut v = g.kernel.clone();
        v.extend(&g.likelihood);
        v.extend(&g.z);
        v.extend(&g.q_mu);
        for j in 0..m {
            for i in j..m {
                v.push(g.q_sqrt[i + j * m]);
            }
        }
        v
    }

    fn check_batch(&self, x: &Inputs, y: &[f64]) -> Result<()> {
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

    fn batch_state(&self, theta: &[f64], x: &Inputs) -> Result<BatchState> {
        let par = self.options.par;
        let (m, b) = (self.z.n(), x.n());
        let mut kuu = kernel_matrix_theta(&self.kernel, theta, &self.z, None)?;
        for i in 0..m {
            kuu[(i, i)] += self.options.jitter;
        }
        let lz = Llt::factor_named("svgp: K(Z, Z) + jitter", kuu.as_ref(), par)?;
        let mut a = self.pool.take(m, b);
        self.kernel.matrix_into(theta, &self.z, Some(x), a.as_mut());
        if let Err(e) = check_matrix_finite("svgp", a.as_ref(), false) {
            self.pool.give(a);
            return Err(e);
        }
        lz.solve_l_in_place(a.as_mut(), par);
        let mut kdiag = vec![0.0; b];
        self.kernel.diag_into(theta, x, &mut kdiag);
        let mut mu = Mat::<f64>::zeros(b, 1);
        matmul(
            mu.as_mut(),
            Accum::Replace,
            a.transpose(),
            MatRef::from_column_major_slice(&self.q_mu, m, 1),
            1.0,
            par,
        );
        // Sᵀ A with S lower triangular (half the flops of a full product).
        let mut sta = self.pool.take(m, b);
        tri_matmul(
            sta.as_mut(),
            BlockStructure::Rectangular,
            Accum::Replace,
            self.q_sqrt.transpose(),
            BlockStructure::TriangularUpper,
            a.as_ref(),
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        let var = (0..b)
            .map(|i| kdiag[i] - a.col(i).squared_norm_l2() + sta.col(i).squared_norm_l2())
            .collect();
        Ok(BatchState {
            lz,
            a,
            sta,
            mu: (0..b).map(|i| mu[(i, 0)]).collect(),
            var,
        })
    }

    fn release(&self, st: BatchState) {
        self.pool.give(st.a);
        self.pool.give(st.sta);
    }

    fn kl(&self) -> f64 {
        let m = self.z.n();
        let mut fro = 0.0;
        let mut logdet = 0.0;
        for j in 0..m {
            for i in j..m {
                fro += self.q_sqrt[(i, j)].powi(2);
            }
            logdet += self.q_sqrt[(j, j)].abs().ln();
        }
        let mm: f64 = self.q_mu.iter().map(|v| v * v).sum();
        0.5 * (fro + mm - m as f64 - 2.0 * logdet)
    }

    /// Expected log-likelihood terms: `(Σ E, ē, v̄)` scaled by `scale`, adding into `dphi`.
    fn expectations(
        &self,
        y: &[f64],
        st: &BatchState,
        scale: f64,
        dphi: &mut [f64],
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let phi = self.likelihood.params();
        let b = y.len();
        let (mut e, mut eb, mut vb) = (0.0, vec![0.0; b], vec![0.0; b]);
        for i in 0..b {
            let (v, dm, dv) = self
                .likelihood
                .variational_expectation(&phi, y[i], st.mu[i], st.var[i], &self.quad, scale, dphi);
            e += v;
            eb[i] = scale * dm;
            vb[i] = scale * dv;
        }
        (scale * e, eb, vb)
    }

    /// The ELBO on the batch `(x, y)`, scaled by `N/B` (the whole data when `B = N`).
    pub fn elbo(&self, x: &Inputs, y: &[f64]) -> Result<f64> {
        self.check_batch(x, y)?;
        let st = self.batch_state(&self.kernel.params(), x)?;
        let mut dphi = vec![0.0; self.likelihood.n_params()];
        let (e, _, _) = self.expectations(y, &st, self.n_data as f64 / x.n() as f64, &mut dphi);
        self.release(st);
        let v = e - self.kl();
        finite_value(v)
    }

    /// The full-data ELBO, accumulated over chunks of `chunk` points (memory `O(M chunk)`).
    pub fn elbo_full(&self, x: &Inputs, y: &[f64], chunk: usize) -> Result<f64> {
        self.check_batch(x, y)?;
        if x.n() != self.n_data {
            return Err(Error::InvalidArgument {
                op: "Svgp::elbo_full",
                message: format!(
                    "the model was built for N = {} points, got {}",
                    self.n_data,
                    x.n()
                ),
            });
        }
        let theta = self.kernel.params();
        let mut e = 0.0;
        let mut dphi = vec![0.0; self.likelihood.n_params()];
        let chunk = chunk.max(1);
        for start in (0..x.n()).step_by(chunk) {
            let idx: Vec<usize> = (start..(start + chunk).min(x.n())).collect();
            let xb = x.select(&idx)?;
            let st = self.batch_state(&theta, &xb)?;
            e += self
                .expectations(&y[start..start + idx.len()], &st, 1.0, &mut dphi)
                .0;
        }
        finite_value(e - self.kl())
    }

    /// The ELBO on a batch and its gradient in every parameter.
    pub fn elbo_and_grad(&self, x: &Inputs, y: &[f64]) -> Result<ElboGradient> {
        self.check_batch(x, y)?;
        let par = self.options.par;
        let theta = self.kernel.params();
        let st = self.batch_state(&theta, x)?;
        let (m, b) = (self.z.n(), x.n());
        let mut dphi = vec![0.0; self.likelihood.n_params()];
        let (e, eb, vb) = self.expectations(y, &st, self.n_data as f64 / b as f64, &mut dphi);
        let value = finite_value(e - self.kl())?;
        let a = &st.a;
        // A diag(v̄).
        let mut adv = self.pool.take(m, b);
        for i in 0..b {
            let src = a.col(i);
            let dst = adv.col_mut(i);
            for (d, s) in dst.iter_mut().zip(src.iter()) {
                *d = vb[i] * s;
            }
        }
        // m̄ = A ē − m.
        let mut mbar = Mat::<f64>::zeros(m, 1);
        matmul(
            mbar.as_mut(),
            Accum::Replace,
            a.as_ref(),
            MatRef::from_column_major_slice(&eb, b, 1),
            1.0,
            par,
        );
        let q_mu: Vec<f64> = (0..m).map(|i| mbar[(i, 0)] - self.q_mu[i]).collect();
        // S̄ = tril(2 A diag(v̄) Aᵀ S) − S + diag(1/Sᵢᵢ), with Aᵀ S = (Sᵀ A)ᵀ.
        let mut sbar = Mat::<f64>::zeros(m, m);
        tri_matmul(
            sbar.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            adv.as_ref(),
            BlockStructure::Rectangular,
            st.sta.transpose(),
            BlockStructure::Rectangular,
            2.0,
            par,
        );
        let mut q_sqrt = vec![0.0; m * m];
        for j in 0..m {
            for i in j..m {
                let mut v = sbar[(i, j)] - self.q_sqrt[(i, j)];
                if i == j {
                    v += 1.0 / self.q_sqrt[(i, i)];
                }
                q_sqrt[i + j * m] = v;
            }
        }
        // Ā = 2 (S Sᵀ A − A) diag(v̄) + m ēᵀ, with S Sᵀ A = S (Sᵀ A).
        let mut abar = adv;
        tri_matmul(
            abar.as_mut(),
            BlockStructure::Rectangular,
            Accum::Replace,
            self.q_sqrt.as_ref(),
            BlockStructure::TriangularLower,
            st.sta.as_ref(),
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        for i in 0..b {
            let ac = a.col(i);
            let dst = abar.col_mut(i);
            for ((d, av), &mr) in dst.iter_mut().zip(ac.iter()).zip(&self.q_mu) {
                *d = 2.0 * vb[i] * (*d - av) + mr * eb[i];
            }
        }
        // K̄_ub = L_z⁻ᵀ Ā; L̄_z = −tril(K̄_ub Aᵀ); K̄_uu by the Cholesky pullback.
        let mut kub_bar = abar;
        st.lz.solve_lt_in_place(kub_bar.as_mut(), par);
        let mut lz_bar = Mat::<f64>::zeros(m, m);
        tri_matmul(
            lz_bar.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            kub_bar.as_ref(),
            BlockStructure::Rectangular,
            a.transpose(),
            BlockStructure::Rectangular,
            -1.0,
            par,
        );
        let kuu_bar = cholesky_pullback(&st.lz, &lz_bar, par);
        // Kernel pullbacks.
        let mut dtheta = vec![0.0; theta.len()];
        let mut dz = vec![0.0; m * self.z.d()];
        let w = fold_symmetric(kuu_bar.as_ref());
        self.kernel.matrix_pullback(
            &theta,
            &self.z,
            None,
            w.as_ref(),
            &mut dtheta,
            Some(&mut dz),
            None,
        );
        self.kernel.matrix_pullback(
            &theta,
            &self.z,
            Some(x),
            kub_bar.as_ref(),
            &mut dtheta,
            Some(&mut dz),
            None,
        );
        self.kernel.diag_pullback(&theta, x, &vb, &mut dtheta, None);
        self.pool.give(kub_bar);
        self.release(st);
        let g = ElboGradient {
            value,
            kernel: dtheta,
            likelihood: dphi,
            z: dz,
            q_mu,
            q_sqrt,
        };
        for part in [&g.kernel, &g.likelihood, &g.z, &g.q_mu, &g.q_sqrt] {
            crate::error::check_finite("svgp", "ELBO gradient", part)?;
        }
        Ok(g)
    }

    /// One natural-gradient step of size `γ ∈ (0, 1]` for `q(v)` on the batch (see the
    /// module docs).
    ///
    /// # Errors
    /// [`Error::NotPositiveDefinite`] if the new precision is not positive definite (possible
    /// for likelihoods that are not log-concave, e.g. Student-t): reduce `γ`.
    pub fn natural_gradient_step(&mut self, x: &Inputs, y: &[f64], gamma: f64) -> Result<()> {
        self.check_batch(x, y)?;
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(Error::InvalidArgument {
                op: "Svgp::natural_gradient_step",
                message: format!("step size must lie in (0, 1], got {gamma}"),
            });
        }
        let par = self.options.par;
        let st = self.batch_state(&self.kernel.params(), x)?;
        let (m, b) = (self.z.n(), x.n());
        let mut dphi = vec![0.0; self.likelihood.n_params()];
        let (_, eb, vb) = self.expectations(y, &st, self.n_data as f64 / b as f64, &mut dphi);
        // Σ⁻¹ = S⁻ᵀ S⁻¹ from the current S.
        let s_llt = Llt::from_factor(self.q_sqrt.clone());
        for i in 0..m {
            if self.q_sqrt[(i, i)] == 0.0 {
                return Err(Error::Singular {
                    op: "Svgp::natural_gradient_step (q_sqrt)",
                    index: i,
                });
            }
        }
        let prec = s_llt.inverse(par);
        // The likelihood's precision term −2 A diag(v̄) Aᵀ.
        let mut adv = st.a.clone();
        for i in 0..b {
            adv.col_mut(i).iter_mut().for_each(|v| *v *= vb[i]);
        }
        let mut lik_prec = Mat::<f64>::zeros(m, m);
        matmul(
            lik_prec.as_mut(),
            Accum::Replace,
            adv.as_ref(),
            st.a.transpose(),
            -2.0,
            par,
        );
        let mut new_prec = Mat::<f64>::from_fn(m, m, |i, j| {
            (1.0 - gamma) * prec[(i, j)]
                + gamma * (lik_prec[(i, j)] + if i == j { 1.0 } else { 0.0 })
        });
        new_prec = crate::linalg::symmetrize(new_prec.as_ref());
        // θ₁ = (1 − γ) Σ⁻¹ m + γ (A ē − 2 A diag(v̄) Aᵀ m).
        let mv = MatRef::from_column_major_slice(&self.q_mu, m, 1);
        let mut t1 = Mat::<f64>::zeros(m, 1);
        matmul(
            t1.as_mut(),
            Accum::Replace,
            prec.as_ref(),
            mv,
            1.0 - gamma,
            par,
        );
        matmul(
            t1.as_mut(),
            Accum::Add,
            st.a.as_ref(),
            MatRef::from_column_major_slice(&eb, b, 1),
            gamma,
            par,
        );
        matmul(t1.as_mut(), Accum::Add, lik_prec.as_ref(), mv, gamma, par);
        let lp = Llt::factor_named(
            "svgp natural gradient: new precision (reduce the step size)",
            new_prec.as_ref(),
            par,
        )?;
        let cov = lp.inverse(par);
        lp.solve_in_place(t1.as_mut(), par);
        self.release(st);
        let s_new = Llt::factor_named("svgp natural gradient: new covariance", cov.as_ref(), par)?;
        self.q_mu = (0..m).map(|i| t1[(i, 0)]).collect();
        self.q_sqrt = s_new.into_l();
        Ok(())
    }

    /// Trains on `(x, y)` by minibatches (see [`SvgpTrainOptions`]). The trace records
    /// `−ELBO_b` of the batch used at each recorded step and the gradient norm over the
    /// parameters Adam trains.
    pub fn train(&mut self, x: &Inputs, y: &[f64], opts: &SvgpTrainOptions) -> Result<OptimResult> {
        self.check_batch(x, y)?;
        if opts.batch_size == 0 || opts.trace_every == 0 {
            return Err(Error::InvalidArgument {
                op: "Svgp::train",
                message: "batch_size and trace_every must be at least 1".into(),
            });
        }
        if x.n() != self.n_data {
            return Err(Error::InvalidArgument {
                op: "Svgp::train",
                message: format!(
                    "the model was built for N = {} points, got {}",
                    self.n_data,
                    x.n()
                ),
            });
        }
        let (pk, pl) = (self.kernel.n_params(), self.likelihood.n_params());
        let (m, d) = (self.z.n(), self.z.d());
        let n_hyper = pk + pl;
        let n_z = m * d;
        // Mask of the packed parameters Adam updates.
        let total = self.n_packed();
        let mut mask = vec![false; total];
        if opts.train_hyperparameters {
            mask[..n_hyper].iter_mut().for_each(|v| *v = true);
        }
        if opts.train_inducing {
            mask[n_hyper..n_hyper + n_z]
                .iter_mut()
                .for_each(|v| *v = true);
        }
        if opts.natural_gradient.is_none() {
            mask[n_hyper + n_z..].iter_mut().for_each(|v| *v = true);
        }
        let idx_free: Vec<usize> = (0..total).filter(|&i| mask[i]).collect();
        let mut adam = Adam::new(idx_free.len(), &opts.adam)?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
        let b = opts.batch_size;
        let mut trace: Vec<TraceEntry> = Vec::new();
        let mut last = None;
        for it in 0..opts.iterations {
            let idx: Vec<usize> = (0..b).map(|_| rng.random_range(0..x.n())).collect();
            let xb = x.select(&idx)?;
            let yb: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            if let Some(gamma) = opts.natural_gradient {
                self.natural_gradient_step(&xb, &yb, gamma)?;
            }
            let g = self.elbo_and_grad(&xb, &yb)?;
            let gp = self.pack_gradient(&g);
            let mut v = self.pack();
            let mut free: Vec<f64> = idx_free.iter().map(|&i| v[i]).collect();
            let gfree: Vec<f64> = idx_free.iter().map(|&i| -gp[i]).collect();
            let lr = adam.step(&mut free, &gfree)?;
            for (k, &i) in idx_free.iter().enumerate() {
                v[i] = free[k];
            }
            self.unpack(&v)?;
            let gnorm = gfree.iter().map(|v| v * v).sum::<f64>().sqrt();
            if it % opts.trace_every == 0 || it + 1 == opts.iterations {
                trace.push(TraceEntry {
                    iteration: it,
                    evaluations: it + 1,
                    value: -g.value,
                    grad_norm: gnorm,
                    step: lr,
                    params: if opts.adam.record_params {
                        v.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
            last = Some((g, gfree));
        }
        let (value, gradient) = match last {
            Some((g, gf)) => (-g.value, gf),
            None => (f64::NAN, Vec::new()),
        };
        Ok(OptimResult {
            x: self.pack(),
            value,
            gradient,
            termination: Termination::MaxIterations,
            iterations: opts.iterations,
            evaluations: opts.iterations,
            trace,
        })
    }

    /// Mean and variance of the latent function at `xs`:
    /// `μ = K_*u L_z⁻ᵀ m`, `v = k_** − ‖L_z⁻¹ K_u*‖² + ‖Sᵀ L_z⁻¹ K_u*‖²`.
    /// (`noise_variance` is NaN: the observation model is the likelihood's; use
    /// [`Svgp::predict_y`] for observations.)
    pub fn predict_f(&self, xs: &Inputs) -> Result<Prediction> {
        let st = self.batch_state(&self.kernel.params(), xs)?;
        let noise = f64::NAN;
        let var = st.var.iter().map(|v| v.max(0.0)).collect();
        let mean = st.mu.clone();
        self.release(st);
        Ok(Prediction {
            mean: DenseMatrix {
                rows: xs.n(),
                cols: 1,
                values: mean,
            },
            var,
            cov: None,
            noise_variance: noise,
        })
    }

    /// Predictive mean and variance of observations at `xs` (through the likelihood).
    pub fn predict_y(&self, xs: &Inputs) -> Result<(Vec<f64>, Vec<f64>)> {
        let st = self.batch_state(&self.kernel.params(), xs)?;
        let phi = self.likelihood.params();
        Ok((0..xs.n())
            .map(|i| {
                self.likelihood
                    .predict_mean_var(&phi, st.mu[i], st.var[i].max(0.0), &self.quad)
            })
            .unzip())
    }
}

fn finite_value(v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::NonFinite {
            op: "svgp",
            index: 0,
            value: v,
            context: "ELBO (is q_sqrt singular, or the likelihood infinite at the data?)".into(),
        })
    }
}

struct ElboOp<K, L> {
    model: Svgp<K, L>,
    x: Inputs,
    y: Vec<f64>,
}

impl<K: Kernel, L: Likelihood> BlockOp for ElboOp<K, L> {
    fn name(&self) -> &'static str {
        "svgp_elbo"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut a) = inputs.arg(0) {
            let gr = self.model.elbo_and_grad(&self.x, &self.y)?;
            let packed = self.model.pack_gradient(&gr);
            a.iter_mut().zip(&packed).for_each(|(a, p)| *a += g[0] * p);
        }
        Ok(())
    }
}

/// The ELBO of `model` with its parameters replaced by `params` (packed as by
/// [`Svgp::pack`]) on the batch `(x, y)`, as one tape block; the pullback is the analytic
/// gradient of [`Svgp::elbo_and_grad`].
///
/// ```
/// use mechml_engine::ad::Tape;
/// use mechml_engine::gp::{Gaussian, Inputs, SquaredExponential, Svgp, svgp_elbo_var};
/// let x = Inputs::from_1d(&[0.0, 0.5, 1.0, 1.5])?;
/// let y = [0.0, 0.4, 0.8, 1.0];
/// let gp = Svgp::new(SquaredExponential::new(1.0, 1.0)?, Gaussian::new(0.1)?, Inputs::from_1d(&[0.2, 1.2])?, 4)?;
/// let tape = Tape::new();
/// let p = tape.var_vec(&gp.pack());
/// let elbo = svgp_elbo_var(&tape, &gp, &p, &x, &y)?;
/// assert!((elbo.val() - gp.elbo(&x, &y)?).abs() < 1e-12);
/// let g = tape.gradient(&elbo)?.wrt_vec(&p);
/// assert_eq!(g.len(), gp.n_packed());
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn svgp_elbo_var<'t, K: Kernel, L: Likelihood>(
    tape: &'t Tape,
    model: &Svgp<K, L>,
    params: &VarVec<'t>,
    x: &Inputs,
    y: &[f64],
) -> Result<Var<'t>> {
    crate::ad::varmat::check_tape("svgp_elbo", tape, &[params.tape()])?;
    let mut m = model.clone();
    m.unpack(params.values())?;
    let value = m.elbo(x, y)?;
    let start = tape.push_block(
        ElboOp {
            model: m,
            x: x.clone(),
            y: y.to_vec(),
        },
        &[params.arg()],
        1,
    )?;
    Ok(VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value)))
}
