//! Stochastic variational GPs: the WORKLOADS.md §7 check-state ELBO (first 1,024 rows,
//! scaled by N/B, and all N = 100,000 rows; data shipped in tests/data);
//! gradients in every parameter against finite differences for each likelihood; the
//! identity "ELBO at the optimal q(u) = Titsias's bound", reached in one natural-gradient
//! step, where the latent predictive equals the VFE one; Gauss–Hermite expectations against
//! closed forms and independent integration; predictive moments of y for the Poisson,
//! Student-t and probit likelihoods against closed forms; training and predictions.

use faer::Mat;
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_gradient};
use mechml_engine::gp::{
    Bernoulli, GaussHermite, Gaussian, Inputs, Kernel, Likelihood, Link, Matern52, Poisson,
    SparseGp, SparseGpOptions, SparseMethod, SquaredExponential, StudentT, Svgp, SvgpOptions,
    SvgpTrainOptions, kernel_matrix,
};
use mechml_engine::optim::{AdamOptions, LearningRate};
use mechml_engine::testing::gp_workloads::{data_dir, read_csv, theta0};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

/// θ₀ of WORKLOADS.md (log ℓ₁, log ℓ₂, log ℓ₃, log σ², log σ_n²) in the model's order
/// (σ², ℓ₁, ℓ₂, ℓ₃, σ_n²) and scale.
fn workload_theta() -> Vec<f64> {
    let t = theta0();
    [t[3], t[0], t[1], t[2], t[4]]
        .iter()
        .map(|v| v.exp())
        .collect()
}

fn check_state(x: &Inputs, n_data: usize) -> Svgp<SquaredExponential, Gaussian> {
    // WORKLOADS.md §5a: m_j = 0.5 sin(j), L = 0.5 I, θ₀, Z = X[:256], jitter 1e-6.
    let z = x.select(&(0..256).collect::<Vec<_>>()).unwrap();
    let k = SquaredExponential::ard(3).unwrap();
    let mut gp = Svgp::new(k, Gaussian::new(), z, n_data, &workload_theta()).unwrap();
    let m: Vec<f64> = (0..256).map(|j| 0.5 * (j as f64).sin()).collect();
    let s = Mat::<f64>::from_fn(256, 256, |i, j| if i == j { 0.5 } else { 0.0 });
    gp.set_q(&m, s.as_ref()).unwrap();
    gp
}

#[test]
fn workload_check_state_elbo_batch_and_full_data() {
    // WORKLOADS.md §7 (values from JAX and gpjax): the check-state ELBO on the first 1,024
    // rows scaled by N/B, and on all N = 100,000 rows.
    let (x, y) = read_csv(&data_dir().join("gp_n100000.csv"), None).unwrap();
    assert_eq!(x.n(), 100_000);
    let gp = check_state(&x, 100_000);
    let first: Vec<usize> = (0..1024).collect();
    let e = gp.elbo(&x.select(&first).unwrap(), &y[..1024]).unwrap();
    let want = -4224478.85119872;
    assert!(((e - want) / want).abs() < 1e-10, "{e} vs {want}");
    let e = gp.elbo_full(&x, &y, 4096).unwrap();
    let want = -4189900.7915001074;
    assert!(((e - want) / want).abs() < 1e-10, "{e} vs {want}");
}

fn problem(n: usize, seed: u64) -> (Inputs, Vec<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let u = Uniform::new(0.0, 1.0).unwrap();
    let x: Vec<f64> = (0..2 * n).map(|_| u.sample(&mut rng)).collect();
    let f = (0..n)
        .map(|i| (5.0 * x[2 * i]).sin() + x[2 * i + 1])
        .collect();
    (Inputs::new(n, 2, x).unwrap(), f)
}

fn random_q<K: Kernel, L: Likelihood>(gp: &mut Svgp<K, L>, seed: u64) {
    let m = gp.inducing().n();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let nrm = Normal::new(0.0, 0.3).unwrap();
    let mu: Vec<f64> = (0..m).map(|_| nrm.sample(&mut rng)).collect();
    let s = Mat::<f64>::from_fn(m, m, |i, j| match i.cmp(&j) {
        std::cmp::Ordering::Greater => nrm.sample(&mut rng),
        std::cmp::Ordering::Equal => 0.6 + 0.3 * (i as f64).cos(),
        std::cmp::Ordering::Less => 0.0,
    });
    gp.set_q(&mu, s.as_ref()).unwrap();
}

/// `lik` with the likelihood parameters `phi` (natural scale).
fn gradcheck<L: Likelihood>(lik: L, phi: &[f64], y: &[f64], x: &Inputs, label: &str) {
    let z = Inputs::from_rows(&[[0.1, 0.2], [0.6, 0.4], [0.3, 0.9], [0.9, 0.7]]).unwrap();
    let mut theta = vec![1.3, 0.4, 0.6];
    theta.extend_from_slice(phi);
    let mut gp = Svgp::new(Matern52::ard(2).unwrap(), lik, z, 57, &theta).unwrap();
    random_q(&mut gp, 3);
    let v0 = gp.pack();
    let g = gp.elbo_and_grad(x, y).unwrap();
    assert!((g.value - gp.elbo(x, y).unwrap()).abs() < 1e-12 * g.value.abs());
    let analytic = gp.pack_gradient(&g);
    let value = |v: &[f64]| {
        let mut m = gp.clone();
        m.unpack(v)?;
        m.elbo(x, y)
    };
    let rep = check_gradient(value, &v0, &analytic, GradCheckOptions::tol(2e-6, 1e-6)).unwrap();
    assert!(rep.passed, "{label}: {rep}");
}

#[test]
fn elbo_gradients_match_finite_differences_for_every_likelihood() {
    let (x, f) = problem(12, 8);
    let yg: Vec<f64> = f.iter().map(|v| v + 0.05).collect();
    gradcheck(Gaussian::new(), &[0.2], &yg, &x, "gaussian");
    let yb: Vec<f64> = f.iter().map(|v| if *v > 0.8 { 1.0 } else { 0.0 }).collect();
    gradcheck(Bernoulli::new(Link::Logit), &[], &yb, &x, "bernoulli logit");
    gradcheck(
        Bernoulli::new(Link::Probit),
        &[],
        &yb,
        &x,
        "bernoulli probit",
    );
    let yp: Vec<f64> = f.iter().map(|v| (2.0 * v).exp().round()).collect();
    gradcheck(Poisson, &[], &yp, &x, "poisson");
    gradcheck(StudentT::new(4.0).unwrap(), &[0.3], &yg, &x, "student-t");
}

#[test]
fn optimal_q_gives_the_titsias_bound_and_one_natural_gradient_step_reaches_it() {
    let (x, f) = problem(60, 2);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let e = Normal::new(0.0, 0.1).unwrap();
    let y: Vec<f64> = f.iter().map(|v| v + e.sample(&mut rng)).collect();
    let k = SquaredExponential::ard(2).unwrap();
    let tk = [1.1, 0.3, 0.5];
    let s2 = 0.02;
    let th = [1.1, 0.3, 0.5, s2];
    let jitter = 1e-6;
    let z = x.select(&[0, 7, 14, 21, 28, 35, 42, 49]).unwrap();
    let z_vfe = z.clone();
    let m = z.n();
    let vfe = SparseGp::new(k.clone(), x.clone(), &y, z.clone(), &th, SparseMethod::Vfe)
        .unwrap()
        .with_options(SparseGpOptions {
            jitter,
            ..Default::default()
        })
        .objective()
        .unwrap();
    // Closed form q*(v) = N(Σ A y / σ², Σ), Σ = (I + A Aᵀ/σ²)⁻¹, computed here with faer.
    let mut kuu = kernel_matrix(&k, &tk, &z, None).unwrap();
    for i in 0..m {
        kuu[(i, i)] += jitter;
    }
    let lz = kuu.llt(faer::Side::Lower).unwrap();
    let kuf = kernel_matrix(&k, &tk, &z, Some(&x)).unwrap();
    let mut a = kuf.clone();
    lz.L().solve_lower_triangular_in_place(a.as_mut());
    let mut prec = &a * a.transpose() * (1.0 / s2);
    for i in 0..m {
        prec[(i, i)] += 1.0;
    }
    let sigma = mechml_engine::linalg::Llt::factor(prec.as_ref(), faer::Par::Seq)
        .unwrap()
        .inverse(faer::Par::Seq);
    let ym = Mat::from_fn(y.len(), 1, |i, _| y[i]);
    let mstar = &sigma * &a * &ym * (1.0 / s2);
    let sstar = sigma.llt(faer::Side::Lower).unwrap().L().to_owned();
    let mut gp = Svgp::new(k.clone(), Gaussian::new(), z, x.n(), &th)
        .unwrap()
        .with_options(SvgpOptions {
            jitter,
            ..Default::default()
        })
        .unwrap();
    gp.set_q(
        &(0..m).map(|i| mstar[(i, 0)]).collect::<Vec<_>>(),
        sstar.as_ref(),
    )
    .unwrap();
    let elbo = gp.elbo(&x, &y).unwrap();
    assert!(
        (elbo - vfe).abs() < 1e-8 * vfe.abs(),
        "ELBO at q* {elbo} vs VFE {vfe}"
    );
    // At q* the SVGP's latent predictive is the VFE predictive (Titsias 2009, eq. 6), at
    // test points away from Z and X; the VFE side is checked against dense formulas in
    // gp_sparse.rs.
    let xs = Inputs::from_rows(&[[0.05, 0.95], [0.5, 0.52], [0.9, 0.1], [1.4, 0.6]]).unwrap();
    let ps = gp.predict_f(&xs).unwrap();
    let pv = SparseGp::new(
        k.clone(),
        x.clone(),
        &y,
        z_vfe.clone(),
        &th,
        SparseMethod::Vfe,
    )
    .unwrap()
    .with_options(SparseGpOptions {
        jitter,
        ..Default::default()
    })
    .predict(&xs)
    .unwrap();
    for i in 0..xs.n() {
        assert!(
            (ps.mean[(i, 0)] - pv.mean[(i, 0)]).abs() < 1e-8,
            "mean {i}: SVGP {} vs VFE {}",
            ps.mean[(i, 0)],
            pv.mean[(i, 0)]
        );
        assert!(
            (ps.var[i] - pv.var[i]).abs() < 1e-8,
            "var {i}: SVGP {} vs VFE {}",
            ps.var[i],
            pv.var[i]
        );
    }
    // At q* the gradient in (m, S) vanishes.
    let g = gp.elbo_and_grad(&x, &y).unwrap();
    assert!(
        g.q_mu.iter().chain(&g.q_sqrt).all(|v| v.abs() < 1e-6),
        "{:?}",
        g.q_mu
    );
    // From an arbitrary q, one natural-gradient step with γ = 1 on the full data lands on q*.
    random_q(&mut gp, 11);
    assert!(gp.elbo(&x, &y).unwrap() < vfe - 1.0);
    gp.natural_gradient_step(&x, &y, 1.0).unwrap();
    let elbo = gp.elbo(&x, &y).unwrap();
    assert!(
        (elbo - vfe).abs() < 1e-8 * vfe.abs(),
        "after one step {elbo} vs VFE {vfe}"
    );
    for i in 0..m {
        assert!((gp.q_mu()[i] - mstar[(i, 0)]).abs() < 1e-8);
    }
}

#[test]
fn natural_gradients_converge_for_a_non_gaussian_likelihood() {
    let (x, f) = problem(50, 4);
    let y: Vec<f64> = f.iter().map(|v| if *v > 0.9 { 1.0 } else { 0.0 }).collect();
    let z = x.select(&[0, 10, 20, 30, 40]).unwrap();
    let mut gp = Svgp::new(
        SquaredExponential::isotropic(),
        Bernoulli::new(Link::Logit),
        z,
        50,
        &[2.0, 0.3],
    )
    .unwrap();
    let mut last = gp.elbo(&x, &y).unwrap();
    for _ in 0..30 {
        gp.natural_gradient_step(&x, &y, 0.5).unwrap();
        let e = gp.elbo(&x, &y).unwrap();
        assert!(e >= last - 1e-9 * last.abs(), "{e} < {last}");
        last = e;
    }
    let g = gp.elbo_and_grad(&x, &y).unwrap();
    let gn: f64 = g
        .q_mu
        .iter()
        .chain(&g.q_sqrt)
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt();
    assert!(
        gn < 1e-5,
        "gradient in q after natural-gradient steps: {gn}"
    );
}

/// Composite Simpson on [μ − 12 sd, μ + 12 sd] with 20,000 intervals: independent of the
/// Gauss–Hermite rule.
fn simpson_expectation(mu: f64, var: f64, g: impl Fn(f64) -> f64) -> f64 {
    let sd = var.sqrt();
    let (a, b, n) = (mu - 12.0 * sd, mu + 12.0 * sd, 20_000);
    let h = (b - a) / n as f64;
    let dens = |f: f64| {
        (-(f - mu).powi(2) / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
    };
    let mut s = 0.0;
    for i in 0..=n {
        let f = a + i as f64 * h;
        let w = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        s += w * dens(f) * g(f);
    }
    s * h / 3.0
}

#[test]
fn quadrature_expectations_match_closed_forms_and_simpson() {
    let gh = GaussHermite::new(20).unwrap();
    // Poisson: E[y f − e^f − log y!] = y μ − exp(μ + v/2) − log y! in closed form, with
    // ∂/∂μ = y − exp(μ + v/2) and ∂/∂v = −½ exp(μ + v/2).
    for (y, mu, v) in [(0.0, 0.3, 0.2), (3.0, 1.1, 0.5), (7.0, 2.0, 0.05)] {
        let lg = mechml_engine::ad::special::lgamma(y + 1.0);
        let (e, dm, dv) = Poisson.variational_expectation(&[], y, mu, v, &gh, &mut []);
        let c = (mu + 0.5 * v).exp();
        assert!((e - (y * mu - c - lg)).abs() < 1e-10 * c.max(1.0));
        assert!((dm - (y - c)).abs() < 1e-9 * c.max(1.0));
        assert!((dv + 0.5 * c).abs() < 1e-9 * c.max(1.0));
    }
    // Bernoulli (both links) and Student-t against Simpson's rule.
    let probit = Bernoulli::new(Link::Probit);
    let logit = Bernoulli::new(Link::Logit);
    let st = StudentT::new(3.0).unwrap();
    for (mu, v) in [(0.2, 0.3), (-1.5, 1.2), (2.0, 0.05)] {
        for y in [0.0, 1.0] {
            for (name, lik) in [("probit", &probit), ("logit", &logit)] {
                let (e, _, _) = lik.variational_expectation(&[], y, mu, v, &gh, &mut []);
                let s = simpson_expectation(mu, v, |f| lik.log_density(&[], y, f));
                assert!(
                    (e - s).abs() < 1e-7,
                    "{name} y={y} μ={mu} v={v}: {e} vs {s}"
                );
            }
        }
        // Student-t's log-density has complex singularities near the real axis (at
        // f = y ± iσ√ν), so Gauss–Hermite converges slowly: 20 points give ~1e-4, and the
        // error shrinks as points are added.
        let phi = [0.4];
        let s = simpson_expectation(mu, v, |f| st.log_density(&phi, 0.7, f));
        let mut last = f64::INFINITY;
        for (n, tol) in [(20usize, 1e-3), (60, 1e-5), (200, 1e-7)] {
            let q = GaussHermite::new(n).unwrap();
            let (e, _, _) = st.variational_expectation(&phi, 0.7, mu, v, &q, &mut [0.0]);
            let err = (e - s).abs();
            assert!(
                err < tol * s.abs().max(1.0),
                "student-t n={n} μ={mu} v={v}: {e} vs {s}"
            );
            assert!(err <= last || err < 1e-12);
            last = err;
        }
    }
    // The Gaussian closed form agrees with its own quadrature.
    let g = Gaussian::new();
    let phi = [0.3];
    let (e, _, _) = g.variational_expectation(&phi, 0.4, 0.1, 0.2, &gh, &mut [0.0]);
    let s = gh.expect(0.1, 0.2, |f| g.log_density(&phi, 0.4, f));
    assert!((e - s).abs() < 1e-12);
}

/// Mean and variance of the latent function from `predict_f`.
fn latent_moments<L: Likelihood>(gp: &Svgp<Matern52, L>, xs: &Inputs) -> (Vec<f64>, Vec<f64>) {
    let p = gp.predict_f(xs).unwrap();
    ((0..xs.n()).map(|i| p.mean[(i, 0)]).collect(), p.var)
}

#[test]
fn predict_y_matches_closed_form_moments() {
    // With q(f*) = N(μ, v) from predict_f, the predictive moments of y have closed forms:
    //   Poisson (log link): E y = e^{μ + v/2}, Var y = E y + (e^v − 1) e^{2μ + v}
    //     (the log-normal moments);
    //   Student-t(ν, σ): E y = μ, Var y = v + σ² ν / (ν − 2) for ν > 2, infinite for ν ≤ 2;
    //   Bernoulli (probit): E y = Φ(μ / √(1 + v)) (R&W 2006, eq. 3.82), Var y = E y (1 − E y).
    let z = Inputs::from_rows(&[[0.1, 0.2], [0.6, 0.4], [0.3, 0.9], [0.9, 0.7]]).unwrap();
    let xs =
        Inputs::from_rows(&[[0.2, 0.3], [0.5, 0.5], [0.8, 0.9], [1.5, -0.5], [0.0, 1.0]]).unwrap();
    let kernel = Matern52::ard(2).unwrap();
    let tk = [1.3, 0.4, 0.6];
    let close = |a: f64, b: f64, rtol: f64| (a - b).abs() <= rtol * b.abs().max(1e-300);

    let mut gp = Svgp::new(kernel.clone(), Poisson, z.clone(), 50, &tk).unwrap();
    random_q(&mut gp, 7);
    let (mu, v) = latent_moments(&gp, &xs);
    let (m, var) = gp.predict_y(&xs).unwrap();
    for i in 0..xs.n() {
        let e = (mu[i] + 0.5 * v[i]).exp();
        let want_var = e + v[i].exp_m1() * (2.0 * mu[i] + v[i]).exp();
        assert!(close(m[i], e, 1e-12), "poisson mean {i}: {} vs {e}", m[i]);
        assert!(
            close(var[i], want_var, 1e-10),
            "poisson var {i}: {} vs {want_var}",
            var[i]
        );
    }

    for (nu, scale) in [(4.0, 0.3), (2.5, 1.2)] {
        let th = [tk[0], tk[1], tk[2], scale];
        let mut gp = Svgp::new(
            kernel.clone(),
            StudentT::new(nu).unwrap(),
            z.clone(),
            50,
            &th,
        )
        .unwrap();
        random_q(&mut gp, 8);
        let (mu, v) = latent_moments(&gp, &xs);
        let (m, var) = gp.predict_y(&xs).unwrap();
        for i in 0..xs.n() {
            let want_var = v[i] + scale * scale * nu / (nu - 2.0);
            assert!(close(m[i], mu[i], 1e-12), "student-t mean {i}");
            assert!(
                close(var[i], want_var, 1e-12),
                "student-t var {i}: {} vs {want_var}",
                var[i]
            );
        }
    }
    let th = [tk[0], tk[1], tk[2], 0.3];
    let mut gp = Svgp::new(
        kernel.clone(),
        StudentT::new(1.5).unwrap(),
        z.clone(),
        50,
        &th,
    )
    .unwrap();
    random_q(&mut gp, 8);
    let (m, var) = gp.predict_y(&xs).unwrap();
    assert!(m.iter().all(|v| v.is_finite()) && var.iter().all(|v| *v == f64::INFINITY));

    let mut gp = Svgp::new(kernel, Bernoulli::new(Link::Probit), z, 50, &tk).unwrap();
    random_q(&mut gp, 9);
    let (mu, v) = latent_moments(&gp, &xs);
    let (m, var) = gp.predict_y(&xs).unwrap();
    for i in 0..xs.n() {
        // Φ(t) = erfc(−t/√2)/2, from libm (independent of the engine's normal CDF).
        let p = 0.5 * libm::erfc(-mu[i] / (1.0 + v[i]).sqrt() / std::f64::consts::SQRT_2);
        assert!(close(m[i], p, 1e-7), "probit mean {i}: {} vs {p}", m[i]);
        assert!(close(var[i], p * (1.0 - p), 1e-6), "probit var {i}");
    }
}

#[test]
fn training_with_minibatches_improves_and_classifies() {
    // Regression: natural gradients for q, Adam for the rest.
    let (x, f) = problem(400, 6);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let e = Normal::new(0.0, 0.1).unwrap();
    let y: Vec<f64> = f.iter().map(|v| v + e.sample(&mut rng)).collect();
    let z = x
        .select(&(0..15).map(|i| i * 25).collect::<Vec<_>>())
        .unwrap();
    let th = [1.0, 0.5, 0.5, 0.1];
    let mut gp = Svgp::new(
        SquaredExponential::ard(2).unwrap(),
        Gaussian::new(),
        z.clone(),
        400,
        &th,
    )
    .unwrap();
    let before = gp.elbo_full(&x, &y, 128).unwrap();
    let opts = SvgpTrainOptions {
        iterations: 300,
        batch_size: 64,
        adam: AdamOptions {
            learning_rate: LearningRate::Constant { lr: 0.02 },
            record_params: false,
            ..Default::default()
        },
        natural_gradient: Some(0.2),
        ..Default::default()
    };
    let res = gp.train(&x, &y, &opts).unwrap();
    assert_eq!(res.trace.last().unwrap().iteration, 299);
    let after = gp.elbo_full(&x, &y, 128).unwrap();
    assert!(after > before + 100.0, "{before} → {after}");
    // Reproducible: the same seed gives the same parameters.
    let mut gp2 = Svgp::new(
        SquaredExponential::ard(2).unwrap(),
        Gaussian::new(),
        z,
        400,
        &th,
    )
    .unwrap();
    gp2.train(&x, &y, &opts).unwrap();
    assert_eq!(gp.pack(), gp2.pack());
    // Classification with Adam only.
    let labels: Vec<f64> = f.iter().map(|v| if *v > 0.9 { 1.0 } else { 0.0 }).collect();
    let zc = x
        .select(&(0..10).map(|i| i * 37).collect::<Vec<_>>())
        .unwrap();
    let mut clf = Svgp::new(
        SquaredExponential::isotropic(),
        Bernoulli::new(Link::Logit),
        zc,
        400,
        &[1.0, 0.3],
    )
    .unwrap();
    let opts = SvgpTrainOptions {
        iterations: 400,
        batch_size: 100,
        adam: AdamOptions {
            learning_rate: LearningRate::Constant { lr: 0.05 },
            record_params: false,
            ..Default::default()
        },
        natural_gradient: None,
        ..Default::default()
    };
    clf.train(&x, &labels, &opts).unwrap();
    let (p, _) = clf.predict_y(&x).unwrap();
    let correct = p
        .iter()
        .zip(&labels)
        .filter(|(p, l)| (**p > 0.5) == (**l > 0.5))
        .count();
    assert!(
        correct as f64 > 0.9 * 400.0,
        "training accuracy {correct}/400"
    );
}

#[test]
fn bad_input_is_an_error() {
    let (x, _) = problem(5, 1);
    let z = Inputs::from_rows(&[[0.5, 0.5]]).unwrap();
    let th = [1.0, 0.5];
    let gp = Svgp::new(
        SquaredExponential::isotropic(),
        Bernoulli::new(Link::Logit),
        z.clone(),
        5,
        &th,
    )
    .unwrap();
    assert!(gp.elbo(&x, &[0.0, 1.0, 2.0, 0.0, 1.0]).is_err());
    assert!(gp.elbo(&x, &[0.0, 1.0]).is_err());
    let mut pg = Svgp::new(SquaredExponential::isotropic(), Poisson, z.clone(), 5, &th).unwrap();
    assert!(pg.elbo(&x, &[0.0, 1.5, 2.0, 0.0, 1.0]).is_err());
    assert!(pg.natural_gradient_step(&x, &[0.0; 5], 1.5).is_err());
    assert!(
        Svgp::new(
            SquaredExponential::isotropic(),
            Poisson,
            Inputs::from_1d(&[0.1]).unwrap(),
            5,
            &th
        )
        .unwrap()
        .elbo(&x, &[0.0; 5])
        .is_err()
    );
}

#[test]
fn training_holds_fixed_parameters_by_name() {
    // `fixed` names hyperparameters and the group `inducing` (formerly the flags
    // `train_hyperparameters` and `train_inducing`).
    let (x, f) = problem(80, 9);
    let y: Vec<f64> = f.iter().map(|v| v + 0.05).collect();
    let z = x.select(&[0, 20, 40, 60]).unwrap();
    let th = [1.0, 0.5, 0.5, 0.1];
    let mut gp = Svgp::new(
        SquaredExponential::ard(2).unwrap(),
        Gaussian::new(),
        z.clone(),
        80,
        &th,
    )
    .unwrap();
    let opts = SvgpTrainOptions {
        iterations: 20,
        batch_size: 16,
        fixed: vec!["inducing".into(), "lengthscale".into()],
        ..Default::default()
    };
    gp.train(&x, &y, &opts).unwrap();
    assert_eq!(gp.inducing(), &z);
    assert_eq!(gp.param("lengthscale[0]").unwrap(), 0.5);
    assert_eq!(gp.param("lengthscale[1]").unwrap(), 0.5);
    assert_ne!(gp.param("variance").unwrap(), 1.0);
    assert_ne!(gp.param("noise_variance").unwrap(), 0.1);
    // An unknown name is an error listing the parameters.
    let bad = SvgpTrainOptions {
        fixed: vec!["lenghtscale".into()],
        ..opts
    };
    assert!(matches!(
        gp.train(&x, &y, &bad),
        Err(mechml_engine::Error::InvalidOption { .. })
    ));
}

#[test]
fn tape_block_matches_the_analytic_gradient() {
    use mechml_engine::ad::{Tape, VarVec};
    use mechml_engine::gp::svgp_elbo_var;
    let (x, f) = problem(15, 3);
    let z = Inputs::from_rows(&[[0.2, 0.2], [0.7, 0.6], [0.4, 0.9]]).unwrap();
    let mut gp = Svgp::new(Matern52::isotropic(), Poisson, z, 15, &[1.0, 0.5]).unwrap();
    random_q(&mut gp, 2);
    let y: Vec<f64> = f.iter().map(|v| v.exp().round()).collect();
    let tape = Tape::new();
    let p = tape.var_vec(&gp.pack());
    let e = svgp_elbo_var(&tape, &gp, &p, &x, &y).unwrap();
    let two = tape
        .mul(&VarVec::constant(vec![2.0]), &tape.stack(&[e]).unwrap())
        .unwrap();
    let s = tape.sum(&two).unwrap();
    let g = tape.gradient(&s).unwrap().wrt_vec(&p);
    let want = gp.pack_gradient(&gp.elbo_and_grad(&x, &y).unwrap());
    for (a, b) in g.iter().zip(&want) {
        assert!((a - 2.0 * b).abs() < 1e-12 * b.abs().max(1.0));
    }
}
