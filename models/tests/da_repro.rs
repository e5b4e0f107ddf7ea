//! Reproducibility: the same seed gives the same numbers, bitwise, whatever the number of
//! threads the LETKF's local analyses run on.

use faer::Par;
use mechml_models::da::analysis::{
    AnalysisScheme, EnsembleFilter, FilterOptions, LetkfOptions, Localization,
};
use mechml_models::da::twin::{
    ExperimentConfig, MethodConfig, MethodKind, ModelConfig, ObsConfig, OperatorConfig, TwinConfig,
    run_twin,
};
use mechml_models::da::{Ensemble, Lorenz96, Model, ObsModel, ObsOperator, Rk4};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

fn letkf_run(par: Par) -> Vec<f64> {
    let n = 200;
    let model = Rk4::new(Lorenz96::new(n, 8.0).unwrap(), 0.05, 1).unwrap();
    let obs = ObsModel::new(ObsOperator::every_kth(n, 2, 1).unwrap(), 1.0).unwrap();
    let mut g = Xoshiro256PlusPlus::seed_from_u64(42);
    let mut truth = vec![8.0; n];
    truth[0] += 0.1;
    for _ in 0..500 {
        model.step(&mut truth);
    }
    let e0 = Ensemble::gaussian(20, &truth, 1.0, &mut g).unwrap();
    let opts = FilterOptions::new(AnalysisScheme::Letkf(LetkfOptions {
        localization: Localization::new(3.0),
    }))
    .inflation(1.05)
    .rotate(true);
    let mut f = EnsembleFilter::new(e0, opts, 7).unwrap().with_par(par);
    for _ in 0..30 {
        model.step(&mut truth);
        let y = obs.sample(&truth, &mut g).unwrap();
        f.forecast(&model, 0.0).unwrap();
        f.analyse(&obs, &y).unwrap();
    }
    f.ensemble().data().to_vec()
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn letkf_is_bitwise_identical_on_one_and_two_threads() {
    let seq = letkf_run(Par::Seq);
    let one = in_pool(1, || letkf_run(Par::rayon(1)));
    let two = in_pool(2, || letkf_run(Par::rayon(2)));
    assert!(seq.iter().all(|v| v.is_finite()));
    assert_eq!(seq, one);
    assert_eq!(seq, two);
}

fn small_config(seed: u64) -> TwinConfig {
    let mut methods = Vec::new();
    for kind in [MethodKind::Enkf, MethodKind::Letkf, MethodKind::EnkfN] {
        let mut m = MethodConfig::new(kind);
        m.members = Some(10);
        if kind != MethodKind::EnkfN {
            m.inflation = Some(1.05);
        }
        if kind == MethodKind::Letkf {
            m.radius = Some(2.0);
            m.rotate = Some(true);
        }
        methods.push(m);
    }
    TwinConfig {
        name: "repro".into(),
        seed,
        model: ModelConfig::Lorenz96 {
            n: 40,
            forcing: 8.0,
            dt: 0.05,
            substeps: 1,
        },
        assimilation_model: None,
        observations: ObsConfig {
            operator: OperatorConfig::Every { k: 1, offset: 0 },
            noise_std: 1.0,
        },
        experiment: ExperimentConfig {
            cycles: 60,
            burn_in: 10,
            spinup: 200,
            init_std: 1.0,
            model_noise_std: 0.1,
            climatology_steps: 500,
            record_fields: 5,
        },
        methods,
    }
}

#[test]
fn twin_experiments_are_reproducible_from_the_seed_at_any_thread_count() {
    let a = in_pool(1, || run_twin(&small_config(3), Par::rayon(1)).unwrap());
    let b = in_pool(2, || run_twin(&small_config(3), Par::rayon(2)).unwrap());
    let c = run_twin(&small_config(3), Par::Seq).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    // The results serialise to JSON and back (to the last digit or so: serde_json's
    // default float parser is not exactly round-trip).
    let json = serde_json::to_string(&a).unwrap();
    let back: mechml_models::da::twin::TwinResults = serde_json::from_str(&json).unwrap();
    for (x, y) in a.methods.iter().zip(&back.methods) {
        assert_eq!(x.label, y.label);
        let (p, q) = (x.summary.rmse_analysis, y.summary.rmse_analysis);
        assert!((p - q).abs() <= 1e-15 * p.abs());
    }
    let d = run_twin(&small_config(4), Par::Seq).unwrap();
    assert_ne!(a.methods[0].analysis.rmse, d.methods[0].analysis.rmse);
    // Methods draw from their own streams: dropping one leaves the others unchanged.
    let mut cfg = small_config(3);
    cfg.methods.remove(1);
    let e = run_twin(&cfg, Par::Seq).unwrap();
    assert_eq!(e.methods[0], a.methods[0]);
}
