//! [`CoregionalGp`]: several outputs of a simulator as one GP with a linear model of
//! coregionalisation (LMC; ICM when there is one latent kernel), Bonilla, Chai & Williams
//! 2008 (NIPS 20), Álvarez, Rosasco & Lawrence 2012 (FTML 4(3), §4.2):
//!
//! $$ \operatorname{cov}(f_a(x), f_b(x')) = \sum_{q=1}^{Q} B_q[a, b]\, k_q(x, x'), \qquad
//!    B_q = W_q W_qᵀ + \operatorname{diag}(κ_q), $$
//!
//! with unit-variance ARD kernels `k_q` (`W_q` is `p × R`, `κ_q > 0`), a noise variance
//! per output, and each output centred at the mean of its observed values. Outputs may be
//! missing at some runs (`NaN`): the likelihood is over the observed entries, stacked
//! output by output, `ℓ = −½ yᵀK⁻¹y − ½ log|K| − (N/2) log 2π`, and its gradient is
//! `tr(K̄ ∂K/∂θ)` with `K̄ = ½(ααᵀ − K⁻¹)`, contracted per latent kernel as
//! `B̄_q[a,b] = Σ K̄[(i,a),(j,b)] k_q(x_i,x_j)` (so `W̄_q = (B̄_q + B̄_qᵀ) W_q`,
//! `κ̄_q = diag B̄_q`) and `K̄_q[i,j] = Σ K̄[(i,a),(j,b)] B_q[a,b]` (through the kernel's
//! pullback for the lengthscales). When every output is observed at every run and
//! `Q = 1`, [`CoregionalGp::kronecker_log_likelihood_grad`] evaluates the same likelihood
//! and its gradient from the eigendecompositions of `K_x` and `Σ^{-½} B Σ^{-½}` (Stegle et
//! al. 2011, NIPS 24, §2; Bonilla et al. 2008, §3.1) in `O(n³ + p³ + n²p)` instead of
//! `O(n³p³)`, and the fit uses it; predictions factor the stacked covariance.

use faer::{Mat, Par};
use mechml_engine::error::check_len;
use mechml_engine::gp::{Inputs, Kernel, KernelAdjoints};
use mechml_engine::linalg::{JitterPolicy, Llt, cholesky_with_jitter, fill_upper_from_lower};
use mechml_engine::optim::FitOptions;
use mechml_engine::param::{Param, ParamLayout};
use mechml_engine::{Error, Result};

use super::emulator::EmuPrediction;
use super::kernel::{EmuKernel, KernelFamily};

pub(super) const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Structure and fitting options of a [`CoregionalGp`].
#[derive(Clone, Debug)]
pub struct CoregionalOptions {
    /// Family of the latent kernels (ARD).
    pub kernel: KernelFamily,
    /// Number of latent kernels `Q` (1: ICM).
    pub latent: usize,
    /// Rank `R` of each `W_q`.
    pub rank: usize,
    /// L-BFGS, restarts and fixed parameters.
    pub fit: FitOptions,
}

impl Default for CoregionalOptions {
    /// ICM (`Q = 1`) of rank 1, squared exponential, 3 starts.
    fn default() -> Self {
        Self {
            kernel: KernelFamily::SquaredExponential,
            latent: 1,
            rank: 1,
            fit: FitOptions::default().with_starts(3, 0.5, 0),
        }
    }
}

/// A coregionalised multi-output GP (module docs).
///
/// ```
/// use mechml_models::emulator::design::lhs;
/// use mechml_models::emulator::gp::{CoregionalGp, CoregionalOptions};
/// let d = lhs(15, 1, 0)?;
/// // Two outputs, the second twice the first; the second observed at the first 5 runs only.
/// let y: Vec<f64> = (0..15).flat_map(|i| {
///     let f = (5.0 * d.point(i)[0]).sin();
///     [f, if i < 5 { 2.0 * f } else { f64::NAN }]
/// }).collect();
/// let gp = CoregionalGp::fit(d.to_inputs()?, &y, 2, &CoregionalOptions::default())?;
/// let x = mechml_engine::gp::Inputs::from_rows(&[[0.9]])?;
/// let p = gp.predict(&x)?;
/// assert!((p[1].mean[0] - 2.0 * (4.5f64).sin()).abs() < 0.1);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CoregionalGp {
    pub(super) kernel: EmuKernel,
    pub(super) latent: usize,
    pub(super) rank: usize,
    pub(super) p: usize,
    pub(super) layout: ParamLayout,
    pub(super) x: Inputs,
    /// `n × p` point-major, `NaN` where unobserved.
    pub(super) y: Vec<f64>,
    /// Per-output means of the observed values.
    pub(super) means: Vec<f64>,
    /// Observed `(run, output)` pairs, output-major.
    pub(super) obs: Vec<(usize, usize)>,
    pub(super) llt: Llt,
    pub(super) alpha: Vec<f64>,
    pub(super) value: f64,
}

/// The unpacked parameters.
pub(super) struct Unpacked {
    /// Per latent kernel: `[1, ℓ…]` (unit variance).
    pub(super) theta_k: Vec<Vec<f64>>,
    /// Per latent kernel: `B_q` (`p × p`).
    pub(super) b: Vec<Mat<f64>>,
    /// Per latent kernel: `W_q` (`p × R`).
    pub(super) w: Vec<Mat<f64>>,
    pub(super) noise: Vec<f64>,
}

impl CoregionalGp {
    /// The parameter layout: per latent `q`, `l{q}.lengthscale[k]`, `l{q}.w[a][r]`,
    /// `l{q}.kappa[a]`; then `noise[a]`.
    fn build_layout(
        d: usize,
        p: usize,
        latent: usize,
        rank: usize,
        var: &[f64],
    ) -> Result<ParamLayout> {
        let mut l = ParamLayout::new(Vec::new())?;
        for q in 0..latent {
            for k in 0..d {
                l.push(Param::positive(format!("l{q}.lengthscale[{k}]"), 0.5))?;
            }
            for a in 0..p {
                for r in 0..rank {
                    // A start that correlates the outputs, spread over the latents.
                    let s = (var[a] / (latent * rank) as f64).sqrt();
                    let v = if r == 0 { s } else { 0.1 * s };
                    l.push(Param::real(format!("l{q}.w[{a}][{r}]"), v))?;
                }
            }
            for a in 0..p {
                l.push(Param::positive(
                    format!("l{q}.kappa[{a}]"),
                    0.1 * var[a] / latent as f64,
                ))?;
            }
        }
        for a in 0..p {
            l.push(Param::positive(format!("noise[{a}]"), 1e-4 * var[a]))?;
        }
        Ok(l)
    }

    fn check(
        x: &Inputs,
        y: &[f64],
        p: usize,
        opts: &CoregionalOptions,
    ) -> Result<Vec<(usize, usize)>> {
        if p == 0 || y.len() != x.n() * p {
            return Err(Error::ShapeMismatch {
                op: "CoregionalGp",
                arg: "y",
                expected: format!(
                    "{} values ({} runs × {p} outputs, point-major)",
                    x.n() * p,
                    x.n()
                ),
                found: format!("{} values", y.len()),
            });
        }
        if opts.latent == 0 || opts.rank == 0 || opts.rank > p {
            return Err(Error::invalid_option(
                "CoregionalOptions",
                "latent, rank",
                format!("{}, {}", opts.latent, opts.rank),
                format!("latent ≥ 1 and 1 ≤ rank ≤ outputs ({p})"),
            ));
        }
        if let Some(k) = y.iter().position(|v| v.is_infinite()) {
            return Err(Error::NonFinite {
                op: "CoregionalGp",
                index: k,
                value: y[k],
                context: format!(
                    "output {} of run {} (NaN marks a missing value)",
                    k % p,
                    k / p
                ),
            });
        }
        let obs: Vec<(usize, usize)> = (0..p)
            .flat_map(|a| (0..x.n()).map(move |i| (i, a)))
            .filter(|&(i, a)| !y[i * p + a].is_nan())
            .collect();
        for a in 0..p {
            if obs.iter().filter(|o| o.1 == a).count() < 1 {
                return Err(Error::invalid_option(
                    "CoregionalGp",
                    format!("output {a}"),
                    "no observed value",
                    "at least one observed value per output",
                ));
            }
        }
        Ok(obs)
    }

    fn new_unfitted(x: Inputs, y: &[f64], p: usize, opts: &CoregionalOptions) -> Result<Self> {
        let obs = Self::check(&x, y, p, opts)?;
        let mut means = vec![0.0; p];
        let mut var = vec![0.0; p];
        for a in 0..p {
            let v: Vec<f64> = obs
                .iter()
                .filter(|o| o.1 == a)
                .map(|&(i, _)| y[i * p + a])
                .collect();
            means[a] = v.iter().sum::<f64>() / v.len() as f64;
            var[a] =
                (v.iter().map(|t| (t - means[a]).powi(2)).sum::<f64>() / v.len() as f64).max(1e-12);
        }
        let layout = Self::build_layout(x.d(), p, opts.latent, opts.rank, &var)?;
        Ok(Self {
            kernel: EmuKernel::ard(opts.kernel, x.d())?,
            latent: opts.latent,
            rank: opts.rank,
            p,
            layout,
            x,
            y: y.to_vec(),
            means,
            obs,
            llt: Llt::from_factor(Mat::zeros(0, 0)),
            alpha: Vec::new(),
            value: f64::NAN,
        })
    }

    /// The GP at given parameters `theta` (names as [`CoregionalGp::param_names`]);
    /// `y` is `n × p` point-major with `NaN` for missing values.
    pub fn with_params(
        x: Inputs,
        y: &[f64],
        p: usize,
        opts: &CoregionalOptions,
        theta: &[f64],
    ) -> Result<Self> {
        let mut gp = Self::new_unfitted(x, y, p, opts)?;
        gp.layout.set_values(theta)?;
        gp.refactor()?;
        Ok(gp)
    }

    /// Fits the parameters by maximum likelihood (L-BFGS on the unconstrained scale from
    /// `opts.fit.n_starts` starts).
    ///
    /// # Errors
    /// Bad shapes or options, an output with no observed value, every start failing.
    pub fn fit(x: Inputs, y: &[f64], p: usize, opts: &CoregionalOptions) -> Result<Self> {
        opts.fit.validate()?;
        let mut gp = Self::new_unfitted(x, y, p, opts)?;
        let mut layout = gp.layout.clone();
        layout.fix_all(&opts.fit.fixed)?;
        let z0 = layout.free_unconstrained()?;
        let neg = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
            let theta = layout.natural(z)?;
            let (v, g) = if gp.is_kronecker() {
                gp.kronecker_grad(&theta)?
            } else {
                gp.log_likelihood_grad(&theta)?
            };
            let gz = layout.chain_gradient(z, &g)?;
            Ok((-v, gz.iter().map(|g| -g).collect()))
        };
        let (best, _) = opts.fit.minimize_multistart(&z0, neg)?;
        let theta = layout.natural(&best.x)?;
        gp.layout.set_values(&theta)?;
        gp.refactor()?;
        Ok(gp)
    }

    pub(super) fn unpack(&self, theta: &[f64]) -> Unpacked {
        let (d, p, r) = (self.x.d(), self.p, self.rank);
        let mut at = 0;
        let (mut theta_k, mut b, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.latent {
            let mut tk = vec![1.0];
            tk.extend_from_slice(&theta[at..at + d]);
            at += d;
            let wq = Mat::from_fn(p, r, |a, c| theta[at + a * r + c]);
            at += p * r;
            let mut bq = &wq * wq.transpose();
            for a in 0..p {
                bq[(a, a)] += theta[at + a];
            }
            at += p;
            theta_k.push(tk);
            b.push(bq);
            w.push(wq);
        }
        Unpacked {
            theta_k,
            b,
            w,
            noise: theta[at..at + p].to_vec(),
        }
    }

    /// The latent kernel matrices `k_q(X, X)` (full, symmetric).
    pub(super) fn kx(&self, u: &Unpacked) -> Vec<Mat<f64>> {
        let n = self.x.n();
        u.theta_k
            .iter()
            .map(|tk| {
                let mut k = Mat::<f64>::zeros(n, n);
                self.kernel.matrix_into(tk, &self.x, None, k.as_mut());
                fill_upper_from_lower(&mut k);
                k
            })
            .collect()
    }

    /// The stacked covariance of the observed entries (with noise) and the centred data.
    fn dense(&self, u: &Unpacked, kx: &[Mat<f64>]) -> (Mat<f64>, Vec<f64>) {
        let nobs = self.obs.len();
        let k = Mat::from_fn(nobs, nobs, |s, t| {
            let ((i, a), (j, b)) = (self.obs[s], self.obs[t]);
            let mut v: f64 = (0..self.latent)
                .map(|q| u.b[q][(a, b)] * kx[q][(i, j)])
                .sum();
            if s == t {
                v += u.noise[a];
            }
            v
        });
        let yv = self
            .obs
            .iter()
            .map(|&(i, a)| self.y[i * self.p + a] - self.means[a])
            .collect();
        (k, yv)
    }

    fn factor(k: Mat<f64>) -> Result<Llt> {
        match Llt::factor_owned(k.clone(), Par::Seq) {
            Some(l) => Ok(l),
            None => Ok(cholesky_with_jitter(k.as_ref(), JitterPolicy::default(), Par::Seq)?.0),
        }
    }

    fn refactor(&mut self) -> Result<()> {
        let u = self.unpack(&self.layout.values());
        let kx = self.kx(&u);
        let (k, yv) = self.dense(&u, &kx);
        self.llt = Self::factor(k)?;
        self.alpha = self.llt.solve_vec(&yv, Par::Seq);
        let quad: f64 = yv.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        self.value = -0.5 * quad - 0.5 * self.llt.logdet() - 0.5 * yv.len() as f64 * LN_2PI;
        Ok(())
    }

    /// The log likelihood (dense, over the observed entries) and its gradient on the
    /// natural scale at `theta`.
    pub fn log_likelihood_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        check_len(
            "CoregionalGp::log_likelihood_grad",
            "theta",
            theta.len(),
            self.layout.len(),
        )?;
        let (n, d, p, r) = (self.x.n(), self.x.d(), self.p, self.rank);
        let u = self.unpack(theta);
        let kx = self.kx(&u);
        let (k, yv) = self.dense(&u, &kx);
        let llt = Self::factor(k)?;
        let alpha = llt.solve_vec(&yv, Par::Seq);
        let nobs = yv.len();
        let quad: f64 = yv.iter().zip(&alpha).map(|(a, b)| a * b).sum();
        let value = -0.5 * quad - 0.5 * llt.logdet() - 0.5 * nobs as f64 * LN_2PI;
        // K̄ = ½(ααᵀ − K⁻¹).
        let mut kbar = llt.inverse(Par::Seq);
        for t in 0..nobs {
            for s in 0..nobs {
                kbar[(s, t)] = 0.5 * (alpha[s] * alpha[t] - kbar[(s, t)]);
            }
        }
        let mut g = vec![0.0; theta.len()];
        let mut at = 0;
        for q in 0..self.latent {
            let mut bbar = Mat::<f64>::zeros(p, p);
            let mut kqbar = Mat::<f64>::zeros(n, n);
            for t in 0..nobs {
                let (j, b) = self.obs[t];
                for s in 0..nobs {
                    let (i, a) = self.obs[s];
                    bbar[(a, b)] += kbar[(s, t)] * kx[q][(i, j)];
                    kqbar[(i, j)] += kbar[(s, t)] * u.b[q][(a, b)];
                }
            }
            let mut gk = vec![0.0; d + 1];
            self.kernel.matrix_pullback(
                &u.theta_k[q],
                &self.x,
                Some(&self.x),
                kqbar.as_ref(),
                KernelAdjoints::new(&mut gk, None, None),
            );
            g[at..at + d].copy_from_slice(&gk[1..]);
            at += d;
            for a in 0..p {
                for c in 0..r {
                    g[at + a * r + c] = (0..p)
                        .map(|b| (bbar[(a, b)] + bbar[(b, a)]) * u.w[q][(b, c)])
                        .sum();
                }
            }
            at += p * r;
            for a in 0..p {
                g[at + a] = bbar[(a, a)];
            }
            at += p;
        }
        for (s, &(_, a)) in self.obs.iter().enumerate() {
            g[at + a] += kbar[(s, s)];
        }
        Ok((value, g))
    }

    /// The log likelihood at the current parameters (dense).
    pub fn log_likelihood(&self) -> f64 {
        self.value
    }

    /// Parameter names.
    pub fn param_names(&self) -> Vec<String> {
        self.layout.names().iter().map(|s| s.to_string()).collect()
    }

    /// Parameters (natural scale).
    pub fn params(&self) -> Vec<f64> {
        self.layout.values()
    }

    /// The coregionalisation matrices `B_q` (`p × p`, row-major), one per latent kernel.
    pub fn coregionalisation(&self) -> Vec<Vec<f64>> {
        let u = self.unpack(&self.layout.values());
        u.b.iter()
            .map(|b| {
                (0..self.p * self.p)
                    .map(|k| b[(k / self.p, k % self.p)])
                    .collect()
            })
            .collect()
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.p
    }

    /// Latent mean and variance of every output at `xs` (one [`EmuPrediction`] per output).
    pub fn predict(&self, xs: &Inputs) -> Result<Vec<EmuPrediction>> {
        if xs.d() != self.x.d() {
            return Err(Error::ShapeMismatch {
                op: "CoregionalGp::predict",
                arg: "xs",
                expected: format!("{}-dimensional points", self.x.d()),
                found: format!("{}-dimensional points", xs.d()),
            });
        }
        let (m, p, nobs) = (xs.n(), self.p, self.obs.len());
        let u = self.unpack(&self.layout.values());
        let ks: Vec<Mat<f64>> = u
            .theta_k
            .iter()
            .map(|tk| {
                let mut k = Mat::<f64>::zeros(self.x.n(), m);
                self.kernel.matrix_into(tk, &self.x, Some(xs), k.as_mut());
                k
            })
            .collect();
        let mut out = Vec::with_capacity(p);
        for a in 0..p {
            // C[s, j] = cov(y_obs[s], f_a(x_j)).
            let mut c = Mat::from_fn(nobs, m, |s, j| {
                let (i, b) = self.obs[s];
                (0..self.latent)
                    .map(|q| u.b[q][(b, a)] * ks[q][(i, j)])
                    .sum()
            });
            let mean: Vec<f64> = (0..m)
                .map(|j| self.means[a] + (0..nobs).map(|s| c[(s, j)] * self.alpha[s]).sum::<f64>())
                .collect();
            self.llt.solve_l_in_place(c.as_mut(), Par::Seq);
            let prior: f64 = (0..self.latent).map(|q| u.b[q][(a, a)]).sum();
            let var = (0..m)
                .map(|j| (prior - c.col(j).squared_norm_l2()).max(0.0))
                .collect();
            out.push(EmuPrediction { mean, var });
        }
        Ok(out)
    }
}
