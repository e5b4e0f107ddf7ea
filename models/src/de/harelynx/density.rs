//! The Lotka–Volterra model of the pelts with log-normal noise as an `engine::infer`
//! log density (Carpenter 2018, "Predator-prey population dynamics: the Lotka-Volterra
//! model in Stan", Stan case study):
//!
//! $$u' = (α − βv)u,\qquad v' = (−γ + δu)v,\qquad z(0) = (u_0, v_0),$$
//! $$\ln y_{k,i} \sim \mathrm{Normal}(\ln z_i(t_k), σ_i),\quad k = 0, …, N,\ i ∈ \{\text{hare}, \text{lynx}\}.$$
//!
//! The eight natural-scale parameters `θ = (α, β, γ, δ, u₀, v₀, σ_hare, σ_lynx)` are all
//! positive and sampled on the log scale (`θ = e^z`); with priors, the log density on `z`
//! is `ln L(θ) + Σ ln π(θᵢ) + Σ zᵢ` (the change of variables of
//! [`Model`]). The ODE solve is one tape block whose
//! pullback uses forward sensitivities (six directions: four rates, two initial states),
//! so the gradient is exact for the computed solution.

use mechml_engine::ad::{Adjoints, Real, Tape, Var};
use mechml_engine::infer::prior::normal_lpdf;
use mechml_engine::infer::{LogDensity, Model, ParamSpec, Prior, is_recoverable};
use mechml_engine::ode::problems::LotkaVolterra;
use mechml_engine::ode::{
    Method, OdeOptions, OdeProblem, Sensitivity, TapeProblem, solve, solve_on_tape,
};
use mechml_engine::param::Transform;
use mechml_engine::solver::SaveAt;
use mechml_engine::{Error, Result};

use super::data::Pelts;
use crate::de::SolverSettings;

/// Natural-scale parameter names, in order.
pub const PARAM_NAMES: [&str; 8] = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "u0",
    "v0",
    "sigma_hare",
    "sigma_lynx",
];

/// The priors of the eight parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LvPriors {
    /// Prey growth α and predator death γ (each).
    pub alpha_gamma: Prior,
    /// Interaction rates β and δ (each).
    pub beta_delta: Prior,
    /// Initial populations u₀, v₀ (each).
    pub initial: Prior,
    /// Noise scales σ_hare, σ_lynx (each).
    pub sigma: Prior,
}

impl Default for LvPriors {
    /// The weakly informative priors of Carpenter (2018), §"Prior distributions" and the
    /// Stan program there: α, γ ~ Normal(1, 0.5) and β, δ ~ Normal(0.05, 0.05), truncated
    /// at 0 by the positivity constraint; u₀, v₀ ~ LogNormal(ln 10, 1); σ ~ LogNormal(−1, 1).
    fn default() -> Self {
        Self {
            alpha_gamma: Prior::Normal {
                mu: 1.0,
                sigma: 0.5,
            },
            beta_delta: Prior::Normal {
                mu: 0.05,
                sigma: 0.05,
            },
            initial: Prior::LogNormal {
                mu: 10f64.ln(),
                sigma: 1.0,
            },
            sigma: Prior::LogNormal {
                mu: -1.0,
                sigma: 1.0,
            },
        }
    }
}

impl LvPriors {
    /// The model's parameters: every one positive, on the log scale, with these priors.
    ///
    /// # Errors
    /// An invalid prior, or one whose support does not cover `(0, ∞)`.
    pub fn params(&self) -> Result<Model<()>> {
        let p = |i: usize, prior: &Prior| {
            ParamSpec::with_transform(PARAM_NAMES[i], Transform::Log, *prior)
        };
        Model::new(
            vec![
                p(0, &self.alpha_gamma),
                p(1, &self.beta_delta),
                p(2, &self.alpha_gamma),
                p(3, &self.beta_delta),
                p(4, &self.initial),
                p(5, &self.initial),
                p(6, &self.sigma),
                p(7, &self.sigma),
            ],
            (),
        )
    }
}

/// The solver settings of the model: Dormand–Prince 5(4) (Stan's `rk45`) at
/// rtol = atol = 1e-8 (tighter than the case study's 1e-6/1e-5, so that solver error is
/// far below the posterior's spread), at most 100,000 steps per solve, forward
/// sensitivities.
pub fn default_solver() -> SolverSettings {
    SolverSettings {
        method: Method::Dopri5,
        rtol: 1e-8,
        atol: 1e-8,
        max_steps: 100_000,
        sensitivity: Sensitivity::Forward,
    }
}

/// `z(t)` at `ts` (the first is the start, 0) for natural-scale `theta` (the first six
/// entries are used): `[u(t_k), v(t_k)]` per time.
///
/// # Errors
/// Invalid times or parameters, or a solver failure (too many steps, a non-finite state).
pub fn solve_lv(theta: &[f64], ts: &[f64], solver: &SolverSettings) -> Result<Vec<[f64; 2]>> {
    mechml_engine::error::check_len("harelynx::solve_lv", "theta", theta.len().min(6), 6)?;
    let t_end = ts.last().copied().unwrap_or(0.0);
    let prob = OdeProblem::new(
        LotkaVolterra,
        0.0,
        t_end,
        theta[4..6].to_vec(),
        theta[..4].to_vec(),
    )?;
    let opts = OdeOptions::with_tol(solver.rtol, solver.atol)
        .saving(SaveAt::Times(ts.to_vec()))
        .max_steps(solver.max_steps);
    let sol = solve(&prob, solver.method, &opts)?;
    Ok(sol.ys.iter().map(|y| [y[0], y[1]]).collect())
}

/// The log density of the model on the unconstrained scale `z = ln θ` (dimension 8):
/// the log-likelihood alone ([`LvDensity::likelihood`], for maximum likelihood, Laplace
/// and profile intervals) or the log posterior with priors and log-Jacobian
/// ([`LvDensity::posterior`], for NUTS). Parameters where the solve fails (too many
/// steps, a non-finite or non-positive state) have density 0 (`−∞`): samplers reject
/// them as divergent and optimisers step back.
pub struct LvDensity {
    params: Model<()>,
    with_prior: bool,
    ts: Vec<f64>,
    log_y: [Vec<f64>; 2],
    sum_log_y: f64,
    solver: SolverSettings,
    tape: Tape,
    adj: Adjoints,
}

impl Clone for LvDensity {
    /// A copy with a fresh tape.
    fn clone(&self) -> Self {
        Self {
            params: self.params.clone(),
            with_prior: self.with_prior,
            ts: self.ts.clone(),
            log_y: self.log_y.clone(),
            sum_log_y: self.sum_log_y,
            solver: self.solver,
            tape: Tape::new(),
            adj: Adjoints::default(),
        }
    }
}

impl LvDensity {
    fn build(
        data: &Pelts,
        priors: &LvPriors,
        solver: SolverSettings,
        with_prior: bool,
    ) -> Result<Self> {
        let op = "harelynx::LvDensity";
        if !(solver.rtol > 0.0 && solver.atol > 0.0 && solver.max_steps > 0) {
            return Err(Error::invalid_option(
                op,
                "solver",
                format!("{solver:?}"),
                "positive tolerances and step bound",
            ));
        }
        let log_y: [Vec<f64>; 2] = [
            data.hare().iter().map(|v| v.ln()).collect(),
            data.lynx().iter().map(|v| v.ln()).collect(),
        ];
        Ok(Self {
            params: priors.params()?,
            with_prior,
            ts: data.times(),
            sum_log_y: log_y.iter().flatten().sum(),
            log_y,
            solver,
            tape: Tape::new(),
            adj: Adjoints::default(),
        })
    }

    /// The log-likelihood `ln L(e^z)` of `data` (no priors, no Jacobian).
    ///
    /// # Errors
    /// Invalid solver settings.
    pub fn likelihood(data: &Pelts, solver: SolverSettings) -> Result<Self> {
        Self::build(data, &LvPriors::default(), solver, false)
    }

    /// The log posterior `ln L(e^z) + Σ ln π(e^{zᵢ}) + Σ zᵢ` of `data` under `priors`.
    ///
    /// # Errors
    /// Invalid priors or solver settings.
    pub fn posterior(data: &Pelts, priors: &LvPriors, solver: SolverSettings) -> Result<Self> {
        Self::build(data, priors, solver, true)
    }

    /// The model times `t_k`.
    pub fn times(&self) -> &[f64] {
        &self.ts
    }

    /// The solver settings.
    pub fn solver(&self) -> &SolverSettings {
        &self.solver
    }

    /// `z = ln θ` for natural-scale `θ` (an error names a non-positive entry).
    ///
    /// # Errors
    /// A wrong length or an entry `≤ 0`.
    pub fn unconstrain(&self, theta: &[f64]) -> Result<Vec<f64>> {
        self.params.unconstrain(theta)
    }
}

impl LogDensity for LvDensity {
    fn dim(&self) -> usize {
        8
    }

    fn log_density_grad(&mut self, z: &[f64], grad: &mut [f64]) -> Result<f64> {
        let op = "harelynx::LvDensity";
        mechml_engine::error::check_len(op, "z", z.len(), 8)?;
        mechml_engine::error::check_len(op, "grad", grad.len(), 8)?;
        self.tape.clear();
        let tape: &Tape = &self.tape;
        let zv = tape.vars(z);
        let (th, log_jac) = self.params.natural(&zv)?;
        let p = tape.stack(&th[..4])?;
        let y0 = tape.stack(&th[4..6])?;
        let t_end = self.ts.last().copied().unwrap_or(0.0);
        let opts = OdeOptions::with_tol(self.solver.rtol, self.solver.atol)
            .saving(SaveAt::Times(self.ts.clone()))
            .max_steps(self.solver.max_steps);
        let sol = match solve_on_tape(
            tape,
            TapeProblem::new(LotkaVolterra, 0.0, t_end, &y0, &p),
            self.solver.method,
            &opts,
            self.solver.sensitivity,
        ) {
            Ok(s) => s,
            Err(e) if is_recoverable(&e) => {
                grad.fill(0.0);
                return Ok(f64::NEG_INFINITY);
            }
            Err(e) => return Err(e),
        };
        if sol
            .states
            .values()
            .iter()
            .any(|v| !(v.is_finite() && *v > 0.0))
        {
            grad.fill(0.0);
            return Ok(f64::NEG_INFINITY);
        }
        // ln LogNormal(y | ln z, σ) = ln Normal(ln y | ln z, σ) − ln y.
        let mut lp = Var::constant(-self.sum_log_y);
        for k in 0..self.ts.len() {
            let zk = sol.state(k);
            for i in 0..2 {
                lp += normal_lpdf(Var::constant(self.log_y[i][k]), zk[i].ln(), th[6 + i]);
            }
        }
        if self.with_prior {
            lp += self.params.log_prior(&th) + log_jac;
        }
        let value = lp.val();
        if !value.is_finite() {
            grad.fill(0.0);
            return Ok(f64::NEG_INFINITY);
        }
        tape.gradient_into(&lp, &mut self.adj)?;
        for (g, v) in grad.iter_mut().zip(&zv) {
            *g = self.adj.wrt(v);
        }
        Ok(value)
    }

    fn param_names(&self) -> Vec<String> {
        PARAM_NAMES.iter().map(|s| s.to_string()).collect()
    }

    fn constrain(&self, z: &[f64]) -> Result<Vec<f64>> {
        Ok(self.params.natural(z)?.0)
    }
}
