//! The Laplace approximation equals the exact posterior of a linear-Gaussian model
//! (closed form by an independent Gauss–Jordan inverse); its failure on a flat
//! direction names the smallest eigenvalue. Profile-likelihood intervals are exact where
//! the log-likelihood is quadratic (normal linear regression with known noise: the
//! interval is β̂ ± z σ_β), have nominal coverage over seeded replicates (binomial
//! tolerance), and are reported open where the profile never crosses the threshold.

mod infer_common;

use infer_common::inverse;
use mechml_engine::ad::Real;
use mechml_engine::infer::prior::normal_lpdf;
use mechml_engine::infer::stats::normal_quantile;
use mechml_engine::infer::{
    Bound, LaplaceOptions, Likelihood, Model, ParamSpec, Prior, ProfileOptions, RealLogDensity,
    TapeDensity, laplace, profile,
};
use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

/// y_i = β₀ + β₁ x_i + β₂ x_i² + ε_i, ε ~ N(0, σ²), σ known.
#[derive(Clone)]
struct Regression {
    x: Vec<f64>,
    y: Vec<f64>,
    sigma: f64,
    p: usize,
}

impl Likelihood for Regression {
    fn log_likelihood<R: Real>(&self, b: &[R]) -> Result<R> {
        let mut ll = R::zero();
        for (&x, &y) in self.x.iter().zip(&self.y) {
            let mut mu = R::zero();
            for (k, &bk) in b.iter().enumerate().take(self.p) {
                mu += bk * x.powi(k as i32);
            }
            ll += normal_lpdf(R::from_f64(y), mu, R::from_f64(self.sigma));
        }
        Ok(ll)
    }
}

fn design(n: usize, p: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| {
            let x = -1.0 + 2.0 * i as f64 / (n - 1) as f64;
            (0..p).map(|k| x.powi(k as i32)).collect()
        })
        .collect()
}

fn simulate(
    n: usize,
    p: usize,
    beta: &[f64],
    sigma: f64,
    rng: &mut Xoshiro256PlusPlus,
) -> Regression {
    let xs: Vec<f64> = (0..n)
        .map(|i| -1.0 + 2.0 * i as f64 / (n - 1) as f64)
        .collect();
    let y = design(n, p)
        .iter()
        .map(|row| {
            let e: f64 = rng.sample(StandardNormal);
            row.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>() + sigma * e
        })
        .collect();
    Regression { x: xs, y, sigma, p }
}

#[test]
fn laplace_is_exact_for_a_linear_gaussian_posterior() {
    let (n, p, sigma, tau) = (30, 3, 0.7, 2.0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let lik = simulate(n, p, &[0.5, -1.0, 2.0], sigma, &mut rng);
    // Posterior precision XᵀX/σ² + I/τ², mean Σ Xᵀy/σ².
    let x = design(n, p);
    let mut prec = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    for (row, &y) in x.iter().zip(&lik.y) {
        for a in 0..p {
            xty[a] += row[a] * y / (sigma * sigma);
            for b in 0..p {
                prec[a * p + b] += row[a] * row[b] / (sigma * sigma);
            }
        }
    }
    for a in 0..p {
        prec[a * p + a] += 1.0 / (tau * tau);
    }
    let cov = inverse(&prec, p);
    let mean: Vec<f64> = (0..p)
        .map(|a| (0..p).map(|b| cov[a * p + b] * xty[b]).sum())
        .collect();

    let model = Model::new(
        vec![ParamSpec::vector(
            "beta",
            p,
            Prior::Normal {
                mu: 0.0,
                sigma: tau,
            },
        )],
        lik,
    )
    .unwrap();
    let lap = laplace(
        &mut TapeDensity::new(model),
        &[0.0; 3],
        &LaplaceOptions::default(),
    )
    .unwrap();
    for a in 0..p {
        assert!(
            (lap.mode[a] - mean[a]).abs() < 1e-7 * (1.0 + mean[a].abs()),
            "mode[{a}]"
        );
        for b in 0..p {
            let e = cov[a * p + b];
            assert!(
                (lap.covariance[a * p + b] - e).abs() < 1e-10 * cov[a * p + a].abs(),
                "cov[{a},{b}]"
            );
        }
    }
    assert_eq!(lap.names, vec!["beta[0]", "beta[1]", "beta[2]"]);
}

#[derive(Clone)]
struct FlatInX0;
impl RealLogDensity for FlatInX0 {
    fn dim(&self) -> usize {
        2
    }
    fn log_density<R: Real>(&self, x: &[R]) -> Result<R> {
        Ok(-(x[1] - 1.0).square() + x[0] * 0.0)
    }
}

#[test]
fn laplace_names_the_smallest_eigenvalue_on_a_flat_direction() {
    let err = laplace(
        &mut TapeDensity::new(FlatInX0),
        &[0.3, 0.0],
        &LaplaceOptions::default(),
    )
    .unwrap_err();
    match err {
        Error::InvalidArgument {
            op: "laplace",
            message,
        } => {
            assert!(message.contains("smallest eigenvalue is 0e0"), "{message}");
            assert!(message.contains("`x[0]`"), "{message}");
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn profile_intervals_are_exact_and_have_nominal_coverage() {
    let (n, p, sigma) = (15, 2, 0.5);
    let beta = [1.0, -0.5];
    let level = 0.9;
    let z = normal_quantile(0.5 + level / 2.0);
    let x = design(n, p);
    let mut xtx = vec![0.0; p * p];
    for row in &x {
        for a in 0..p {
            for b in 0..p {
                xtx[a * p + b] += row[a] * row[b];
            }
        }
    }
    let cov = inverse(&xtx, p); // times σ²
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2024);
    let replicates = 300;
    let mut covered = [0usize; 2];
    let opts = ProfileOptions {
        level,
        ..Default::default()
    };
    for r in 0..replicates {
        let lik = simulate(n, p, &beta, sigma, &mut rng);
        // Least squares by the normal equations (independent of the optimiser).
        let xty: Vec<f64> = (0..p)
            .map(|a| x.iter().zip(&lik.y).map(|(row, y)| row[a] * y).sum())
            .collect();
        let bhat: Vec<f64> = (0..p)
            .map(|a| (0..p).map(|b| cov[a * p + b] * xty[b]).sum())
            .collect();
        let model = Model::new(
            vec![
                ParamSpec::new("a", Prior::Flat),
                ParamSpec::new("b", Prior::Flat),
            ],
            lik,
        )
        .unwrap()
        .likelihood_only();
        let prof = profile(&mut TapeDensity::new(model), &[0.0, 0.0], &opts).unwrap();
        for (k, iv) in prof.intervals.iter().enumerate() {
            let half = z * sigma * cov[k * p + k].sqrt();
            let (lo, hi) = (iv.lower.value().unwrap(), iv.upper.value().unwrap());
            if r < 20 {
                assert!(
                    (lo - (bhat[k] - half)).abs() < 1e-5 * half,
                    "replicate {r}, {}: {lo}",
                    iv.name
                );
                assert!(
                    (hi - (bhat[k] + half)).abs() < 1e-5 * half,
                    "replicate {r}, {}: {hi}",
                    iv.name
                );
            }
            if lo <= beta[k] && beta[k] <= hi {
                covered[k] += 1;
            }
        }
    }
    // Coverage ~ Binomial(300, 0.9): mean 270, sd 5.2; ±4 sd (false alarm < 1e-4).
    for (k, c) in covered.iter().enumerate() {
        assert!(
            (249..=291).contains(c),
            "parameter {k}: {c} of {replicates} covered"
        );
    }
}

/// ℓ(θ, μ) = −θ²/(1 + θ²) − (μ − 1)²/2: the drop in θ never exceeds 1 < χ²₁(0.95)/2.
#[derive(Clone)]
struct Plateau;
impl RealLogDensity for Plateau {
    fn dim(&self) -> usize {
        2
    }
    fn log_density<R: Real>(&self, x: &[R]) -> Result<R> {
        let t2 = x[0].square();
        Ok(-(t2 / (t2 + 1.0)) - (x[1] - 1.0).square() * 0.5)
    }
    fn param_names(&self) -> Vec<String> {
        vec!["theta".into(), "mu".into()]
    }
}

#[test]
fn profile_reports_open_sides_instead_of_inventing_them() {
    let prof = profile(
        &mut TapeDensity::new(Plateau),
        &[0.4, 0.0],
        &ProfileOptions::default(),
    )
    .unwrap();
    let theta = &prof.intervals[0];
    assert_eq!(theta.name, "theta");
    for b in [&theta.lower, &theta.upper] {
        match b {
            Bound::Open {
                searched_to,
                drop,
                reason,
            } => {
                assert!(searched_to.abs() >= 39.0, "{searched_to}");
                assert!(drop.unwrap() < 1.0);
                assert!(reason.contains("max_distance"), "{reason}");
            }
            b => panic!("expected an open side, got {b:?}"),
        }
    }
    let mu = &prof.intervals[1];
    let half = normal_quantile(0.975);
    assert!((mu.lower.value().unwrap() - (1.0 - half)).abs() < 1e-6);
    assert!((mu.upper.value().unwrap() - (1.0 + half)).abs() < 1e-6);
    assert!(matches!(
        profile(
            &mut TapeDensity::new(Plateau),
            &[0.0, 0.0],
            &ProfileOptions {
                level: 1.0,
                ..Default::default()
            }
        ),
        Err(Error::InvalidOption { .. })
    ));
}
