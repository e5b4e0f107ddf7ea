//! 4D-Var on Lorenz-96: the adjoint gradient of the nonlinear cost against central finite
//! differences, and the incremental minimiser as a stationary point of that cost.

use faer::Mat;
use mechml_models::da::obs::Nonlinearity;
use mechml_models::da::var4d::{Var4dOptions, Var4dProblem, WindowObs};
use mechml_models::da::{Lorenz96, Model, ObsModel, ObsOperator, Rk4};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

const N: usize = 10;

fn setup() -> (Rk4<Lorenz96>, Vec<f64>, Vec<f64>, Mat<f64>, ObsModel, ObsModel, Vec<Vec<f64>>) {
    let model = Rk4::new(Lorenz96::new(N, 8.0).unwrap(), 0.05, 1).unwrap();
    let mut g = Xoshiro256PlusPlus::seed_from_u64(1);
    let mut truth: Vec<f64> = (0..N).map(|i| 8.0 + (i as f64).sin()).collect();
    for _ in 0..300 {
        model.step(&mut truth);
    }
    let xb: Vec<f64> = truth.iter().enumerate().map(|(i, v)| v + 0.5 * (i as f64 * 1.7).cos()).collect();
    let b = Mat::from_fn(N, N, |i, j| {
        let d = i.abs_diff(j).min(N - i.abs_diff(j)) as f64;
        0.5 * (-d * d / 4.0).exp() + if i == j { 0.05 } else { 0.0 }
    });
    let l = mechml_engine::linalg::Llt::factor(b.as_ref(), faer::Par::Seq).unwrap().l().to_owned();
    let direct = ObsModel::new(ObsOperator::every_kth(N, 2, 0).unwrap(), 0.5).unwrap();
    let squared = ObsModel::new(ObsOperator::nonlinear(N, vec![1, 4, 7], Nonlinearity::Square).unwrap(), 2.0).unwrap();
    let mut x = truth.clone();
    let mut ys = Vec::new();
    for k in 0..=5 {
        if k > 0 {
            model.step(&mut x);
        }
        let o = if k % 2 == 0 { &direct } else { &squared };
        ys.push(o.sample(&x, &mut g).unwrap());
    }
    (model, truth, xb, l, direct, squared, ys)
}

#[test]
fn var4d_gradient_matches_finite_differences() {
    let (model, _truth, xb, l, direct, squared, ys) = setup();
    let wobs: Vec<WindowObs<'_>> = ys
        .iter()
        .enumerate()
        .map(|(k, y)| WindowObs { step: k, obs: if k % 2 == 0 { &direct } else { &squared }, y })
        .collect();
    let problem = Var4dProblem { model: &model, xb: &xb, b_chol: &l, len: 5, obs: &wobs };
    let x0: Vec<f64> = xb.iter().enumerate().map(|(i, v)| v + 0.1 * (i as f64).sin()).collect();
    let (_, g) = problem.cost_grad(&x0).unwrap();
    for i in 0..N {
        let h = 1e-5;
        let mut xp = x0.clone();
        let mut xm = x0.clone();
        xp[i] += h;
        xm[i] -= h;
        let fd = (problem.cost_grad(&xp).unwrap().0 - problem.cost_grad(&xm).unwrap().0) / (2.0 * h);
        assert!((fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()), "[{i}] fd {fd} adjoint {}", g[i]);
    }
}

#[test]
fn incremental_var4d_reaches_a_stationary_point_and_improves_on_the_background() {
    let (model, truth, xb, l, direct, squared, ys) = setup();
    let wobs: Vec<WindowObs<'_>> = ys
        .iter()
        .enumerate()
        .map(|(k, y)| WindowObs { step: k, obs: if k % 2 == 0 { &direct } else { &squared }, y })
        .collect();
    let problem = Var4dProblem { model: &model, xb: &xb, b_chol: &l, len: 5, obs: &wobs };
    let wa = problem.solve(&Var4dOptions { outer_loops: 6, ..Var4dOptions::default() }).unwrap();
    let (jb, _) = problem.cost_grad(&xb).unwrap();
    let (ja, g) = problem.cost_grad(&wa.x0).unwrap();
    assert!(ja < jb);
    let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(gn < 1e-5, "gradient norm at the analysis {gn}");
    let err = |x: &[f64]| x.iter().zip(&truth).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    assert!(err(&wa.x0) < 0.5 * err(&xb), "{} vs {}", err(&wa.x0), err(&xb));
}
