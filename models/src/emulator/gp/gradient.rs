//! [`GradientGp`]: a gradient-enhanced GP emulator, for simulators that supply `∂y/∂x`
//! with each run (an adjoint model, or mechml's own differentiable simulators). Values and
//! derivatives are jointly Gaussian: for the ARD squared exponential
//! `k(x, x') = σ² exp(−½ Σ_k s_k u_k²)`, `u = x − x'`, `s_k = 1/ℓ_k²`
//! (Rasmussen & Williams 2006, §9.4; Solak et al. 2003, NIPS 15),
//!
//! $$ \operatorname{cov}(f(x), ∂_l f(x')) = k\, s_l u_l, \quad
//!    \operatorname{cov}(∂_k f(x), f(x')) = −k\, s_k u_k, \quad
//!    \operatorname{cov}(∂_k f(x), ∂_l f(x')) = k\,(δ_{kl} s_k − s_k s_l u_k u_l). $$
//!
//! A run contributes `1 + d` observations (value, then gradient); the outputs are centred
//! at the mean of the values (derivatives unchanged), with a small fixed nugget relative to
//! `σ²` on every observation. The variance and lengthscales are fitted by maximum
//! likelihood with the gradient `tr(K̄ ∂K/∂θ)`, `K̄ = ½(ααᵀ − K⁻¹)`, the entries of
//! `∂K/∂ℓ_m` in closed form: with `g_m = s_m u_m² / ℓ_m` every entry gains `g_m` times
//! itself, and the entries that carry `s_m` gain `−2/ℓ_m` times their `s_m` part.

use faer::{Mat, Par};
use mechml_engine::error::check_len;
use mechml_engine::gp::Inputs;
use mechml_engine::linalg::{JitterPolicy, Llt, cholesky_with_jitter};
use mechml_engine::optim::FitOptions;
use mechml_engine::param::{Param, ParamLayout};
use mechml_engine::{Error, Result};

use super::emulator::EmuPrediction;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Options of a [`GradientGp`].
#[derive(Clone, Debug)]
pub struct GradientGpOptions {
    /// Nugget on every observation, relative to `σ²` (≥ 0).
    pub nugget: f64,
    /// L-BFGS, restarts and fixed parameters (`variance`, `lengthscale`).
    pub fit: FitOptions,
}

impl Default for GradientGpOptions {
    /// Nugget 10⁻⁸, 3 starts.
    fn default() -> Self {
        Self {
            nugget: 1e-8,
            fit: FitOptions::default().with_starts(3, 0.5, 0),
        }
    }
}

/// A GP emulator of values and gradients (module docs).
///
/// ```
/// use mechml_models::emulator::design::lhs;
/// use mechml_models::emulator::gp::{GradientGp, GradientGpOptions};
/// let d = lhs(5, 1, 0)?;
/// let y: Vec<f64> = (0..5).map(|i| (4.0 * d.point(i)[0]).sin()).collect();
/// let dy: Vec<f64> = (0..5).map(|i| 4.0 * (4.0 * d.point(i)[0]).cos()).collect();
/// let gp = GradientGp::fit(d.to_inputs()?, &y, &dy, &GradientGpOptions::default())?;
/// let p = gp.predict(&mechml_engine::gp::Inputs::from_rows(&[[0.5]])?)?;
/// assert!((p.mean[0] - (2.0f64).sin()).abs() < 0.02);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GradientGp {
    layout: ParamLayout,
    nugget: f64,
    x: Inputs,
    /// Observations, `1 + d` per run (value − mean, then the gradient).
    obs: Vec<f64>,
    mean: f64,
    llt: Llt,
    alpha: Vec<f64>,
    value: f64,
}

/// The `(1 + d) × (1 + d)` block of the joint covariance of `(f, ∇f)` at `x` and at
/// `y` (row-major), at `σ²` and lengthscales `ls`.
pub fn joint_covariance_block(var: f64, ls: &[f64], x: &[f64], y: &[f64]) -> Vec<f64> {
    let d = ls.len();
    let mut out = vec![0.0; (1 + d) * (1 + d)];
    block_into(var, ls, x, y, &mut out, None);
    out
}

/// Fills the block; with `grad = Some((m, dout))` also `∂block/∂ℓ_m` into `dout`.
fn block_into(
    var: f64,
    ls: &[f64],
    x: &[f64],
    y: &[f64],
    out: &mut [f64],
    grad: Option<(usize, &mut [f64])>,
) {
    let d = ls.len();
    let w = 1 + d;
    let mut r2 = 0.0;
    let u: Vec<f64> = (0..d).map(|k| x[k] - y[k]).collect();
    let s: Vec<f64> = ls.iter().map(|l| 1.0 / (l * l)).collect();
    for k in 0..d {
        r2 += s[k] * u[k] * u[k];
    }
    let kv = var * (-0.5 * r2).exp();
    out[0] = kv;
    for l in 0..d {
        out[1 + l] = kv * s[l] * u[l];
        out[(1 + l) * w] = -kv * s[l] * u[l];
    }
    for k in 0..d {
        for l in 0..d {
            let delta = if k == l { s[k] } else { 0.0 };
            out[(1 + k) * w + 1 + l] = kv * (delta - s[k] * s[l] * u[k] * u[l]);
        }
    }
    if let Some((m, dout)) = grad {
        let g = s[m] * u[m] * u[m] / ls[m];
        for (o, e) in dout.iter_mut().zip(out.iter()) {
            *o = e * g;
        }
        let c = -2.0 / ls[m];
        dout[1 + m] += c * out[1 + m];
        dout[(1 + m) * w] += c * out[(1 + m) * w];
        for k in 0..d {
            for l in 0..d {
                let mut t = 0.0;
                if k == l && k == m {
                    t += kv * s[m];
                }
                let cross = (usize::from(k == m) + usize::from(l == m)) as f64;
                t -= cross * kv * s[k] * s[l] * u[k] * u[l];
                dout[(1 + k) * w + 1 + l] += c * t;
            }
        }
    }
}

impl GradientGp {
    fn check(x: &Inputs, y: &[f64], dy: &[f64], opts: &GradientGpOptions) -> Result<()> {
        let (n, d) = (x.n(), x.d());
        if y.len() != n || dy.len() != n * d {
            return Err(Error::ShapeMismatch {
                op: "GradientGp",
                arg: "y, dy",
                expected: format!(
                    "{n} values and {} derivatives ({d} per run, point-major)",
                    n * d
                ),
                found: format!("{} and {}", y.len(), dy.len()),
            });
        }
        if let Some(k) = y.iter().chain(dy).position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: "GradientGp",
                index: k,
                value: y.iter().chain(dy).nth(k).copied().unwrap_or(f64::NAN),
                context: "a value or derivative of a run".into(),
            });
        }
        if !(opts.nugget.is_finite() && opts.nugget >= 0.0) {
            return Err(Error::invalid_option(
                "GradientGpOptions",
                "nugget",
                opts.nugget,
                "finite and ≥ 0",
            ));
        }
        if n < 1 {
            return Err(Error::invalid_option(
                "GradientGp",
                "runs",
                n,
                "at least 1 run",
            ));
        }
        Ok(())
    }

    fn unfitted(x: Inputs, y: &[f64], dy: &[f64], opts: &GradientGpOptions) -> Result<Self> {
        Self::check(&x, y, dy, opts)?;
        let (n, d) = (x.n(), x.d());
        let mean = y.iter().sum::<f64>() / n as f64;
        let var = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).max(1e-12);
        let mut obs = Vec::with_capacity(n * (1 + d));
        for i in 0..n {
            obs.push(y[i] - mean);
            obs.extend_from_slice(&dy[i * d..(i + 1) * d]);
        }
        let mut layout = ParamLayout::new(vec![Param::positive("variance", var)])?;
        for k in 0..d {
            layout.push(Param::positive(format!("lengthscale[{k}]"), 0.5))?;
        }
        Ok(Self {
            layout,
            nugget: opts.nugget,
            x,
            obs,
            mean,
            llt: Llt::from_factor(Mat::zeros(0, 0)),
            alpha: Vec::new(),
            value: f64::NAN,
        })
    }

    /// The GP at given parameters (`variance`, `lengthscale[k]`): `y` one value per run,
    /// `dy` the gradients, point-major.
    pub fn with_params(
        x: Inputs,
        y: &[f64],
        dy: &[f64],
        opts: &GradientGpOptions,
        theta: &[f64],
    ) -> Result<Self> {
        let mut gp = Self::unfitted(x, y, dy, opts)?;
        gp.layout.set_values(theta)?;
        gp.refactor()?;
        Ok(gp)
    }

    /// Fits `σ²` and the lengthscales by maximum likelihood (L-BFGS on the log scale).
    ///
    /// # Errors
    /// Bad shapes, non-finite data, every start failing.
    pub fn fit(x: Inputs, y: &[f64], dy: &[f64], opts: &GradientGpOptions) -> Result<Self> {
        opts.fit.validate()?;
        let mut gp = Self::unfitted(x, y, dy, opts)?;
        let mut layout = gp.layout.clone();
        layout.fix_all(&opts.fit.fixed)?;
        let z0 = layout.free_unconstrained()?;
        let neg = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
            let theta = layout.natural(z)?;
            let (v, g) = gp.log_likelihood_grad(&theta)?;
            let gz = layout.chain_gradient(z, &g)?;
            Ok((-v, gz.iter().map(|g| -g).collect()))
        };
        let (best, _) = opts.fit.minimize_multistart(&z0, neg)?;
        let theta = layout.natural(&best.x)?;
        gp.layout.set_values(&theta)?;
        gp.refactor()?;
        Ok(gp)
    }

    /// The joint covariance of the observations (with the nugget) and, for `m = Some(j)`,
    /// its derivative in parameter `j` instead.
    fn covariance(&self, theta: &[f64], m: Option<usize>) -> Mat<f64> {
        let (n, d) = (self.x.n(), self.x.d());
        let w = 1 + d;
        let mut k = Mat::<f64>::zeros(n * w, n * w);
        let mut blk = vec![0.0; w * w];
        let mut dblk = vec![0.0; w * w];
        for i in 0..n {
            for j in 0..n {
                let grad = match m {
                    Some(p) if p >= 1 => Some((p - 1, dblk.as_mut_slice())),
                    _ => None,
                };
                block_into(
                    theta[0],
                    &theta[1..],
                    self.x.point(i),
                    self.x.point(j),
                    &mut blk,
                    grad,
                );
                for a in 0..w {
                    for b in 0..w {
                        k[(i * w + a, j * w + b)] = match m {
                            None => blk[a * w + b],
                            Some(0) => blk[a * w + b] / theta[0],
                            Some(_) => dblk[a * w + b],
                        };
                    }
                }
            }
        }
        let nug = self.nugget * theta[0];
        for t in 0..n * w {
            k[(t, t)] += match m {
                None => nug,
                Some(0) => self.nugget,
                Some(_) => 0.0,
            };
        }
        k
    }

    fn factor(k: Mat<f64>) -> Result<Llt> {
        match Llt::factor_owned(k.clone(), Par::Seq) {
            Some(l) => Ok(l),
            None => Ok(cholesky_with_jitter(k.as_ref(), JitterPolicy::default(), Par::Seq)?.0),
        }
    }

    fn refactor(&mut self) -> Result<()> {
        let k = self.covariance(&self.layout.values(), None);
        self.llt = Self::factor(k)?;
        self.alpha = self.llt.solve_vec(&self.obs, Par::Seq);
        let quad: f64 = self.obs.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        self.value = -0.5 * quad - 0.5 * self.llt.logdet() - 0.5 * self.obs.len() as f64 * LN_2PI;
        Ok(())
    }

    /// The log likelihood of values and gradients and its gradient in
    /// (`variance`, `lengthscale[k]`) at `theta`.
    pub fn log_likelihood_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        check_len(
            "GradientGp::log_likelihood_grad",
            "theta",
            theta.len(),
            self.layout.len(),
        )?;
        let llt = Self::factor(self.covariance(theta, None))?;
        let alpha = llt.solve_vec(&self.obs, Par::Seq);
        let nobs = alpha.len();
        let quad: f64 = self.obs.iter().zip(&alpha).map(|(a, b)| a * b).sum();
        let value = -0.5 * quad - 0.5 * llt.logdet() - 0.5 * nobs as f64 * LN_2PI;
        let kinv = llt.inverse(Par::Seq);
        let g = (0..theta.len())
            .map(|p| {
                let dk = self.covariance(theta, Some(p));
                let mut t = 0.0;
                for b in 0..nobs {
                    for a in 0..nobs {
                        t += 0.5 * (alpha[a] * alpha[b] - kinv[(a, b)]) * dk[(a, b)];
                    }
                }
                t
            })
            .collect();
        Ok((value, g))
    }

    /// The log likelihood at the current parameters.
    pub fn log_likelihood(&self) -> f64 {
        self.value
    }

    /// Parameters (`variance`, `lengthscale[k]`).
    pub fn params(&self) -> Vec<f64> {
        self.layout.values()
    }

    /// Latent mean and variance of the value at `xs`.
    pub fn predict(&self, xs: &Inputs) -> Result<EmuPrediction> {
        let (n, d) = (self.x.n(), self.x.d());
        if xs.d() != d {
            return Err(Error::ShapeMismatch {
                op: "GradientGp::predict",
                arg: "xs",
                expected: format!("{d}-dimensional points"),
                found: format!("{}-dimensional points", xs.d()),
            });
        }
        let w = 1 + d;
        let theta = self.layout.values();
        let m = xs.n();
        let mut blk = vec![0.0; w * w];
        // c[(i, c), j] = cov(obs (i, c), f(x_j)): the first row of the block at (x_j, x_i).
        let mut c = Mat::<f64>::zeros(n * w, m);
        for j in 0..m {
            for i in 0..n {
                block_into(
                    theta[0],
                    &theta[1..],
                    xs.point(j),
                    self.x.point(i),
                    &mut blk,
                    None,
                );
                for a in 0..w {
                    c[(i * w + a, j)] = blk[a];
                }
            }
        }
        let mean = (0..m)
            .map(|j| self.mean + (0..n * w).map(|t| c[(t, j)] * self.alpha[t]).sum::<f64>())
            .collect();
        self.llt.solve_l_in_place(c.as_mut(), Par::Seq);
        let var = (0..m)
            .map(|j| (theta[0] - c.col(j).squared_norm_l2()).max(0.0))
            .collect();
        Ok(EmuPrediction { mean, var })
    }
}
