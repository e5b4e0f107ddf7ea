//! NUTS on targets with known moments: correlated Gaussians (d = 2, 10, 100) recover
//! their mean and covariance within Monte Carlo error (tolerances z × MCSE, MCSE from
//! the chains' effective sample size); the draws are bitwise the same on 1 and 2
//! threads; options and failures give errors naming what and where.

mod infer_common;

use infer_common::{Gaussian, GaussianByHand, ar1_cov, check_expectation, inverse};
use mechml_engine::Error;
use mechml_engine::infer::{Init, MetricKind, NutsOptions, TapeDensity, sample};

fn check_moments(
    post: &mechml_engine::infer::Posterior,
    mean: &[f64],
    cov: &[f64],
    pairs: &[(usize, usize)],
    z: f64,
) {
    let d = mean.len();
    for i in 0..d {
        check_expectation(post, &format!("mean[{i}]"), |x| x[i], mean[i], z);
    }
    for &(i, j) in pairs {
        check_expectation(
            post,
            &format!("cov[{i},{j}]"),
            |x| (x[i] - mean[i]) * (x[j] - mean[j]),
            cov[i * d + j],
            z,
        );
    }
}

fn all_pairs(d: usize) -> Vec<(usize, usize)> {
    (0..d).flat_map(|i| (i..d).map(move |j| (i, j))).collect()
}

#[test]
fn correlated_gaussian_d2() {
    let cov = vec![1.0, 0.8 * 3.0, 0.8 * 3.0, 9.0];
    let mean = vec![1.0, -2.0];
    let target = Gaussian {
        mean: mean.clone(),
        prec: inverse(&cov, 2),
    };
    let opts = NutsOptions {
        n_chains: 4,
        n_warmup: 500,
        n_draws: 500,
        seed: 11,
        ..Default::default()
    };
    let post = sample(&TapeDensity::new(target), &opts).unwrap();
    assert_eq!(post.diagnostics.divergences, 0);
    assert!(post.summary.max_rhat().unwrap() < 1.01);
    check_moments(&post, &mean, &cov, &all_pairs(2), 4.0);
}

#[test]
fn correlated_gaussian_d10_diagonal_and_dense() {
    let d = 10;
    let scales: Vec<f64> = (0..d).map(|i| 0.5 + 0.25 * i as f64).collect();
    let cov = ar1_cov(&scales, 0.8);
    let mean: Vec<f64> = (0..d).map(|i| i as f64 - 4.5).collect();
    let target = TapeDensity::new(Gaussian {
        mean: mean.clone(),
        prec: inverse(&cov, d),
    });
    for metric in [MetricKind::Diagonal, MetricKind::Dense] {
        let opts = NutsOptions {
            n_chains: 4,
            n_warmup: 500,
            n_draws: 500,
            metric,
            seed: 5,
            ..Default::default()
        };
        let post = sample(&target, &opts).unwrap();
        assert_eq!(post.diagnostics.divergences, 0, "{metric:?}");
        assert!(post.summary.max_rhat().unwrap() < 1.02, "{metric:?}");
        check_moments(&post, &mean, &cov, &all_pairs(d), 4.5);
        // The adapted diagonal metric approximates the marginal variances.
        if metric == MetricKind::Diagonal {
            for c in &post.chains {
                for i in 0..d {
                    let r = c.inv_metric[i] / cov[i * d + i];
                    assert!((0.5..2.0).contains(&r), "inv_metric[{i}] / var = {r}");
                }
            }
        }
    }
}

#[test]
fn correlated_gaussian_d100() {
    // WORKLOADS.md §8.2: Σ_ij = 0.9^|i−j|, diagonal metric.
    let d = 100;
    let cov = ar1_cov(&vec![1.0; d], 0.9);
    let target = GaussianByHand {
        prec: inverse(&cov, d),
        d,
    };
    let opts = NutsOptions {
        n_chains: 4,
        n_warmup: 1000,
        n_draws: 500,
        seed: 3,
        ..Default::default()
    };
    let post = sample(&target, &opts).unwrap();
    assert_eq!(post.diagnostics.divergences, 0);
    assert!(
        post.summary.max_rhat().unwrap() < 1.02,
        "{}",
        post.summary.max_rhat().unwrap()
    );
    let pairs: Vec<(usize, usize)> = (0..d)
        .flat_map(|i| {
            [0usize, 1, 5]
                .into_iter()
                .filter(move |k| i + k < d)
                .map(move |k| (i, i + k))
        })
        .collect();
    // 100 means and 294 second moments: z = 5 keeps the family-wise false-alarm rate
    // below 2·10⁻⁴ for independent tests.
    check_moments(&post, &vec![0.0; d], &cov, &pairs, 5.0);
}

#[test]
fn same_draws_on_one_and_two_threads() {
    let cov = ar1_cov(&[1.0, 2.0, 0.5], 0.5);
    let target = TapeDensity::new(Gaussian {
        mean: vec![0.0; 3],
        prec: inverse(&cov, 3),
    });
    let opts = NutsOptions {
        n_chains: 3,
        n_warmup: 150,
        n_draws: 100,
        seed: 99,
        ..Default::default()
    };
    let run = |threads: usize| {
        // The density moves into the pool (a tape is Send, not Sync).
        let (t, o) = (target.clone(), opts.clone());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(move || sample(&t, &o).unwrap())
    };
    let (a, b) = (run(1), run(2));
    let sequential = sample(
        &target,
        &NutsOptions {
            parallel: false,
            ..opts.clone()
        },
    )
    .unwrap();
    for (x, y) in [(&a, &b), (&a, &sequential)] {
        assert_eq!(x.chains.len(), y.chains.len());
        for (c1, c2) in x.chains.iter().zip(&y.chains) {
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&c1.draws), bits(&c2.draws));
            assert_eq!(c1.stats, c2.stats);
        }
    }
    // Different chains are different streams.
    assert_ne!(a.chains[0].draws, a.chains[1].draws);
}

#[test]
fn errors_name_the_option_chain_and_iteration() {
    let target = TapeDensity::new(Gaussian {
        mean: vec![0.0; 2],
        prec: vec![1.0, 0.0, 0.0, 1.0],
    });
    for (opts, name) in [
        (
            NutsOptions {
                n_chains: 0,
                ..Default::default()
            },
            "n_chains",
        ),
        (
            NutsOptions {
                max_depth: 0,
                ..Default::default()
            },
            "max_depth",
        ),
        (
            NutsOptions {
                n_draws: 0,
                ..Default::default()
            },
            "n_draws",
        ),
        (
            NutsOptions {
                n_warmup: usize::MAX,
                ..Default::default()
            },
            "n_warmup + n_draws",
        ),
        (
            NutsOptions {
                adapt: mechml_engine::infer::AdaptOptions {
                    target_accept: 1.0,
                    ..Default::default()
                },
                ..Default::default()
            },
            "adapt.target_accept",
        ),
    ] {
        match sample(&target, &opts) {
            Err(Error::InvalidOption { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let wrong_len = NutsOptions {
        init: Init::Point(vec![0.0; 3]),
        ..Default::default()
    };
    assert!(matches!(
        sample(&target, &wrong_len),
        Err(Error::ShapeMismatch { arg: "init", .. })
    ));

    // A log density that is -inf everywhere: the chain cannot start.
    let nowhere = mechml_engine::infer::TapeFn::new(2, |_t: &mechml_engine::ad::Tape, _x| {
        Ok(mechml_engine::ad::Var::constant(f64::NEG_INFINITY))
    });
    let opts = NutsOptions {
        n_chains: 2,
        n_warmup: 10,
        n_draws: 10,
        ..Default::default()
    };
    match sample(&nowhere, &opts) {
        Err(Error::Sampling {
            chain: 0,
            iteration: 0,
            warmup: true,
            source,
        }) => {
            assert!(source.to_string().contains("finite"), "{source}");
        }
        other => panic!("{other:?}"),
    }
}
