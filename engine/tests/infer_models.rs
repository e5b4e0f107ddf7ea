//! NUTS on models with independent answers: eight schools (non-centred) without
//! divergences; a conjugate normal–inverse-gamma model against its closed-form posterior
//! moments; a logistic regression against a long NumPyro run (stored with provenance);
//! simulation-based calibration (Talts et al. 2018, arXiv:1804.06788) on a small model
//! with a chi-square test of the ranks; the posterior's serde JSON round trip and
//! predictive draws.

mod infer_common;

use infer_common::check_expectation;
use mechml_engine::Result;
use mechml_engine::ad::Real;
use mechml_engine::infer::prior::normal_lpdf;
use mechml_engine::infer::{
    Likelihood, Model, NutsOptions, ParamSpec, Posterior, Prior, TapeDensity, sample,
};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::Value;

#[derive(Clone)]
struct EightSchools {
    y: Vec<f64>,
    sigma: Vec<f64>,
}

impl Likelihood for EightSchools {
    /// θ = (mu, tau, theta_tilde[0..8]); theta_j = mu + tau theta_tilde_j.
    fn log_likelihood<R: Real>(&self, th: &[R]) -> Result<R> {
        let (mu, tau) = (th[0], th[1]);
        let mut ll = R::zero();
        for (j, (&y, &s)) in self.y.iter().zip(&self.sigma).enumerate() {
            ll += normal_lpdf(R::from_f64(y), mu + tau * th[2 + j], R::from_f64(s));
        }
        Ok(ll)
    }
}

fn eight_schools() -> EightSchools {
    let v: Value = serde_json::from_str(include_str!("data/eight_schools.json")).unwrap();
    let read = |k: &str| -> Vec<f64> {
        v["data"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    EightSchools {
        y: read("y"),
        sigma: read("sigma"),
    }
}

/// The priors of the normal model with unknown mean and scale: μ ~ N(0, 1),
/// σ ~ LogNormal(0, 0.5).
fn normal_mu_sigma_priors() -> Vec<ParamSpec> {
    vec![
        ParamSpec::new(
            "mu",
            Prior::Normal {
                mu: 0.0,
                sigma: 1.0,
            },
        ),
        ParamSpec::new(
            "sigma",
            Prior::LogNormal {
                mu: 0.0,
                sigma: 0.5,
            },
        ),
    ]
}

#[test]
fn eight_schools_non_centred_has_no_divergences() {
    let model = Model::new(
        vec![
            ParamSpec::new(
                "mu",
                Prior::Normal {
                    mu: 0.0,
                    sigma: 5.0,
                },
            ),
            ParamSpec::new("tau", Prior::HalfCauchy { scale: 5.0 }),
            ParamSpec::vector(
                "theta_tilde",
                8,
                Prior::Normal {
                    mu: 0.0,
                    sigma: 1.0,
                },
            ),
        ],
        eight_schools(),
    )
    .unwrap();
    let opts = NutsOptions {
        n_chains: 4,
        n_warmup: 1000,
        n_draws: 1000,
        adapt: mechml_engine::infer::AdaptOptions {
            target_accept: 0.9,
            ..Default::default()
        },
        seed: 8,
        ..Default::default()
    };
    let post = sample(&TapeDensity::new(model), &opts).unwrap();
    assert_eq!(
        post.diagnostics.divergences, 0,
        "{:?}",
        post.diagnostics.warnings
    );
    assert!(post.summary.max_rhat().unwrap() < 1.01, "{}", post.summary);
    assert!(
        post.summary.min_ess_bulk().unwrap() > 400.0,
        "{}",
        post.summary
    );
    assert_eq!(post.names[..3], ["mu", "tau", "theta_tilde[0]"]);
    // tau is positive on the natural scale.
    assert!(
        post.draws_of("tau")
            .unwrap()
            .iter()
            .flatten()
            .all(|t| *t > 0.0)
    );
}

/// y_i ~ N(μ, σ²), μ | σ² ~ N(μ₀, σ²/κ₀), σ² ~ InvGamma(α₀, β₀).
#[derive(Clone)]
struct Nig {
    y: Vec<f64>,
    mu0: f64,
    kappa0: f64,
}

impl Likelihood for Nig {
    fn log_likelihood<R: Real>(&self, th: &[R]) -> Result<R> {
        let (mu, s2) = (th[0], th[1]);
        let sd = s2.sqrt();
        let mut ll = normal_lpdf(mu, R::from_f64(self.mu0), sd / self.kappa0.sqrt());
        for &y in &self.y {
            ll += normal_lpdf(R::from_f64(y), mu, sd);
        }
        Ok(ll)
    }
}

#[test]
fn normal_inverse_gamma_matches_its_closed_form() {
    let y = vec![2.1, 1.4, 3.3, 2.7, 0.9, 2.2, 1.8, 2.6, 3.1, 1.5, 2.0, 2.4];
    let (mu0, kappa0, alpha0, beta0) = (0.0, 0.5, 3.0, 2.0);
    let n = y.len() as f64;
    let ybar = y.iter().sum::<f64>() / n;
    let ss: f64 = y.iter().map(|v| (v - ybar).powi(2)).sum();
    // Gelman et al., Bayesian Data Analysis (3rd ed.), §3.3.
    let kn = kappa0 + n;
    let mun = (kappa0 * mu0 + n * ybar) / kn;
    let an = alpha0 + n / 2.0;
    let bn = beta0 + 0.5 * ss + kappa0 * n * (ybar - mu0).powi(2) / (2.0 * kn);
    let e_s2 = bn / (an - 1.0);
    let var_s2 = bn * bn / ((an - 1.0).powi(2) * (an - 2.0));
    let var_mu = bn / (kn * (an - 1.0));
    let model = Model::new(
        vec![
            ParamSpec::new("mu", Prior::Flat),
            ParamSpec::new(
                "sigma2",
                Prior::InverseGamma {
                    shape: alpha0,
                    scale: beta0,
                },
            ),
        ],
        Nig { y, mu0, kappa0 },
    )
    .unwrap();
    let opts = NutsOptions {
        n_chains: 4,
        n_warmup: 500,
        n_draws: 1000,
        seed: 21,
        ..Default::default()
    };
    let post = sample(&TapeDensity::new(model), &opts).unwrap();
    assert_eq!(post.diagnostics.divergences, 0);
    check_expectation(&post, "E[mu]", |t| t[0], mun, 4.0);
    check_expectation(&post, "E[sigma2]", |t| t[1], e_s2, 4.0);
    check_expectation(&post, "Var[mu]", |t| (t[0] - mun).powi(2), var_mu, 4.0);
    check_expectation(&post, "Var[sigma2]", |t| (t[1] - e_s2).powi(2), var_s2, 4.0);
}

#[derive(Clone)]
struct Logistic {
    x: Vec<[f64; 3]>,
    y: Vec<f64>,
}

impl Likelihood for Logistic {
    fn log_likelihood<R: Real>(&self, b: &[R]) -> Result<R> {
        let mut ll = R::zero();
        for (x, &y) in self.x.iter().zip(&self.y) {
            let eta = b[0] * x[0] + b[1] * x[1] + b[2] * x[2];
            // y ln σ(η) + (1 − y) ln σ(−η) = y η − softplus(η).
            ll += eta * y - eta.softplus();
        }
        Ok(ll)
    }
}

#[test]
fn logistic_regression_matches_a_long_numpyro_run() {
    let v: Value =
        serde_json::from_str(include_str!("data/infer_logistic_reference.json")).unwrap();
    let y: Vec<f64> = v["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    // The data rule of benches/peers/numpyro_logistic_reference.py.
    let x: Vec<[f64; 3]> = (0..100)
        .map(|i| [1.0, (0.37 * i as f64 + 0.2).sin(), (1.13 * i as f64).cos()])
        .collect();
    for (i, (xi, &yi)) in x.iter().zip(&y).enumerate() {
        let p = 1.0 / (1.0 + (-(0.3 + 1.2 * xi[1] - 0.8 * xi[2])).exp());
        let u = (0.6180339887 * (i + 1) as f64).rem_euclid(1.0);
        assert_eq!(f64::from(u8::from(u < p)), yi, "data rule, row {i}");
    }
    let model = Model::new(
        vec![ParamSpec::vector(
            "beta",
            3,
            Prior::Normal {
                mu: 0.0,
                sigma: 2.5,
            },
        )],
        Logistic { x, y },
    )
    .unwrap();
    let opts = NutsOptions {
        n_chains: 4,
        n_warmup: 500,
        n_draws: 1000,
        seed: 4,
        ..Default::default()
    };
    let post = sample(&TapeDensity::new(model), &opts).unwrap();
    for k in 0..3 {
        let mean = v["mean"][k].as_f64().unwrap();
        let sd = v["sd"][k].as_f64().unwrap();
        // The reference's own MCSE is ~50× smaller than ours: z = 4 on ours.
        check_expectation(&post, &format!("E[beta[{k}]]"), |t| t[k], mean, 4.0);
        check_expectation(
            &post,
            &format!("Var[beta[{k}]]"),
            |t| (t[k] - mean).powi(2),
            sd * sd,
            4.0,
        );
    }
}

/// μ ~ N(0, 1), σ ~ LogNormal(0, 0.5), y_i ~ N(μ, σ), i = 1..5.
#[derive(Clone)]
struct Small {
    y: Vec<f64>,
}

impl Likelihood for Small {
    fn log_likelihood<R: Real>(&self, th: &[R]) -> Result<R> {
        let mut ll = R::zero();
        for &y in &self.y {
            ll += normal_lpdf(R::from_f64(y), th[0], th[1]);
        }
        Ok(ll)
    }
}

#[test]
fn simulation_based_calibration_ranks_are_uniform() {
    // Talts et al. (2018), Alg. 1: θ̃ ~ prior, ỹ ~ p(y | θ̃), L posterior draws, rank of θ̃
    // among them. L = 99 draws (every second of 198) give ranks 0..=99, pooled into 10
    // bins of 10; under calibration each bin count ~ Binomial(N, 1/10) and the Pearson
    // statistic is χ²₉. Critical value χ²₉(0.999) = 27.877 (false-alarm rate 10⁻³ per
    // parameter; the run is seeded, so the outcome is deterministic).
    let params = normal_mu_sigma_priors();
    let n_sims = 200;
    let (l, thin) = (99usize, 2usize);
    let mut bins = [[0usize; 10]; 2];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1804);
    for s in 0..n_sims {
        let prior_model = Model::new(params.clone(), Small { y: vec![] }).unwrap();
        let truth = prior_model.sample_prior(&mut rng).unwrap();
        let y: Vec<f64> = (0..5)
            .map(|_| {
                let e: f64 = StandardNormal.sample(&mut rng);
                truth[0] + truth[1] * e
            })
            .collect();
        let model = Model::new(params.clone(), Small { y }).unwrap();
        let opts = NutsOptions {
            n_chains: 1,
            n_warmup: 300,
            n_draws: l * thin,
            seed: 10_000 + s as u64,
            parallel: false,
            ..Default::default()
        };
        let post = sample(&TapeDensity::new(model), &opts).unwrap();
        for (k, b) in bins.iter_mut().enumerate() {
            let draws = &post.param_chains(k)[0];
            let rank = draws
                .iter()
                .step_by(thin)
                .filter(|&&d| d < truth[k])
                .count();
            b[rank / 10] += 1;
        }
    }
    for (k, b) in bins.iter().enumerate() {
        let e = n_sims as f64 / 10.0;
        let chi2: f64 = b.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 27.877, "parameter {k}: bins {b:?}, chi2 = {chi2}");
    }
}

#[test]
fn posterior_round_trips_through_json_and_predicts() {
    let model = Model::new(
        normal_mu_sigma_priors(),
        Small {
            y: vec![0.3, -0.2, 0.8],
        },
    )
    .unwrap();
    let opts = NutsOptions {
        n_chains: 2,
        n_warmup: 200,
        n_draws: 100,
        seed: 2,
        ..Default::default()
    };
    let post = sample(&TapeDensity::new(model), &opts).unwrap();
    let json = serde_json::to_string(&post).unwrap();
    let back: Posterior = serde_json::from_str(&json).unwrap();
    assert!(back == post, "the posterior changed in a JSON round trip");
    assert!(json.contains("\"summary\"") && json.contains("\"diagnostics\""));
    let text = post.summary.to_string();
    assert!(
        text.contains("mu") && text.contains("ess_bulk") && text.contains("rhat"),
        "{text}"
    );

    // Predictive draws: y_rep ~ N(mu, sigma), one per posterior draw, reproducible.
    let pred = |seed| {
        post.predictive(seed, |th, rng| {
            let e: f64 = StandardNormal.sample(rng);
            Ok(th[0] + th[1] * e)
        })
        .unwrap()
    };
    let (a, b) = (pred(5), pred(5));
    assert_eq!(a, b);
    assert_eq!(a.len(), 200);
    assert_ne!(a, pred(6));
}
