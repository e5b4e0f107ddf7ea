//! Hybrid transitions with a mechanistic ODE step: the state moves over a step Δt by an
//! explicit Runge–Kutta solve of a physical vector field plus a learned term,
//!
//! $$ \\frac{dx}{dt} = f(t, x; p, u_t) + S\\, g_w(x_{\\mathcal I}),\\qquad
//!    x_{t+1} = Ψ_{Δt}(x_t; p, w, u_t) + w_t,\\ w_t \\sim N(0, Q), $$
//!
//! where f is an [`OdeRhs`] of `mechml_engine::ode` with physical parameters p (the input
//! u_t held over the step, zero-order hold), g_w is a small network ([`Mlp`]) or a GP
//! residual ([`GpResidual`]) reading the state components 𝓘 and added to the rows S of
//! the vector field (a universal differential equation, Rackauckas et al. 2020,
//! arXiv:2001.04385), and Ψ is `substeps` steps of the explicit method of a
//! [`ButcherTableau`] of `mechml_engine::ode::tableau` (RK4 by default), written over
//! [`Real`] so that the whole step is differentiable on the tape. The observations are
//! linear, y_t = H x_t + v_t.
//!
//! The parameters θ = (z, w) are the physical parameters on an unconstrained scale
//! (z = ln p for positive ones, [`Transform`]) and the learned weights, fitted jointly by
//! maximising the unscented Kalman filter's log-likelihood minus `ridge` times the
//! learned term's penalty (½‖w‖² for the network; the GP prior ½ vᵀ K_ZZ⁻¹ v of the
//! inducing values for the GP residual) with L-BFGS ([`fit_hybrid_ode`]).
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_engine::ode::OdeRhs;
//! use mechml_models::ssm::fit::Transform;
//! use mechml_models::ssm::nonlinear::hybrid::Mlp;
//! use mechml_models::ssm::nonlinear::hybrid_ode::OdeHybridSsm;
//!
//! /// Relaxation to a forcing: dx/dt = (u − x)/τ, parameters [τ, u].
//! struct Relax;
//! impl OdeRhs for Relax {
//!     fn n_states(&self) -> usize { 1 }
//!     fn n_params(&self) -> usize { 2 }
//!     fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
//!         dy[0] = (p[1] - y[0]) / p[0];
//!     }
//! }
//! let net = Mlp::new(vec![1, 4, 1])?;
//! let model = OdeHybridSsm::new(Relax, 1, vec![Transform::Log], 1, net.clone(), vec![0], vec![0],
//!     1.0, 4, vec![0.01], 1, vec![1.0], vec![0.04], vec![0.0], vec![0.1])?;
//! // τ = 2 and a zero network: one step from x = 0 under u = 1 is 1 − e^{−1/2}.
//! let theta = model.theta(&[2.0], &vec![0.0; net.n_params()])?;
//! let x1 = model.step(&theta, 0, &[0.0], &[1.0]);
//! assert!((x1[0] - (1.0 - (-0.5f64).exp())).abs() < 1e-4);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::ad::{Real, Tape};
use mechml_engine::gp::Kernel;
use mechml_engine::ode::OdeRhs;
use mechml_engine::ode::tableau::{ButcherTableau, RK4};
use mechml_engine::optim::{LbfgsOptions, OptimResult, lbfgs};
use mechml_engine::{Error, Result};

use super::hybrid::Mlp;
use super::ukf::{UkfOptions, ukf};
use super::{NonlinearSsm, affine, constants};
use crate::ssm::fit::Transform;
use crate::ssm::model::Observations;

/// A learned term g_w: inputs → outputs, generic over [`Real`], with a penalty on its
/// weights (a negative log prior up to a constant).
pub trait LearnedTerm: Sync {
    /// Number of inputs.
    fn n_in(&self) -> usize;
    /// Number of outputs.
    fn n_out(&self) -> usize;
    /// Number of weights.
    fn n_params(&self) -> usize;
    /// g_w(x).
    fn eval<R: Real>(&self, w: &[R], x: &[R]) -> Vec<R>;
    /// The penalty of the weights (what `ridge` multiplies in [`fit_hybrid_ode`]).
    fn penalty<R: Real>(&self, w: &[R]) -> R;
}

impl LearnedTerm for Mlp {
    fn n_in(&self) -> usize {
        Mlp::n_in(self)
    }
    fn n_out(&self) -> usize {
        Mlp::n_out(self)
    }
    fn n_params(&self) -> usize {
        Mlp::n_params(self)
    }
    fn eval<R: Real>(&self, w: &[R], x: &[R]) -> Vec<R> {
        self.forward(w, x)
    }
    /// ½‖w‖² (weight decay).
    fn penalty<R: Real>(&self, w: &[R]) -> R {
        w.iter().fold(R::zero(), |acc, &v| acc + v * v) * 0.5
    }
}

/// A GP residual: the mean of a Gaussian process with kernel k given its values v at
/// fixed inducing inputs Z, g(x) = k(x, Z) K_ZZ⁻¹ v (one set of values per output), and
/// the GP prior of those values as the penalty, ½ vᵀ K_ZZ⁻¹ v (the deterministic
/// training conditional; Quiñonero-Candela & Rasmussen 2005, JMLR 6, 1939–1959, §5).
/// The kernel's hyperparameters `θ` (natural scale, ordered as its `layout`) are held
/// fixed; the weights are v.
#[derive(Clone, Debug)]
pub struct GpResidual<K> {
    kernel: K,
    theta_k: Vec<f64>,
    /// Inducing inputs, point-major (`n_inducing x n_in`).
    inducing: Vec<f64>,
    n_in: usize,
    n_out: usize,
    /// K_ZZ⁻¹ (with the jitter added), column-major.
    kinv: Vec<f64>,
}

impl<K: Kernel> GpResidual<K> {
    /// A residual with `n_out` outputs on `inducing` inputs (point-major, `n_in` per
    /// point), the kernel at the hyperparameters `theta`. A jitter of 1e-8 times the
    /// largest diagonal entry is added to K_ZZ.
    pub fn new(
        kernel: K,
        theta: &[f64],
        inducing: Vec<f64>,
        n_in: usize,
        n_out: usize,
    ) -> Result<Self> {
        if n_in == 0 || n_out == 0 || inducing.is_empty() || !inducing.len().is_multiple_of(n_in) {
            return Err(Error::InvalidArgument {
                op: "GpResidual",
                message: format!(
                    "need n_in ≥ 1, n_out ≥ 1 and a non-empty inducing set of whole points, got n_in = {n_in}, n_out = {n_out}, {} inducing values",
                    inducing.len()
                ),
            });
        }
        kernel.check_dim(n_in)?;
        if theta.len() != kernel.n_params() || theta.iter().any(|t| !t.is_finite()) {
            return Err(Error::ShapeMismatch {
                op: "GpResidual",
                arg: "theta",
                expected: format!("{} finite kernel parameters", kernel.n_params()),
                found: format!("{} values", theta.len()),
            });
        }
        let theta_k = theta.to_vec();
        let m = inducing.len() / n_in;
        let pt = |i: usize| &inducing[i * n_in..(i + 1) * n_in];
        let mut kzz = vec![0.0; m * m];
        for j in 0..m {
            for i in 0..m {
                kzz[i + j * m] = kernel.eval(&theta_k, pt(i), pt(j));
            }
        }
        let dmax = (0..m).map(|i| kzz[i + i * m]).fold(0.0, f64::max);
        for i in 0..m {
            kzz[i + i * m] += 1e-8 * dmax;
        }
        crate::ssm::dense::cholesky_in_place(&mut kzz, m, "GpResidual").map_err(|_| {
            Error::InvalidArgument {
                op: "GpResidual",
                message: "the kernel matrix of the inducing inputs is not positive definite; remove duplicate inducing points".into(),
            }
        })?;
        let mut kinv = vec![0.0; m * m];
        crate::ssm::dense::chol_inverse_into(&kzz, m, &mut kinv);
        Ok(Self {
            kernel,
            theta_k,
            inducing,
            n_in,
            n_out,
            kinv,
        })
    }

    /// Number of inducing points.
    pub fn n_inducing(&self) -> usize {
        self.inducing.len() / self.n_in
    }
}

impl<K: Kernel> LearnedTerm for GpResidual<K> {
    fn n_in(&self) -> usize {
        self.n_in
    }
    fn n_out(&self) -> usize {
        self.n_out
    }
    /// One value per inducing point and output (output-major).
    fn n_params(&self) -> usize {
        self.n_inducing() * self.n_out
    }
    fn eval<R: Real>(&self, v: &[R], x: &[R]) -> Vec<R> {
        let m = self.n_inducing();
        let th: Vec<R> = self.theta_k.iter().map(|&t| R::from_f64(t)).collect();
        let kx: Vec<R> = (0..m)
            .map(|j| {
                let z: Vec<R> = self.inducing[j * self.n_in..(j + 1) * self.n_in]
                    .iter()
                    .map(|&c| R::from_f64(c))
                    .collect();
                self.kernel.eval(&th, x, &z)
            })
            .collect();
        (0..self.n_out)
            .map(|o| {
                let vo = &v[o * m..(o + 1) * m];
                // k(x, Z) K⁻¹ v = Σ_i k_i Σ_j K⁻¹_ij v_j.
                let mut acc = R::zero();
                for i in 0..m {
                    let mut a = R::zero();
                    for j in 0..m {
                        a += vo[j] * self.kinv[i + j * m];
                    }
                    acc += kx[i] * a;
                }
                acc
            })
            .collect()
    }
    /// ½ Σ_o v_oᵀ K_ZZ⁻¹ v_o.
    fn penalty<R: Real>(&self, v: &[R]) -> R {
        let m = self.n_inducing();
        let mut acc = R::zero();
        for o in 0..self.n_out {
            let vo = &v[o * m..(o + 1) * m];
            for j in 0..m {
                for i in 0..m {
                    acc += vo[i] * vo[j] * self.kinv[i + j * m];
                }
            }
        }
        acc * 0.5
    }
}

/// A hybrid state-space model whose transition is an explicit Runge–Kutta solve of a
/// mechanistic vector field plus a learned term (see the [module docs](self)).
///
/// The right-hand side's parameters are the `n_phys` physical parameters followed by the
/// `n_inputs` inputs of the current step.
#[derive(Clone, Debug)]
pub struct OdeHybridSsm<F, G> {
    rhs: F,
    n_phys: usize,
    transforms: Vec<Transform>,
    n_inputs: usize,
    learned: G,
    learned_inputs: Vec<usize>,
    learned_rows: Vec<usize>,
    dt: f64,
    substeps: usize,
    tableau: &'static ButcherTableau,
    q: Vec<f64>,
    m: usize,
    h: Vec<f64>,
    r: Vec<f64>,
    m1: Vec<f64>,
    p1: Vec<f64>,
}

impl<F: OdeRhs + Sync, G: LearnedTerm> OdeHybridSsm<F, G> {
    /// A model, checked: `rhs` has `n_phys + n_inputs` parameters; `transforms` has one
    /// entry per physical parameter; the learned term reads `learned_inputs` (state
    /// indices, one per input of `learned`) and adds its outputs to `learned_rows`; the
    /// step is `dt > 0` in `substeps ≥ 1` RK4 steps; Q (`n x n`), H (`m x n`), R
    /// (`m x m`), m₁, P₁ are column-major.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rhs: F,
        n_phys: usize,
        transforms: Vec<Transform>,
        n_inputs: usize,
        learned: G,
        learned_inputs: Vec<usize>,
        learned_rows: Vec<usize>,
        dt: f64,
        substeps: usize,
        q: Vec<f64>,
        m: usize,
        h: Vec<f64>,
        r: Vec<f64>,
        m1: Vec<f64>,
        p1: Vec<f64>,
    ) -> Result<Self> {
        let n = rhs.n_states();
        let bad = |message: String| Error::InvalidArgument {
            op: "OdeHybridSsm",
            message,
        };
        if rhs.n_params() != n_phys + n_inputs {
            return Err(bad(format!(
                "the right-hand side has {} parameters; expected {n_phys} physical + {n_inputs} inputs",
                rhs.n_params()
            )));
        }
        if transforms.len() != n_phys {
            return Err(bad(format!(
                "{} transforms for {n_phys} physical parameters",
                transforms.len()
            )));
        }
        if learned_inputs.len() != learned.n_in() || learned_rows.len() != learned.n_out() {
            return Err(bad(format!(
                "the learned term maps {} inputs to {} outputs, but learned_inputs has {} and learned_rows {} entries",
                learned.n_in(),
                learned.n_out(),
                learned_inputs.len(),
                learned_rows.len()
            )));
        }
        if let Some(&i) = learned_inputs
            .iter()
            .chain(&learned_rows)
            .find(|&&i| i >= n)
        {
            return Err(bad(format!("state index {i} is out of range (n = {n})")));
        }
        if !(dt > 0.0 && dt.is_finite()) || substeps == 0 {
            return Err(bad(format!(
                "need dt > 0 and substeps ≥ 1, got dt = {dt}, substeps = {substeps}"
            )));
        }
        for (arg, v, len) in [
            ("q", &q, n * n),
            ("h", &h, m * n),
            ("r", &r, m * m),
            ("m1", &m1, n),
            ("p1", &p1, n * n),
        ] {
            if v.len() != len {
                return Err(Error::ShapeMismatch {
                    op: "OdeHybridSsm",
                    arg,
                    expected: format!("len {len}"),
                    found: format!("len {}", v.len()),
                });
            }
        }
        Ok(Self {
            rhs,
            n_phys,
            transforms,
            n_inputs,
            learned,
            learned_inputs,
            learned_rows,
            dt,
            substeps,
            tableau: &RK4,
            q,
            m,
            h,
            r,
            m1,
            p1,
        })
    }

    /// The same model stepping with another explicit tableau (e.g.
    /// `mechml_engine::ode::tableau::DOPRI5`); its embedded error estimate is not used.
    pub fn with_tableau(mut self, tableau: &'static ButcherTableau) -> Result<Self> {
        tableau.validate()?;
        if tableau.a.iter().enumerate().any(|(i, row)| row.len() > i) {
            return Err(Error::InvalidArgument {
                op: "OdeHybridSsm",
                message: format!("tableau {} is not explicit", tableau.name),
            });
        }
        self.tableau = tableau;
        Ok(self)
    }

    /// Number of parameters θ (physical, then learned).
    pub fn n_params(&self) -> usize {
        self.n_phys + self.learned.n_params()
    }

    /// The learned term.
    pub fn learned(&self) -> &G {
        &self.learned
    }

    /// θ from physical parameters (natural scale) and learned weights.
    pub fn theta(&self, physical: &[f64], weights: &[f64]) -> Result<Vec<f64>> {
        if physical.len() != self.n_phys || weights.len() != self.learned.n_params() {
            return Err(Error::ShapeMismatch {
                op: "OdeHybridSsm::theta",
                arg: "physical, weights",
                expected: format!("{} and {}", self.n_phys, self.learned.n_params()),
                found: format!("{} and {}", physical.len(), weights.len()),
            });
        }
        let mut th = Vec::with_capacity(self.n_params());
        for (i, (&p, t)) in physical.iter().zip(&self.transforms).enumerate() {
            if *t == Transform::Log && !(p > 0.0 && p.is_finite()) {
                return Err(Error::InvalidArgument {
                    op: "OdeHybridSsm::theta",
                    message: format!("physical parameter {i} is {p} (must be positive)"),
                });
            }
            th.push(match t {
                Transform::Identity => p,
                t => t.to_unconstrained("OdeHybridSsm::theta", &format!("physical[{i}]"), p)?,
            });
        }
        th.extend_from_slice(weights);
        Ok(th)
    }

    /// The physical parameters (natural scale) of θ.
    pub fn physical<R: Real>(&self, theta: &[R]) -> Vec<R> {
        theta[..self.n_phys]
            .iter()
            .zip(&self.transforms)
            .map(|(&z, t)| t.to_natural(z))
            .collect()
    }

    /// The learned weights of θ.
    pub fn weights<'a, R>(&self, theta: &'a [R]) -> &'a [R] {
        &theta[self.n_phys..]
    }

    /// The hybrid vector field f(t, x; p, u) + S g_w(x_𝓘) at time `time`.
    pub fn vector_field<R: Real>(&self, theta: &[R], time: f64, x: &[R], u: &[f64]) -> Vec<R> {
        let n = self.rhs.n_states();
        let mut p = self.physical(theta);
        p.extend((0..self.n_inputs).map(|i| R::from_f64(u.get(i).copied().unwrap_or(0.0))));
        let mut dx = vec![R::zero(); n];
        self.rhs.rhs(R::from_f64(time), x, &p, &mut dx);
        let xi: Vec<R> = self.learned_inputs.iter().map(|&i| x[i]).collect();
        let g = self.learned.eval(self.weights(theta), &xi);
        for (&row, gk) in self.learned_rows.iter().zip(g) {
            dx[row] += gk;
        }
        dx
    }

    /// Ψ: the state after one step Δt from x at step t (time t·Δt), by `substeps`
    /// explicit Runge–Kutta steps of the hybrid vector field with u held.
    pub fn step<R: Real>(&self, theta: &[R], t: usize, x: &[R], u: &[f64]) -> Vec<R> {
        let n = x.len();
        let tab = self.tableau;
        let s = tab.b.len();
        let h = self.dt / self.substeps as f64;
        let mut y = x.to_vec();
        let mut k: Vec<Vec<R>> = vec![Vec::new(); s];
        let t0 = t as f64 * self.dt;
        for sub in 0..self.substeps {
            let ts = t0 + sub as f64 * h;
            for i in 0..s {
                let mut yi = y.clone();
                for (j, &a) in tab.a[i].iter().enumerate() {
                    if a != 0.0 {
                        for m in 0..n {
                            yi[m] += k[j][m] * (h * a);
                        }
                    }
                }
                k[i] = self.vector_field(theta, ts + tab.c[i] * h, &yi, u);
            }
            for (i, &b) in tab.b.iter().enumerate() {
                if b != 0.0 {
                    for m in 0..n {
                        y[m] += k[i][m] * (h * b);
                    }
                }
            }
        }
        y
    }
}

impl<F: OdeRhs + Sync, G: LearnedTerm> NonlinearSsm for OdeHybridSsm<F, G> {
    fn n_state(&self) -> usize {
        self.rhs.n_states()
    }
    fn n_obs(&self) -> usize {
        self.m
    }
    fn transition<R: Real>(&self, theta: &[R], t: usize, x: &[R], u: &[f64]) -> Vec<R> {
        self.step(theta, t, x, u)
    }
    fn observation<R: Real>(&self, _: &[R], _t: usize, x: &[R]) -> Vec<R> {
        let n = self.rhs.n_states();
        affine(&self.h, self.m, &x[..n], None)
    }
    fn process_cov<R: Real>(&self, _: &[R], _t: usize) -> Vec<R> {
        constants(&self.q)
    }
    fn obs_cov<R: Real>(&self, _: &[R], _t: usize) -> Vec<R> {
        constants(&self.r)
    }
    fn prior<R: Real>(&self, _: &[R]) -> (Vec<R>, Vec<R>) {
        (constants(&self.m1), constants(&self.p1))
    }
}

/// The objective of [`fit_hybrid_ode`] at θ, −ℓ_UKF(θ) + ridge · penalty(w), and its
/// gradient (one tape).
pub fn hybrid_objective_grad<F: OdeRhs + Sync, G: LearnedTerm>(
    model: &OdeHybridSsm<F, G>,
    theta: &[f64],
    data: &Observations,
    ridge: f64,
    tape: &mut Tape,
) -> Result<(f64, Vec<f64>)> {
    if theta.len() != model.n_params() {
        return Err(Error::ShapeMismatch {
            op: "fit_hybrid_ode",
            arg: "theta",
            expected: format!("len {}", model.n_params()),
            found: format!("len {}", theta.len()),
        });
    }
    tape.clear();
    let tape: &Tape = tape;
    let th = tape.vars(theta);
    let out = ukf(model, &th, data, &UkfOptions::default())?;
    let pen = model.learned.penalty(model.weights(&th));
    let obj = pen * ridge - out.loglik;
    let g = tape.gradient(&obj)?;
    Ok((obj.val(), g.wrt_slice(&th)))
}

/// Fits θ = (physical parameters, learned weights) jointly from `theta0` (see
/// [`OdeHybridSsm::theta`]) by minimising −ℓ_UKF(θ) + ridge · penalty(w) with L-BFGS
/// (scaled by the number of observed values). Points where the filter fails (e.g. a
/// diverging trial step) count as a large objective, so the line search backs off.
pub fn fit_hybrid_ode<F: OdeRhs + Sync, G: LearnedTerm>(
    model: &OdeHybridSsm<F, G>,
    data: &Observations,
    theta0: &[f64],
    ridge: f64,
    lbfgs_opts: &LbfgsOptions,
) -> Result<OptimResult> {
    let mut tape = Tape::with_capacity(1 << 16);
    let scale = 1.0 / data.n_observed().max(1) as f64;
    // Check the start once, so that a bad start is an error rather than a silent plateau.
    hybrid_objective_grad(model, theta0, data, ridge, &mut tape)?;
    let objective = |th: &[f64]| -> Result<(f64, Vec<f64>)> {
        match hybrid_objective_grad(model, th, data, ridge, &mut tape) {
            Ok((v, g)) if v.is_finite() && g.iter().all(|x| x.is_finite()) => {
                Ok((v * scale, g.iter().map(|x| x * scale).collect()))
            }
            _ => Ok((1e30, vec![0.0; th.len()])),
        }
    };
    lbfgs(objective, theta0, lbfgs_opts)
}
