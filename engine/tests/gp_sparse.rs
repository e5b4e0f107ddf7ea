//! Collapsed sparse GPs: the identities of Titsias (2009) — the VFE bound is below the
//! exact log marginal likelihood and equal to it when the inducing inputs are the training
//! inputs — and FITC with Z = X equals the exact GP; gradients (hyperparameters, noise,
//! inducing inputs, inputs, outputs) against finite differences; predictions at Z = X
//! against the exact posterior and at Z ≠ X against dense transcriptions of Titsias (2009)
//! and Snelson & Ghahramani (2006); the WORKLOADS.md §7 VFE reference (N = 20,000, data shipped
//! in tests/data).

use faer::Mat;
use mechml_engine::Error;
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_gradient};
use mechml_engine::ad::{Real, Tape, VarMat, VarVec};
use mechml_engine::gp::{
    ExactGp, Inputs, Matern32, SparseData, SparseGp, SparseGpOptions, SparseMethod,
    SquaredExponential, sparse_objective_var,
};
use mechml_engine::gp::{kernel_diag, kernel_matrix};
use mechml_engine::optim::FitOptions;
use mechml_engine::testing::gauss_jordan_inverse;
use mechml_engine::testing::gp_workloads::{data_dir, read_csv, theta0};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

fn problem(n: usize, seed: u64) -> (Inputs, Vec<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let u = Uniform::new(0.0, 1.0).unwrap();
    let e = Normal::new(0.0, 0.1).unwrap();
    let x: Vec<f64> = (0..2 * n).map(|_| u.sample(&mut rng)).collect();
    let y = (0..n)
        .map(|i| (6.0 * x[2 * i]).sin() + x[2 * i + 1] + e.sample(&mut rng))
        .collect();
    (Inputs::new(n, 2, x).unwrap(), y)
}

fn exact_opts() -> SparseGpOptions {
    SparseGpOptions {
        jitter: 0.0,
        ..Default::default()
    }
}

#[test]
fn vfe_is_below_the_exact_likelihood_and_equal_at_z_equals_x() {
    for seed in 0..4u64 {
        let (x, y) = problem(40, seed);
        let k = SquaredExponential::ard(2).unwrap();
        let th = [1.2, 0.3, 0.6, 0.02];
        let exact = ExactGp::new(k.clone(), x.clone(), &y, &th)
            .unwrap()
            .log_marginal_likelihood()
            .unwrap();
        for m in [3usize, 10, 25] {
            let idx: Vec<usize> = (0..m).map(|i| (i * 7 + seed as usize) % 40).collect();
            let z = x.select(&idx).unwrap();
            for jitter in [0.0, 1e-6] {
                let f = SparseGp::new(k.clone(), x.clone(), &y, z.clone(), &th, SparseMethod::Vfe)
                    .unwrap()
                    .with_options(SparseGpOptions {
                        jitter,
                        ..Default::default()
                    })
                    .objective()
                    .unwrap();
                assert!(
                    f <= exact + 1e-9 * exact.abs(),
                    "seed {seed}, M = {m}: VFE {f} > exact {exact}"
                );
            }
        }
        // Z = X: Q = K, the trace term vanishes, and the bound is tight.
        let f = SparseGp::new(k.clone(), x.clone(), &y, x.clone(), &th, SparseMethod::Vfe)
            .unwrap()
            .with_options(exact_opts())
            .objective()
            .unwrap();
        assert!(
            (f - exact).abs() < 1e-8 * exact.abs(),
            "seed {seed}: {f} vs {exact}"
        );
        // The bound grows towards the exact value as inducing inputs are added (nested Z).
        let mut last = f64::NEG_INFINITY;
        for m in [2usize, 5, 10, 20, 40] {
            let z = x.select(&(0..m).collect::<Vec<_>>()).unwrap();
            let f = SparseGp::new(k.clone(), x.clone(), &y, z, &th, SparseMethod::Vfe)
                .unwrap()
                .with_options(exact_opts())
                .objective()
                .unwrap();
            assert!(f >= last - 1e-9 * f.abs(), "M = {m}: {f} < {last}");
            last = f;
        }
    }
}

#[test]
fn fitc_with_z_equals_x_is_the_exact_gp() {
    let (x, y) = problem(35, 9);
    let k = Matern32::ard(2).unwrap();
    let th = [0.8, 0.4, 0.7, 0.05];
    let exact = ExactGp::new(k.clone(), x.clone(), &y, &th).unwrap();
    let fitc = SparseGp::new(k.clone(), x.clone(), &y, x.clone(), &th, SparseMethod::Fitc)
        .unwrap()
        .with_options(exact_opts());
    let a = exact.log_marginal_likelihood().unwrap();
    let b = fitc.objective().unwrap();
    assert!((a - b).abs() < 1e-8 * a.abs(), "{a} vs {b}");
    // Gradients in the shared parameters agree too.
    let ge = exact.lml_and_grad(&exact.params()).unwrap().grad;
    let gs = fitc.objective_and_grad(&fitc.params(), &x).unwrap().grad;
    for (u, v) in ge.iter().zip(&gs) {
        assert!((u - v).abs() < 1e-6 * u.abs().max(1.0), "{u} vs {v}");
    }
    // And so do the predictions (VFE and FITC), mean and variance.
    let xs = Inputs::from_rows(&[[0.2, 0.3], [0.9, 0.1], [2.0, 2.0]]).unwrap();
    let pe = exact.posterior().unwrap().predict(&xs, false).unwrap();
    for method in [SparseMethod::Vfe, SparseMethod::Fitc] {
        let sp = SparseGp::new(k.clone(), x.clone(), &y, x.clone(), &th, method)
            .unwrap()
            .with_options(exact_opts())
            .predict(&xs)
            .unwrap();
        for i in 0..3 {
            assert!(
                (pe.mean[(i, 0)] - sp.mean[(i, 0)]).abs() < 1e-7,
                "{method:?} mean {i}"
            );
            assert!((pe.var[i] - sp.var[i]).abs() < 1e-7, "{method:?} var {i}");
        }
    }
}

#[test]
fn predictions_at_z_not_x_match_dense_formulas() {
    // Inducing inputs drawn apart from the data. Dense formulas with K_uu⁻¹ and Σ by
    // Gauss–Jordan elimination, with the model's jitter j on K_uu:
    //   VFE (Titsias 2009, eq. 6): D = σ² I;
    //   FITC (Snelson & Ghahramani 2006, eq. 8, latent f): D = diag(K_ff − Q_ff) + σ² I;
    //   Σ = (K_uu + K_uf D⁻¹ K_fu)⁻¹, μ = K_*u Σ K_uf D⁻¹ y,
    //   v = k_** − K_*u K_uu⁻¹ K_u* + K_*u Σ K_u*.
    let (x, y) = problem(40, 17);
    let (n, m) = (40, 7);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let u = Uniform::new(-0.1, 1.1).unwrap();
    let z = Inputs::new(m, 2, (0..2 * m).map(|_| u.sample(&mut rng)).collect()).unwrap();
    let xs = Inputs::from_rows(&[
        [0.15, 0.8],
        [0.5, 0.5],
        [0.93, 0.07],
        [1.6, -0.4],
        [12.0, 12.0],
    ])
    .unwrap();
    let k = Matern32::ard(2).unwrap();
    let tk = [1.3, 0.45, 0.8];
    let (s2, jitter) = (0.04, 1e-6);
    let th = [1.3, 0.45, 0.8, s2];
    let kuu = kernel_matrix(&k, &tk, &z, None).unwrap();
    let mut kuu_j = kuu.clone();
    for i in 0..m {
        kuu_j[(i, i)] += jitter;
    }
    let kuu_inv = gauss_jordan_inverse(kuu_j.as_ref()).unwrap();
    let kuf = kernel_matrix(&k, &tk, &z, Some(&x)).unwrap();
    let kus = kernel_matrix(&k, &tk, &z, Some(&xs)).unwrap();
    let kss = kernel_diag(&k, &tk, &xs).unwrap();
    let kff = kernel_diag(&k, &tk, &x).unwrap();
    let qff = kuf.transpose() * &kuu_inv * &kuf;
    let ym = Mat::from_fn(n, 1, |i, _| y[i]);
    for method in [SparseMethod::Vfe, SparseMethod::Fitc] {
        let dinv: Vec<f64> = (0..n)
            .map(|i| match method {
                SparseMethod::Vfe => 1.0 / s2,
                SparseMethod::Fitc => 1.0 / ((kff[i] - qff[(i, i)]).max(0.0) + s2),
            })
            .collect();
        let kuf_dinv = Mat::from_fn(m, n, |i, j| kuf[(i, j)] * dinv[j]);
        let sigma = gauss_jordan_inverse((&kuu_j + &kuf_dinv * kuf.transpose()).as_ref()).unwrap();
        let mean = kus.transpose() * &sigma * &kuf_dinv * &ym;
        let var = |i: usize| {
            let c = kus.col(i);
            let a = c.transpose() * &kuu_inv * c;
            let b = c.transpose() * &sigma * c;
            kss[i] - a + b
        };
        let pred = SparseGp::new(k.clone(), x.clone(), &y, z.clone(), &th, method)
            .unwrap()
            .with_options(SparseGpOptions {
                jitter,
                ..Default::default()
            })
            .predict(&xs)
            .unwrap();
        assert!((pred.noise_variance - s2).abs() < 1e-15);
        for i in 0..xs.n() {
            assert!(
                (pred.mean[(i, 0)] - mean[(i, 0)]).abs() < 1e-9 * mean[(i, 0)].abs().max(1.0),
                "{method:?} mean {i}: {} vs {}",
                pred.mean[(i, 0)],
                mean[(i, 0)]
            );
            assert!(
                (pred.var[i] - var(i)).abs() < 1e-9 * kss[i],
                "{method:?} var {i}: {} vs {}",
                pred.var[i],
                var(i)
            );
        }
        // Far from data and inducing inputs: the prior.
        assert!(pred.mean[(4, 0)].abs() < 1e-9 && (pred.var[4] - 1.3).abs() < 1e-9);
    }
    // The two methods differ at Z ≠ X (FITC's heteroscedastic D), so each formula is
    // checked against its own method.
    let pv = |method| {
        SparseGp::new(k.clone(), x.clone(), &y, z.clone(), &th, method)
            .unwrap()
            .predict(&xs)
            .unwrap()
            .mean[(1, 0)]
    };
    assert!((pv(SparseMethod::Vfe) - pv(SparseMethod::Fitc)).abs() > 1e-4);
}

#[test]
fn gradients_match_finite_differences() {
    let (x, y) = problem(30, 5);
    let z =
        Inputs::from_rows(&[[0.1, 0.2], [0.5, 0.5], [0.8, 0.3], [0.3, 0.9], [0.7, 0.8]]).unwrap();
    for method in [SparseMethod::Vfe, SparseMethod::Fitc] {
        let k = SquaredExponential::ard(2).unwrap();
        let th = [1.1, 0.35, 0.5, 0.03];
        let gp = SparseGp::new(k.clone(), x.clone(), &y, z.clone(), &th, method).unwrap();
        let p = gp.params();
        let np = p.len();
        // Hyperparameters on the unconstrained (log) scale, then Z.
        let mut v: Vec<f64> = p.iter().map(|t| t.ln()).collect();
        v.extend_from_slice(z.as_slice());
        let r = gp.objective_and_grad(&p, &z).unwrap();
        let mut analytic = r.grad_unconstrained.clone();
        analytic.extend(&r.grad_z);
        let value = |v: &[f64]| {
            let z = Inputs::new(5, 2, v[np..].to_vec()).unwrap();
            let th: Vec<f64> = v[..np].iter().map(|t| t.exp()).collect();
            gp.objective_and_grad(&th, &z).map(|r| r.value)
        };
        let rep = check_gradient(value, &v, &analytic, GradCheckOptions::tol(1e-6, 1e-7)).unwrap();
        assert!(rep.passed, "{method:?}: {rep}");

        // The tape block, also in the training inputs and outputs (hyperparameters on the
        // log scale, mapped by exp on the tape).
        let tape = Tape::new();
        let logp: Vec<f64> = p.iter().map(|t| t.ln()).collect();
        let lp = tape.vars(&logp);
        let pv = tape
            .stack(&lp.iter().map(|v| v.exp()).collect::<Vec<_>>())
            .unwrap();
        let zm = tape.var_mat(5, 2, &z.to_col_major()).unwrap();
        let xm = tape.var_mat(30, 2, &x.to_col_major()).unwrap();
        let yv = tape.var_vec(&y);
        let opts = SparseGpOptions::default();
        let data = SparseData {
            z: &zm,
            x: &xm,
            y: &yv,
        };
        let f = sparse_objective_var(&tape, &k, method, &pv, data, &opts).unwrap();
        assert!((f.val() - r.value).abs() < 1e-12 * r.value.abs());
        let adj = tape.gradient(&f).unwrap();
        let mut analytic = adj.wrt_slice(&lp);
        analytic.extend(adj.wrt_mat(&zm));
        analytic.extend(adj.wrt_mat(&xm));
        analytic.extend(adj.wrt_vec(&yv));
        let mut w = logp.clone();
        w.extend(z.to_col_major());
        w.extend(x.to_col_major());
        w.extend(&y);
        let value = |w: &[f64]| {
            let t = Tape::new();
            let pv = VarVec::constant(w[..np].iter().map(|t| t.exp()).collect());
            let zm = VarMat::constant(5, 2, w[np..np + 10].to_vec())?;
            let xm = VarMat::constant(30, 2, w[np + 10..np + 70].to_vec())?;
            let yv = VarVec::constant(w[np + 70..].to_vec());
            let data = SparseData {
                z: &zm,
                x: &xm,
                y: &yv,
            };
            Ok(sparse_objective_var(&t, &k, method, &pv, data, &opts)?.val())
        };
        let rep = check_gradient(value, &w, &analytic, GradCheckOptions::tol(1e-6, 1e-7)).unwrap();
        assert!(rep.passed, "{method:?} tape: {rep}");
    }
}

#[test]
fn fitting_improves_the_bound_and_predicts() {
    let (x, y) = problem(120, 3);
    let z = x.select(&[0, 10, 20, 30, 40, 50, 60, 70]).unwrap();
    let k = SquaredExponential::ard(2).unwrap();
    let th = [1.0, 0.5, 0.5, 0.1];
    for method in [SparseMethod::Vfe, SparseMethod::Fitc] {
        let mut gp = SparseGp::new(k.clone(), x.clone(), &y, z.clone(), &th, method).unwrap();
        let before = gp.objective().unwrap();
        let report = gp.fit(&FitOptions::default()).unwrap();
        assert!(report.objective > before, "{method:?}");
        assert!((gp.objective().unwrap() - report.objective).abs() < 1e-9 * report.objective.abs());
        assert!(
            report
                .optim
                .trace
                .windows(2)
                .all(|w| w[1].value <= w[0].value)
        );
        // At the fitted hyperparameters the VFE bound is still below the exact log
        // marginal likelihood. (FITC's objective is no bound: it may exceed the exact
        // likelihood and typically shrinks the homoscedastic noise towards 0, using
        // diag(K − Q) as input-dependent noise; Bauer, van der Wilk & Rasmussen 2016.)
        if method == SparseMethod::Vfe {
            let exact = ExactGp::new(gp.kernel().clone(), x.clone(), &y, &gp.params())
                .unwrap()
                .log_marginal_likelihood()
                .unwrap();
            assert!(report.objective <= exact, "{} > {exact}", report.objective);
        }
    }
}

#[test]
fn bad_input_is_an_error() {
    let (x, y) = problem(10, 1);
    let k = SquaredExponential::isotropic();
    let th = [1.0, 0.5, 0.1];
    // Inducing inputs of the wrong dimension are named as such (`z`), not as `y`.
    let z1 = Inputs::from_1d(&[0.5]).unwrap();
    match SparseGp::new(k.clone(), x.clone(), &y, z1.clone(), &th, SparseMethod::Vfe) {
        Err(Error::ShapeMismatch { arg, .. }) => assert_eq!(arg, "z"),
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    let gp = SparseGp::new(
        k.clone(),
        x.clone(),
        &y,
        Inputs::from_rows(&[[0.5, 0.5]]).unwrap(),
        &th,
        SparseMethod::Vfe,
    )
    .unwrap();
    match gp.objective_and_grad(&th, &z1) {
        Err(Error::ShapeMismatch { arg, .. }) => assert_eq!(arg, "z"),
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    let tape = Tape::new();
    let (zm, xm) = (
        VarMat::constant(1, 1, vec![0.5]).unwrap(),
        VarMat::constant(10, 2, x.to_col_major()).unwrap(),
    );
    let yv = VarVec::constant(y.clone());
    let data = SparseData {
        z: &zm,
        x: &xm,
        y: &yv,
    };
    let pv = tape.var_vec(&th);
    let opts = SparseGpOptions::default();
    match sparse_objective_var(&tape, &k, SparseMethod::Vfe, &pv, data, &opts) {
        Err(Error::ShapeMismatch { arg, .. }) => assert_eq!(arg, "z"),
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    let zdup = Inputs::from_rows(&[[0.5, 0.5], [0.5, 0.5]]).unwrap();
    let gp = SparseGp::new(k.clone(), x.clone(), &y, zdup, &th, SparseMethod::Vfe)
        .unwrap()
        .with_options(exact_opts());
    assert!(gp.objective().is_err());
    assert!(
        SparseGp::new(
            k,
            x,
            &y[..5],
            Inputs::from_rows(&[[0.5, 0.5]]).unwrap(),
            &th,
            SparseMethod::Vfe
        )
        .is_err()
    );
}

#[test]
fn fixing_the_inducing_group_keeps_z() {
    // `fixed: ["inducing"]` (formerly `optimise_inducing = false`): Z stays, θ moves, and
    // the optimiser's coordinates are the free hyperparameters only.
    let (x, y) = problem(60, 4);
    let z = x.select(&[0, 15, 30, 45]).unwrap();
    let mut gp = SparseGp::new(
        SquaredExponential::ard(2).unwrap(),
        x,
        &y,
        z.clone(),
        &[1.0, 0.5, 0.5, 0.1],
        SparseMethod::Vfe,
    )
    .unwrap();
    let before = gp.objective().unwrap();
    let report = gp
        .fit(&FitOptions::default().fixing(&["inducing", "noise_variance"]))
        .unwrap();
    assert_eq!(gp.inducing(), &z);
    assert_eq!(gp.noise_variance(), 0.1);
    assert_eq!(
        report.free_names,
        ["variance", "lengthscale[0]", "lengthscale[1]"]
    );
    assert!(report.objective > before);
    // With Z free, the coordinates continue with inducing[i][k].
    let report = gp.fit(&FitOptions::default()).unwrap();
    assert_eq!(report.free_names.len(), 4 + 8);
    assert_eq!(report.free_names[4], "inducing[0][0]");
    assert_ne!(gp.inducing(), &z);
}

#[test]
fn workload_reference_vfe_n20000() {
    // WORKLOADS.md §5b/§7: N = 20,000, M = 256 (Z = first 256 rows of X), jitter 1e-6;
    // the values were computed by the peers (hand-written JAX and gpjax).
    let (x, y) = read_csv(&data_dir().join("gp_n20000.csv"), None).unwrap();
    assert_eq!(x.n(), 20_000);
    // θ₀ of WORKLOADS.md (log ℓ₁, log ℓ₂, log ℓ₃, log σ², log σ_n²) in the model's order
    // (σ², ℓ₁, ℓ₂, ℓ₃, σ_n²) and scale; the reference gradient is on the log scale.
    let t = theta0();
    let th: Vec<f64> = [t[3], t[0], t[1], t[2], t[4]]
        .iter()
        .map(|v| v.exp())
        .collect();
    let k = SquaredExponential::ard(3).unwrap();
    let z = x.select(&(0..256).collect::<Vec<_>>()).unwrap();
    let gp = SparseGp::new(k, x, &y, z.clone(), &th, SparseMethod::Vfe).unwrap();
    let r = gp.objective_and_grad(&th, &z).unwrap();
    let names = [
        "lengthscale[0]",
        "lengthscale[1]",
        "lengthscale[2]",
        "variance",
        "noise_variance",
    ];
    let grad: Vec<f64> = names
        .iter()
        .map(|n| r.grad_unconstrained[gp.layout().index_of(n).unwrap()])
        .collect();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(rel(r.value, 17447.448187159258) < 1e-9, "{}", r.value);
    let want = [
        107.09866405910519,
        103.36472474187269,
        82.58973662762602,
        -30.182207337464206,
        23.295682715756325,
    ];
    for (g, w) in grad.iter().zip(want) {
        assert!(rel(*g, w) < 1e-7, "{g} vs {w}");
    }
}

#[test]
fn greedy_variance_is_a_pivoted_cholesky_of_k() {
    use mechml_engine::gp::greedy_variance;
    let (x, _) = problem(60, 21);
    let k = SquaredExponential::ard(2).unwrap();
    let tk = [1.0, 0.3, 0.4];
    let sel = greedy_variance(&k, &tk, &x, 12, 0.0).unwrap();
    assert_eq!(sel.indices.len(), 12);
    let mut sorted = sel.indices.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 12, "indices must be distinct");
    // The reported residual trace equals tr(K_ff − K_fu K_uu⁻¹ K_uf), computed here with a
    // Cholesky solve, after every addition; and it decreases.
    let kd = kernel_diag(&k, &tk, &x).unwrap();
    for m in 1..=12 {
        let z = x.select(&sel.indices[..m]).unwrap();
        let kuu = kernel_matrix(&k, &tk, &z, None).unwrap();
        let kuf = kernel_matrix(&k, &tk, &z, Some(&x)).unwrap();
        let l = kuu.llt(faer::Side::Lower).unwrap();
        let mut w = kuf.clone();
        l.L().solve_lower_triangular_in_place(w.as_mut());
        let tr: f64 = (0..60).map(|i| kd[i] - w.col(i).squared_norm_l2()).sum();
        assert!(
            (tr - sel.residual_trace[m - 1]).abs() < 1e-9 * kd.iter().sum::<f64>(),
            "m = {m}"
        );
        if m > 1 {
            assert!(sel.residual_trace[m - 1] <= sel.residual_trace[m - 2]);
        }
    }
    // The first choice has the largest prior variance (all equal: index 0 by the tie rule),
    // and the second is the point least explained by it.
    assert_eq!(sel.indices[0], 0);
    // Early stop at a tolerance.
    let few = greedy_variance(&k, &tk, &x, 60, 0.5).unwrap();
    assert!(few.indices.len() < 60);
    assert!(greedy_variance(&k, &tk, &x, 0, 0.0).is_err());
}

#[test]
fn kmeans_plus_plus_finds_separated_clusters() {
    use mechml_engine::gp::kmeans;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let e = Normal::new(0.0, 0.05).unwrap();
    let centres = [[0.0, 0.0], [5.0, 5.0], [-5.0, 4.0]];
    let mut pts = Vec::new();
    for c in &centres {
        for _ in 0..30 {
            pts.push(c[0] + e.sample(&mut rng));
            pts.push(c[1] + e.sample(&mut rng));
        }
    }
    let x = Inputs::new(90, 2, pts).unwrap();
    for seed in 0..5 {
        let z = kmeans(&x, 3, 0, seed).unwrap();
        // Seeding alone picks data points, one per cluster.
        let mut hit = [false; 3];
        for j in 0..3 {
            let p = z.point(j);
            assert!(
                (0..90).any(|i| x.point(i) == p),
                "seed centres are data points"
            );
            for (c, h) in centres.iter().zip(hit.iter_mut()) {
                if (p[0] - c[0]).abs() < 0.5 && (p[1] - c[1]).abs() < 0.5 {
                    *h = true;
                }
            }
        }
        assert!(hit.iter().all(|h| *h), "seed {seed}: {:?}", z);
        // Lloyd steps move the centres to the cluster means.
        let zl = kmeans(&x, 3, 20, seed).unwrap();
        for j in 0..3 {
            let p = zl.point(j);
            let c = centres.iter().find(|c| (p[0] - c[0]).abs() < 0.5).unwrap();
            assert!((p[0] - c[0]).abs() < 0.05 && (p[1] - c[1]).abs() < 0.05);
        }
        assert_eq!(kmeans(&x, 3, 20, seed).unwrap(), zl, "reproducible");
    }
}
