//! A Bayesian model on the natural scale — named parameters with constraints and priors,
//! and a likelihood written once over [`Real`] — as a log density on the unconstrained
//! scale:
//!
//! `ln p(z | y) = ln L(θ(z)) + Σ_i ln π_i(θ_i(z)) + ln |det ∂θ/∂z| + const`
//!
//! (the change of variables of Carpenter et al. 2017, J. Stat. Softw. 76(1), §3; Stan
//! Reference Manual, "Constraint Transforms"). [`Model::likelihood_only`] drops priors
//! and Jacobian: the log-likelihood, whose maximiser and profile do not depend on the
//! parametrisation.

use serde::{Deserialize, Serialize};

use super::density::RealLogDensity;
use super::prior::Prior;
use super::transform::Constraint;
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::param::Transform;

/// A log-likelihood (or any extra log-density term, such as a user prior or a
/// hierarchical term) on the natural scale, written once over [`Real`].
pub trait Likelihood {
    /// `ln L(θ)` for the natural-scale parameters `θ` (in the order of the model's
    /// parameters, vector parameters expanded).
    fn log_likelihood<R: Real>(&self, theta: &[R]) -> Result<R>;
}

/// One model parameter: a name, its length (1 for a scalar), its constraint and the prior
/// of each entry (i.i.d.; [`Prior::Flat`] for none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Name; vector entries are reported as `name[i]`.
    pub name: String,
    /// Number of entries.
    pub len: usize,
    /// Constraint.
    pub constraint: Constraint,
    /// Prior of each entry.
    pub prior: Prior,
}

impl ParamSpec {
    /// A scalar with this prior, constrained to the prior's support
    /// ([`Prior::default_transform`]).
    pub fn new(name: impl Into<String>, prior: Prior) -> Self {
        Self {
            name: name.into(),
            len: 1,
            constraint: Constraint::Elementwise(prior.default_transform()),
            prior,
        }
    }
    /// A scalar with an explicit transform.
    pub fn with_transform(name: impl Into<String>, transform: Transform, prior: Prior) -> Self {
        Self {
            name: name.into(),
            len: 1,
            constraint: Constraint::Elementwise(transform),
            prior,
        }
    }
    /// A vector of `len` i.i.d. entries with this prior (constrained to its support).
    pub fn vector(name: impl Into<String>, len: usize, prior: Prior) -> Self {
        Self {
            len,
            ..Self::new(name, prior)
        }
    }
    /// A vector with another constraint (ordered, simplex).
    pub fn constrained(
        name: impl Into<String>,
        len: usize,
        constraint: Constraint,
        prior: Prior,
    ) -> Self {
        Self {
            name: name.into(),
            len,
            constraint,
            prior,
        }
    }

    fn names(&self) -> Vec<String> {
        if self.len == 1 && !matches!(self.constraint, Constraint::Simplex) {
            vec![self.name.clone()]
        } else {
            (0..self.len)
                .map(|i| format!("{}[{i}]", self.name))
                .collect()
        }
    }
}

/// Which terms a [`Model`] includes in its log density.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The priors.
    pub prior: bool,
    /// The log-Jacobian of the constraint transforms.
    pub jacobian: bool,
}

/// A model on the natural scale, seen as a [`RealLogDensity`] on the unconstrained scale
/// (wrap it in [`TapeDensity`](super::TapeDensity) to sample it or fit it).
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::infer::{Likelihood, Model, ParamSpec, Prior, RealLogDensity};
/// use mechml_engine::Result;
///
/// #[derive(Clone)]
/// struct Obs(Vec<f64>);
/// impl Likelihood for Obs {
///     fn log_likelihood<R: Real>(&self, th: &[R]) -> Result<R> {
///         let (mu, sigma) = (th[0], th[1]);
///         let mut ll = R::zero();
///         for &y in &self.0 {
///             ll += mechml_engine::infer::prior::normal_lpdf(R::from_f64(y), mu, sigma);
///         }
///         Ok(ll)
///     }
/// }
/// let model = Model::new(
///     vec![
///         ParamSpec::new("mu", Prior::Normal { mu: 0.0, sigma: 10.0 }),
///         ParamSpec::new("sigma", Prior::HalfNormal { sigma: 2.0 }), // log transform
///     ],
///     Obs(vec![1.0, 2.0]),
/// )?;
/// assert_eq!(model.dim(), 2);
/// let z = model.unconstrain(&[1.5, 0.5])?;
/// assert!((z[1] - 0.5f64.ln()).abs() < 1e-15);
/// assert_eq!(model.constrain(&z)?, vec![1.5, 0.5]);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Model<L> {
    params: Vec<ParamSpec>,
    likelihood: L,
    terms: Terms,
    n_free: usize,
    n_natural: usize,
}

impl<L> Model<L> {
    /// A model with these parameters and likelihood; checks that names are unique, priors
    /// valid, and each prior's support covers the parameter's range (a half-normal prior
    /// on an unconstrained parameter is an error naming it).
    pub fn new(params: Vec<ParamSpec>, likelihood: L) -> Result<Self> {
        let op = "Model::new";
        let mut seen = std::collections::HashSet::new();
        for p in &params {
            if !seen.insert(p.name.as_str()) {
                return Err(Error::invalid_option(op, "name", &p.name, "unique names"));
            }
            if p.len == 0 {
                return Err(Error::invalid_option(
                    op,
                    format!("{}.len", p.name),
                    0,
                    "at least 1",
                ));
            }
            p.prior.validate(&p.name)?;
            let range = match p.constraint {
                Constraint::Elementwise(t) => {
                    t.validate(op, &p.name)?;
                    t.support()
                }
                Constraint::Ordered => (f64::NEG_INFINITY, f64::INFINITY),
                Constraint::Simplex => {
                    if p.len < 2 {
                        return Err(Error::invalid_option(
                            op,
                            format!("{}.len", p.name),
                            p.len,
                            "at least 2 for a simplex",
                        ));
                    }
                    (0.0, 1.0)
                }
            };
            let (lo, hi) = p.prior.support();
            if range.0 < lo || range.1 > hi {
                return Err(Error::invalid_option(
                    op,
                    format!("{}.prior", p.name),
                    format!("{:?} (support [{lo}, {hi}])", p.prior),
                    format!(
                        "a prior whose support covers the parameter's range [{}, {}] \
                         (choose a transform such as {:?})",
                        range.0,
                        range.1,
                        p.prior.default_transform()
                    ),
                ));
            }
        }
        let n_free = params.iter().map(|p| p.constraint.free_len(p.len)).sum();
        let n_natural = params.iter().map(|p| p.len).sum();
        Ok(Self {
            params,
            likelihood,
            terms: Terms {
                prior: true,
                jacobian: true,
            },
            n_free,
            n_natural,
        })
    }

    /// The same model with only the log-likelihood (no priors, no log-Jacobian): for
    /// maximum likelihood and profile likelihood.
    pub fn likelihood_only(mut self) -> Self {
        self.terms = Terms {
            prior: false,
            jacobian: false,
        };
        self
    }

    /// The same model with these terms.
    pub fn with_terms(mut self, terms: Terms) -> Self {
        self.terms = terms;
        self
    }

    /// The parameters.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// The likelihood.
    pub fn likelihood(&self) -> &L {
        &self.likelihood
    }

    /// Number of natural-scale entries (vector parameters expanded).
    pub fn n_natural(&self) -> usize {
        self.n_natural
    }

    /// Natural-scale names (`name` or `name[i]`).
    pub fn names(&self) -> Vec<String> {
        self.params.iter().flat_map(|p| p.names()).collect()
    }

    /// The unconstrained coordinates of natural-scale values `theta`; an error names the
    /// entry outside its constraint.
    pub fn unconstrain(&self, theta: &[f64]) -> Result<Vec<f64>> {
        crate::error::check_len("Model::unconstrain", "theta", theta.len(), self.n_natural)?;
        let mut z = Vec::with_capacity(self.n_free);
        let mut at = 0;
        for p in &self.params {
            z.extend(
                p.constraint
                    .to_unconstrained(&p.name, &theta[at..at + p.len])?,
            );
            at += p.len;
        }
        Ok(z)
    }

    /// Natural-scale values at `z`, and the total log-Jacobian.
    pub fn natural<R: Real>(&self, z: &[R]) -> Result<(Vec<R>, R)> {
        crate::error::check_len("Model::natural", "z", z.len(), self.n_free)?;
        let mut theta = Vec::with_capacity(self.n_natural);
        let mut buf = Vec::new();
        let mut lj = R::zero();
        let mut at = 0;
        for p in &self.params {
            let k = p.constraint.free_len(p.len);
            lj += p.constraint.to_natural(&z[at..at + k], &mut buf);
            theta.extend_from_slice(&buf);
            at += k;
        }
        Ok((theta, lj))
    }

    /// Sum of the priors' log densities at natural-scale `theta`.
    pub fn log_prior<R: Real>(&self, theta: &[R]) -> R {
        let mut lp = R::zero();
        let mut at = 0;
        for p in &self.params {
            if !matches!(p.prior, Prior::Flat) {
                for &t in &theta[at..at + p.len] {
                    lp += p.prior.log_pdf(t);
                }
            }
            at += p.len;
        }
        lp
    }

    /// One draw of the natural-scale parameters from the priors (an error if a prior is
    /// flat, or for ordered and simplex parameters, whose joint prior is not i.i.d.).
    pub fn sample_prior<G: rand::Rng + ?Sized>(&self, rng: &mut G) -> Result<Vec<f64>> {
        let mut theta = Vec::with_capacity(self.n_natural);
        for p in &self.params {
            if !matches!(p.constraint, Constraint::Elementwise(_)) {
                return Err(Error::Unsupported {
                    op: "Model::sample_prior",
                    reason: format!("parameter `{}` is ordered or a simplex", p.name),
                });
            }
            for _ in 0..p.len {
                theta.push(p.prior.sample(rng)?);
            }
        }
        Ok(theta)
    }
}

impl<L: Likelihood> RealLogDensity for Model<L> {
    fn dim(&self) -> usize {
        self.n_free
    }

    fn log_density<R: Real>(&self, z: &[R]) -> Result<R> {
        let (theta, lj) = self.natural(z)?;
        let mut lp = self.likelihood.log_likelihood(&theta)?;
        if self.terms.prior {
            lp += self.log_prior(&theta);
        }
        if self.terms.jacobian {
            lp += lj;
        }
        Ok(lp)
    }

    fn param_names(&self) -> Vec<String> {
        self.names()
    }

    fn constrain(&self, z: &[f64]) -> Result<Vec<f64>> {
        Ok(self.natural(z)?.0)
    }
}
