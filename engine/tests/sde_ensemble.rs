//! Ensembles: moments against closed forms (WORKLOADS.md §3), quantiles against the normal
//! distribution, reproducibility across thread counts, and the normal streams' statistics.
//!
//! Tolerances are 4.5 standard errors computed from the sample size: `√(var/n)` for a
//! mean, `var·√(2/(n−1))` for a Gaussian sample variance, `√(q(1−q)/n)/φ(z_q)·sd` for a
//! sample quantile.

use mechml_engine::ad::Real;
use mechml_engine::linalg::Par;
use mechml_engine::sde::normal::{NormalLanes, Ziggurat};
use mechml_engine::sde::reference::{Gbm, OrnsteinUhlenbeck, TwoBoxEbm};
use mechml_engine::sde::{
    Ensemble, EnsembleOptions, EulerMaruyama, Heun, Milstein, NoiseSource, ReversibleHeun, Sde,
    SdeOptions, SdeProblem, SdeShape, Steps, VirtualBrownianTree, ensemble, path_seed, solve,
};
use mechml_engine::solver::SaveAt;

const Z: f64 = 4.5;

fn check_mean(name: &str, ens: &Ensemble, k: usize, i: usize, exact: f64) {
    let se = ens.std_error(k)[i];
    let got = ens.mean(k)[i];
    assert!(
        (got - exact).abs() < Z * se,
        "{name}: mean {got} vs exact {exact} (se {se})"
    );
}

fn check_var(name: &str, ens: &Ensemble, k: usize, i: usize, exact: f64) {
    let n = ens.n_paths as f64;
    let got = ens.variance(k)[i];
    let sd = exact * (2.0 / (n - 1.0)).sqrt();
    assert!(
        (got - exact).abs() < Z * sd,
        "{name}: variance {got} vs exact {exact} (sd {sd})"
    );
}

#[test]
fn ebm2box_workload_moments() {
    // WORKLOADS.md §3b: 1,000 paths × 20,000 steps of Euler–Maruyama; exact moments at
    // t = 200 from expm and a Lyapunov equation (given there).
    let opts = EnsembleOptions {
        n_paths: 1000,
        seed: 1,
        steps: Steps::Fixed { n_steps: 20_000 },
        ..Default::default()
    };
    let ens = ensemble(&TwoBoxEbm::workload(200.0).unwrap(), &EulerMaruyama, &opts).unwrap();
    check_mean("EBM T", &ens, 0, 0, 2.426646382954945);
    check_var("EBM T", &ens, 0, 0, 0.007919841114432611);
    check_mean("EBM T_D", &ens, 0, 1, 1.6691599293605068);
    check_var("EBM T_D", &ens, 0, 1, 0.00027038794426580885);
    // Heun agrees as well (additive noise: same solution).
    let opts = EnsembleOptions {
        n_paths: 256,
        ..opts
    };
    let ens = ensemble(&TwoBoxEbm::workload(200.0).unwrap(), &Heun, &opts).unwrap();
    check_mean("EBM Heun T", &ens, 0, 0, 2.426646382954945);
    check_var("EBM Heun T", &ens, 0, 0, 0.007919841114432611);
}

#[test]
fn gbm_workload_moments() {
    // WORKLOADS.md §3a: 1,000 paths × 1,000 steps, E X(1) = e^μ, Var X(1) = e^{2μ}(e^{σ²} − 1).
    // The sample variance of a log-normal has a larger spread than a Gaussian's: use the
    // fourth moment, Var(s²) ≈ (μ₄ − σ⁴)/n.
    let p = [0.05, 0.2];
    let mean = 0.05f64.exp();
    let var = 0.04510288078157963;
    let (s2, mu) = (0.04f64, 0.05f64);
    // E X⁴ of a log-normal and the central fourth moment.
    let m = |k: f64| (k * mu + 0.5 * k * (k - 1.0) * s2).exp();
    let mu4 = m(4.0) - 4.0 * m(3.0) * m(1.0) + 6.0 * m(2.0) * m(1.0).powi(2) - 3.0 * m(1.0).powi(4);
    let n = 8000;
    for (name, noise) in [
        ("streams", NoiseSource::Streams),
        ("tree", NoiseSource::Tree),
    ] {
        let opts = EnsembleOptions {
            n_paths: if noise == NoiseSource::Tree { 2000 } else { n },
            seed: 3,
            steps: Steps::Fixed { n_steps: 1000 },
            noise,
            ..Default::default()
        };
        let ens = ensemble(
            &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
            &EulerMaruyama,
            &opts,
        )
        .unwrap();
        check_mean(&format!("GBM EM {name}"), &ens, 0, 0, mean);
        let sd = ((mu4 - var * var) / opts.n_paths as f64).sqrt();
        let got = ens.variance(0)[0];
        assert!(
            (got - var).abs() < Z * sd,
            "GBM {name}: variance {got} vs {var} ± {sd}"
        );
    }
    // Milstein and Heun (on the Stratonovich form) on the same workload.
    let opts = EnsembleOptions {
        n_paths: 4000,
        steps: Steps::Fixed { n_steps: 1000 },
        ..Default::default()
    };
    let ens = ensemble(
        &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
        &Milstein,
        &opts,
    )
    .unwrap();
    check_mean("GBM Milstein", &ens, 0, 0, mean);
    let strat = mechml_engine::sde::StratonovichForm::new(Gbm::ito());
    let ens = ensemble(
        &SdeProblem::new(&strat, 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
        &Heun,
        &opts,
    )
    .unwrap();
    check_mean("GBM Heun", &ens, 0, 0, mean);
    let ens = ensemble(
        &SdeProblem::new(&strat, 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
        &ReversibleHeun,
        &opts,
    )
    .unwrap();
    check_mean("GBM reversible Heun", &ens, 0, 0, mean);
}

#[test]
fn ou_quantiles_over_time() {
    let p = [1.5, 0.5, 0.8];
    let n = 8000;
    let opts = EnsembleOptions {
        n_paths: n,
        seed: 11,
        steps: Steps::Fixed { n_steps: 400 },
        save_at: SaveAt::Every(100),
        quantiles: vec![0.1, 0.5, 0.9],
        ..Default::default()
    };
    let ens = ensemble(
        &SdeProblem::new(&OrnsteinUhlenbeck, 0.0, 2.0, vec![2.0], p.to_vec()).unwrap(),
        &Heun,
        &opts,
    )
    .unwrap();
    assert_eq!(ens.t, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
    // At t = 0 every path is at x0.
    assert_eq!(ens.mean(0), &[2.0]);
    assert_eq!(ens.variance(0), &[0.0]);
    let z90 = 1.2815515655446004; // Φ⁻¹(0.9)
    let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    for k in 1..5 {
        let (mean, var) = OrnsteinUhlenbeck::moments(2.0, &p, ens.t[k]);
        check_mean("OU", &ens, k, 0, mean);
        check_var("OU", &ens, k, 0, var);
        let sd = var.sqrt();
        for (q, z) in [(0, -z90), (1, 0.0), (2, z90)] {
            let level = ens.quantile_levels[q];
            let se = (level * (1.0 - level) / n as f64).sqrt() / phi(z) * sd;
            let got = ens.quantile(k, q)[0];
            let exact = mean + z * sd;
            assert!(
                (got - exact).abs() < Z * se,
                "t = {}: quantile {level}: {got} vs {exact} ± {se}",
                ens.t[k]
            );
        }
    }
}

fn run_in_pool(threads: usize, opts: &EnsembleOptions) -> Ensemble {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| ensemble(&TwoBoxEbm::workload(10.0).unwrap(), &EulerMaruyama, opts).unwrap())
}

#[test]
fn same_seed_same_statistics_on_one_and_two_threads() {
    for noise in [NoiseSource::Streams, NoiseSource::Tree] {
        let opts = EnsembleOptions {
            n_paths: 300, // not a multiple of the block size
            seed: 42,
            steps: Steps::Fixed { n_steps: 200 },
            save_at: SaveAt::Every(50),
            quantiles: vec![0.05, 0.5, 0.95],
            keep_paths: true,
            noise,
            par: Par::rayon(0),
            ..Default::default()
        };
        let one = run_in_pool(1, &opts);
        let two = run_in_pool(2, &opts);
        let seq = run_in_pool(
            1,
            &EnsembleOptions {
                par: Par::Seq,
                ..opts.clone()
            },
        );
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for e in [&two, &seq] {
            assert_eq!(bits(&one.mean), bits(&e.mean), "{noise:?}");
            assert_eq!(bits(&one.variance), bits(&e.variance), "{noise:?}");
            assert_eq!(bits(&one.quantiles), bits(&e.quantiles), "{noise:?}");
            assert_eq!(
                bits(one.paths.as_ref().unwrap()),
                bits(e.paths.as_ref().unwrap())
            );
        }
        // A different seed changes the numbers.
        let other = run_in_pool(2, &EnsembleOptions { seed: 43, ..opts });
        assert_ne!(bits(&one.mean), bits(&other.mean));
    }
}

#[test]
fn tree_ensemble_path_is_the_single_path_solve() {
    let opts = EnsembleOptions {
        n_paths: 70,
        seed: 5,
        steps: Steps::Fixed { n_steps: 64 },
        save_at: SaveAt::Every(16),
        keep_paths: true,
        noise: NoiseSource::Tree,
        ..Default::default()
    };
    let p = [0.3, 0.6];
    let ens = ensemble(
        &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
        &Milstein,
        &opts,
    )
    .unwrap();
    for k in [0usize, 1, 63, 64, 69] {
        let mut w = VirtualBrownianTree::builder(0.0, 1.0)
            .seed(path_seed(5, k as u64))
            .fixed_steps(64)
            .build()
            .unwrap();
        let sol = solve(
            &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], p.to_vec()).unwrap(),
            &Milstein,
            &mut w,
            &SdeOptions {
                steps: Steps::Fixed { n_steps: 64 },
                save_at: SaveAt::Every(16),
                ..Default::default()
            },
        )
        .unwrap();
        for s in 0..sol.t.len() {
            assert_eq!(
                sol.state(s)[0].to_bits(),
                ens.path_state(k, s).unwrap()[0].to_bits()
            );
        }
    }
}

#[test]
fn non_finite_paths_are_reported() {
    struct Explode;
    impl Sde for Explode {
        fn shape(&self) -> SdeShape {
            SdeShape::diagonal(1)
        }
        fn drift<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
            out[0] = x[0] * x[0] * x[0];
        }
        fn diffusion<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
            out[0] = x[0];
        }
    }
    for noise in [NoiseSource::Streams, NoiseSource::Tree] {
        let opts = EnsembleOptions {
            n_paths: 10,
            steps: Steps::Fixed { n_steps: 50 },
            noise,
            ..Default::default()
        };
        let err = ensemble(
            &SdeProblem::new(&Explode, 0.0, 1.0, vec![30.0], vec![]).unwrap(),
            &EulerMaruyama,
            &opts,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("path ") && msg.contains("t = ") && msg.contains("component 0"),
            "{msg}"
        );
    }
    let bad = EnsembleOptions {
        quantiles: vec![1.5],
        ..Default::default()
    };
    assert!(
        ensemble(
            &SdeProblem::new(&Explode, 0.0, 1.0, vec![1.0], vec![]).unwrap(),
            &EulerMaruyama,
            &bad
        )
        .is_err()
    );
}

/// The ziggurat streams: moments, Kolmogorov–Smirnov distance to Φ, and the frequency of
/// the tail beyond the ziggurat's base, r = 3.654152885361009.
#[test]
fn normal_streams_are_standard_normal() {
    let zig = Ziggurat::new();
    let lanes = 8;
    let per = 125_000;
    let mut block = NormalLanes::from_seeds((0..lanes as u64).map(|k| path_seed(9, k)));
    let mut v = vec![0.0; lanes * per];
    block.fill(&zig, per, &[1.0], &mut v);
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let m = |k: i32| v.iter().map(|x| (x - mean).powi(k)).sum::<f64>() / n;
    let (var, skew, kurt) = (m(2), m(3) / m(2).powf(1.5), m(4) / (m(2) * m(2)));
    assert!(mean.abs() < Z / n.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < Z * (2.0 / n).sqrt(), "var {var}");
    assert!(skew.abs() < Z * (6.0 / n).sqrt(), "skewness {skew}");
    assert!(
        (kurt - 3.0).abs() < Z * (24.0 / n).sqrt(),
        "kurtosis {kurt}"
    );
    // Tail: P(|Z| > r) = erfc(r/√2).
    let r = 3.654152885361009f64;
    let p_tail = Real::erfc(r / std::f64::consts::SQRT_2);
    let tail = v.iter().filter(|x| x.abs() > r).count() as f64;
    let sd = (n * p_tail * (1.0 - p_tail)).sqrt();
    assert!(
        (tail - n * p_tail).abs() < Z * sd,
        "tail count {tail} vs {}",
        n * p_tail
    );
    // Kolmogorov–Smirnov: sup |F_n − Φ| < 1.95/√n at the 0.1 % level.
    v.sort_by(f64::total_cmp);
    let mut ks: f64 = 0.0;
    for (k, &x) in v.iter().enumerate() {
        let f = x.normal_cdf();
        ks = ks
            .max((f - k as f64 / n).abs())
            .max(((k + 1) as f64 / n - f).abs());
    }
    assert!(ks < 1.95 / n.sqrt(), "KS distance {ks}");
}

/// Streaming (P²) quantiles against the exact sample quantiles of the same paths.
///
/// Bounds are in units of the standard error of the sample quantile, `√(q(1−q)/n) / f(x_q)`,
/// with the exact density `f` of the process (Gaussian for OU, log-normal for GBM): every
/// cross-section within 2 standard errors, and their RMS within 0.5, i.e. the streaming
/// estimate adds clearly less uncertainty than sampling itself. P² has no error bound of its
/// own (its error, like the sampling error, is O(n^{−1/2})), so these factors are
/// requirements with margin, not statistical tolerances: over 13 seeds the RMS ratio was
/// 0.19–0.40 and the largest single ratio 1.22.
#[test]
fn streaming_quantiles_track_the_exact_sample_quantiles() {
    use mechml_engine::sde::QuantileMethod;
    let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    // Φ⁻¹ at the levels 0.05, 0.25, 0.5, 0.75, 0.95.
    let levels = [0.05, 0.25, 0.5, 0.75, 0.95];
    let z = [
        -1.6448536269514722,
        -0.6744897501960817,
        0.0,
        0.6744897501960817,
        1.6448536269514722,
    ];
    let run = |method: QuantileMethod, gbm: bool, n: usize| -> Ensemble {
        let opts = EnsembleOptions {
            n_paths: n,
            seed: 21,
            steps: Steps::Fixed { n_steps: 200 },
            save_at: SaveAt::Every(100),
            quantiles: levels.to_vec(),
            quantile_method: method,
            ..Default::default()
        };
        if gbm {
            ensemble(
                &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], vec![0.05, 0.4]).unwrap(),
                &EulerMaruyama,
                &opts,
            )
        } else {
            ensemble(
                &SdeProblem::new(&OrnsteinUhlenbeck, 0.0, 2.0, vec![2.0], vec![1.5, 0.5, 0.8])
                    .unwrap(),
                &Heun,
                &opts,
            )
        }
        .unwrap()
    };
    let mut ratios = Vec::new();
    for (gbm, n) in [(false, 8000), (true, 4000)] {
        let streaming = run(QuantileMethod::Streaming, gbm, n);
        let exact = run(QuantileMethod::Exact, gbm, n);
        // Neither stores paths, and the moments do not depend on the quantile method.
        assert!(streaming.paths.is_none() && exact.paths.is_none());
        assert_eq!(streaming.mean, exact.mean);
        for k in 1..streaming.t.len() {
            let t = streaming.t[k];
            for (q, (&level, &zq)) in levels.iter().zip(&z).enumerate() {
                // Density at the exact quantile of the process at time t.
                let density = if gbm {
                    // ln X(t) ~ N((μ − σ²/2) t, σ² t).
                    let s = 0.4 * t.sqrt();
                    let x_q = ((0.05 - 0.08) * t + s * zq).exp();
                    phi(zq) / (x_q * s)
                } else {
                    let (_, var) = OrnsteinUhlenbeck::moments(2.0, &[1.5, 0.5, 0.8], t);
                    phi(zq) / var.sqrt()
                };
                let se = (level * (1.0 - level) / n as f64).sqrt() / density;
                let (a, b) = (streaming.quantile(k, q)[0], exact.quantile(k, q)[0]);
                ratios.push((a - b).abs() / se);
                assert!(
                    (a - b).abs() < 2.0 * se,
                    "{} t = {t}, level {level}: P² {a} vs sample {b} (se {se})",
                    if gbm { "GBM" } else { "OU" }
                );
            }
        }
    }
    let rms = (ratios.iter().map(|r| r * r).sum::<f64>() / ratios.len() as f64).sqrt();
    println!("|P² − sample| / se: rms {rms:.3}, ratios {ratios:.2?}");
    assert!(rms < 0.5, "RMS of |P² − sample| / se is {rms}");
}

#[test]
fn stream_ensemble_paths_are_the_scalar_euler_maruyama_recursion() {
    // The fast path (AVX2 ziggurat chunks, the two-box drift on whole blocks, the fused
    // additive-noise update, one finiteness check per chunk) against a plain loop written
    // here: path k draws z_j = N(0, 1) from its own stream seeded by path_seed(seed, k),
    // one per step, and x_{j+1} = x_j + f(x_j) h + g √h z_j. 70 paths (a full block of 64
    // and a partial one) and 600 steps (two full chunks of 256 and a partial one).
    let (n_paths, n_steps, t1, seed) = (70usize, 600usize, 30.0, 5u64);
    let x0 = [0.3, -0.1];
    let p = TwoBoxEbm::PARAMS;
    let opts = EnsembleOptions {
        n_paths,
        seed,
        steps: Steps::Fixed { n_steps },
        save_at: SaveAt::Every(150),
        keep_paths: true,
        noise: NoiseSource::Streams,
        ..Default::default()
    };
    let ens = ensemble(
        &SdeProblem::new(&TwoBoxEbm, 0.0, t1, x0.to_vec(), p.to_vec()).unwrap(),
        &EulerMaruyama,
        &opts,
    )
    .unwrap();
    let zig = Ziggurat::new();
    let h = t1 / n_steps as f64;
    let (mut f, mut g) = ([0.0; 2], [0.0; 2]);
    let mut worst = 0.0f64;
    for k in 0..n_paths {
        let mut s = NormalLanes::from_seeds([path_seed(seed, k as u64)]).state(0);
        let mut x = x0;
        for j in 0..n_steps {
            let t = j as f64 * h;
            TwoBoxEbm.drift(t, &x, &p, &mut f);
            TwoBoxEbm.diffusion(t, &x, &p, &mut g);
            let dw = h.sqrt() * zig.sample(&mut s);
            for i in 0..2 {
                x[i] += f[i] * h + g[i] * dw;
            }
            if (j + 1) % 150 == 0 {
                let got = ens.path_state(k, (j + 1) / 150).unwrap();
                for i in 0..2 {
                    worst = worst.max((got[i] - x[i]).abs() / (1.0 + x[i].abs()));
                }
            }
        }
    }
    // Only the rounding of fused multiply-adds may differ, on a contractive recursion.
    assert!(worst < 1e-12, "largest relative difference {worst:e}");
}

/// `dX = A X dt + B dW` with `A = diag(−a₀, −a₁)` and correlated additive noise
/// `B = [[s₀, 0], [ρ s₁, √(1 − ρ²) s₁]]` (so `Q = B Bᵀ` has `Q₀₁ = ρ s₀ s₁`);
/// `p = [a₀, a₁, s₀, s₁, ρ]`.
struct CorrelatedLinear;
impl Sde for CorrelatedLinear {
    fn shape(&self) -> SdeShape {
        SdeShape::additive(2, 2).with_params(5)
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = -(p[0] * x[0]);
        out[1] = -(p[1] * x[1]);
    }
    fn diffusion<R: Real>(&self, _t: R, _x: &[R], p: &[R], out: &mut [R]) {
        // Column-major d × m.
        out[0] = p[2];
        out[1] = p[4] * p[3];
        out[2] = R::zero();
        out[3] = (R::one() - p[4] * p[4]).sqrt() * p[3];
    }
}

#[test]
fn covariance_of_a_linear_sde_matches_its_closed_form() {
    // Euler–Maruyama on the linear SDE is the linear recursion X_{n+1} = (I + hA) X_n + B ΔW,
    // whose covariance from a fixed X₀ is exactly
    //   C_ij(n) = h Q_ij (1 − rⁿ) / (1 − r),  r = (1 − h aᵢ)(1 − h aⱼ),
    // (a geometric sum of (I + hA)^k h Q (I + hA)^k). The sample covariance of N paths has
    // standard deviation √((C_ii C_jj + C_ij²) / (N − 1)) (Gaussian fourth moments).
    let p = [1.5, 0.4, 0.8, 1.2, 0.6];
    let (n_steps, t1) = (200usize, 2.0);
    let h = t1 / n_steps as f64;
    let q = [
        [p[2] * p[2], p[4] * p[2] * p[3]],
        [p[4] * p[2] * p[3], p[3] * p[3]],
    ];
    let problem = SdeProblem::new(CorrelatedLinear, 0.0, t1, vec![1.0, -0.5], p.to_vec()).unwrap();
    let opts = EnsembleOptions {
        n_paths: 20_000,
        seed: 8,
        steps: Steps::Fixed { n_steps },
        save_at: SaveAt::Every(50),
        covariance: true,
        ..Default::default()
    };
    let ens = ensemble(&problem, &EulerMaruyama, &opts).unwrap();
    let n = ens.n_paths as f64;
    assert_eq!(ens.n_save(), 5);
    for k in 1..ens.n_save() {
        let steps = (k * 50) as i32;
        let c = ens.covariance(k).unwrap();
        let exact = |i: usize, j: usize| {
            let r = (1.0 - h * p[i]) * (1.0 - h * p[j]);
            h * q[i][j] * (1.0 - r.powi(steps)) / (1.0 - r)
        };
        for i in 0..2 {
            // The diagonal is the variance (the same arithmetic).
            assert_eq!(c[i * 2 + i].to_bits(), ens.variance(k)[i].to_bits());
            for j in 0..2 {
                let sd = ((exact(i, i) * exact(j, j) + exact(i, j).powi(2)) / (n - 1.0)).sqrt();
                assert!(
                    (c[i * 2 + j] - exact(i, j)).abs() < Z * sd,
                    "save {k}, C[{i}{j}] = {} vs exact {} (sd {sd})",
                    c[i * 2 + j],
                    exact(i, j)
                );
            }
        }
        assert_eq!(c[1].to_bits(), c[2].to_bits(), "symmetric");
    }
    // At t = 0 the state is deterministic.
    assert!(ens.covariance(0).unwrap().iter().all(|&v| v == 0.0));
    assert!(ens.covariance(5).is_none());
    // Without the option there is no covariance.
    let plain = ensemble(
        &problem,
        &EulerMaruyama,
        &EnsembleOptions {
            covariance: false,
            n_paths: 10,
            ..opts
        },
    )
    .unwrap();
    assert!(plain.covariance(1).is_none());
}

#[test]
fn per_path_accessors_read_the_kept_paths() {
    // The accessors against the documented layout `[(path · n_save + k) · d + i]`, and the
    // streamed covariance against the two-pass covariance of the kept cross-sections.
    let p = [1.5, 0.4, 0.8, 1.2, 0.6];
    let problem = SdeProblem::new(CorrelatedLinear, 0.0, 1.0, vec![1.0, -0.5], p.to_vec()).unwrap();
    let opts = EnsembleOptions {
        n_paths: 150, // not a multiple of the block size
        seed: 3,
        steps: Steps::Fixed { n_steps: 20 },
        save_at: SaveAt::Every(10),
        keep_paths: true,
        covariance: true,
        ..Default::default()
    };
    let ens = ensemble(&problem, &EulerMaruyama, &opts).unwrap();
    let (d, ns) = (2, ens.n_save());
    let all = ens.paths.as_ref().unwrap();
    for path in [0, 63, 64, 149] {
        let block = ens.path(path).unwrap();
        assert_eq!(block.len(), ns * d);
        for k in 0..ns {
            for i in 0..d {
                let v = all[(path * ns + k) * d + i];
                assert_eq!(block[k * d + i], v);
                assert_eq!(ens.path_state(path, k).unwrap()[i], v);
                assert_eq!(ens.component(path, i).unwrap()[k], v);
                assert_eq!(ens.cross_section(k, i).unwrap()[path], v);
            }
        }
    }
    assert!(ens.path(150).is_none() && ens.component(0, 2).is_none());
    assert!(ens.cross_section(ns, 0).is_none());
    for k in 0..ns {
        let xs: Vec<Vec<f64>> = (0..d).map(|i| ens.cross_section(k, i).unwrap()).collect();
        let n = xs[0].len() as f64;
        let m: Vec<f64> = xs.iter().map(|x| x.iter().sum::<f64>() / n).collect();
        for i in 0..d {
            for j in 0..d {
                let c = xs[i]
                    .iter()
                    .zip(&xs[j])
                    .map(|(a, b)| (a - m[i]) * (b - m[j]))
                    .sum::<f64>()
                    / (n - 1.0);
                let got = ens.covariance(k).unwrap()[i * d + j];
                assert!(
                    (got - c).abs() <= 1e-12 * (1.0 + c.abs()),
                    "save {k}: {got} vs {c}"
                );
            }
        }
    }
}
