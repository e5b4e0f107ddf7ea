//! Gradient-enhanced GP: the joint covariance of values and derivatives against finite
//! differences of the kernel, the likelihood gradient against central differences, and
//! derivatives buying accuracy with fewer runs.

use mechml_engine::ad::gradcheck::{GradCheckOptions, check_gradient};
use mechml_engine::gp::Inputs;
use mechml_models::emulator::design::lhs;
use mechml_models::emulator::gp::{
    EmulatorOptions, GpEmulator, GradientGp, GradientGpOptions, joint_covariance_block,
};

#[test]
fn joint_covariance_matches_differences_of_the_kernel() {
    let (var, ls) = (1.7, [0.4, 0.9, 0.6]);
    let k = |x: &[f64], y: &[f64]| joint_covariance_block(var, &ls, x, y)[0];
    let x = [0.2, 0.5, 0.9];
    let y = [0.35, 0.1, 0.7];
    let b = joint_covariance_block(var, &ls, &x, &y);
    let h = 1e-4;
    let shift = |p: &[f64], i: usize, e: f64| {
        let mut q = p.to_vec();
        q[i] += e;
        q
    };
    for l in 0..3 {
        // cov(f(x), ∂_l f(y)) = ∂k/∂y_l; cov(∂_l f(x), f(y)) = ∂k/∂x_l.
        let dy = (k(&x, &shift(&y, l, h)) - k(&x, &shift(&y, l, -h))) / (2.0 * h);
        let dx = (k(&shift(&x, l, h), &y) - k(&shift(&x, l, -h), &y)) / (2.0 * h);
        assert!((b[1 + l] - dy).abs() < 1e-7, "{l}: {} vs {dy}", b[1 + l]);
        assert!(
            (b[(1 + l) * 4] - dx).abs() < 1e-7,
            "{l}: {} vs {dx}",
            b[(1 + l) * 4]
        );
        for m in 0..3 {
            // cov(∂_l f(x), ∂_m f(y)) = ∂²k/∂x_l∂y_m.
            let d2 = (k(&shift(&x, l, h), &shift(&y, m, h))
                - k(&shift(&x, l, h), &shift(&y, m, -h))
                - k(&shift(&x, l, -h), &shift(&y, m, h))
                + k(&shift(&x, l, -h), &shift(&y, m, -h)))
                / (4.0 * h * h);
            assert!(
                (b[(1 + l) * 4 + 1 + m] - d2).abs() < 1e-5,
                "{l},{m}: {} vs {d2}",
                b[(1 + l) * 4 + 1 + m]
            );
        }
    }
}

fn f(p: &[f64]) -> f64 {
    (3.0 * p[0]).sin() + (2.0 * p[1]).cos() * p[0]
}

fn grad(p: &[f64]) -> [f64; 2] {
    [
        3.0 * (3.0 * p[0]).cos() + (2.0 * p[1]).cos(),
        -2.0 * (2.0 * p[1]).sin() * p[0],
    ]
}

#[test]
fn likelihood_gradient_matches_central_differences() {
    let d = lhs(6, 2, 1).unwrap();
    let y: Vec<f64> = (0..6).map(|i| f(d.point(i))).collect();
    let dy: Vec<f64> = (0..6).flat_map(|i| grad(d.point(i))).collect();
    let t = [0.8, 0.45, 0.7];
    let gp = GradientGp::with_params(
        d.to_inputs().unwrap(),
        &y,
        &dy,
        &GradientGpOptions::default(),
        &t,
    )
    .unwrap();
    let (v, g) = gp.log_likelihood_grad(&t).unwrap();
    assert!((v - gp.log_likelihood()).abs() < 1e-10 * v.abs());
    let rep = check_gradient(
        |t| Ok(gp.log_likelihood_grad(t)?.0),
        &t,
        &g,
        GradCheckOptions::tol(1e-5, 1e-5),
    )
    .unwrap();
    assert!(rep.passed, "{rep}");
}

/// On `f(x) = sin(3x₁) + x₁ cos(2x₂)` over the unit square: a gradient-enhanced GP on 6
/// LHS runs (value and gradient each) has a lower RMSE on a 20 × 20 grid than an ordinary
/// GP emulator on 12 LHS runs (values only).
#[test]
fn derivatives_give_lower_error_with_fewer_runs() {
    let g = 20;
    let pts: Vec<f64> = (0..g * g)
        .flat_map(|k| {
            [
                (k % g) as f64 / (g - 1) as f64,
                (k / g) as f64 / (g - 1) as f64,
            ]
        })
        .collect();
    let grid = Inputs::new(g * g, 2, pts.clone()).unwrap();
    let rmse = |m: &[f64]| {
        ((0..g * g)
            .map(|k| (m[k] - f(&pts[2 * k..2 * k + 2])).powi(2))
            .sum::<f64>()
            / (g * g) as f64)
            .sqrt()
    };
    let d6 = lhs(6, 2, 2).unwrap();
    let y6: Vec<f64> = (0..6).map(|i| f(d6.point(i))).collect();
    let dy6: Vec<f64> = (0..6).flat_map(|i| grad(d6.point(i))).collect();
    let ge = GradientGp::fit(
        d6.to_inputs().unwrap(),
        &y6,
        &dy6,
        &GradientGpOptions::default(),
    )
    .unwrap();
    let e_ge = rmse(&ge.predict(&grid).unwrap().mean);
    let d12 = lhs(12, 2, 2).unwrap();
    let y12: Vec<f64> = (0..12).map(|i| f(d12.point(i))).collect();
    let plain =
        GpEmulator::fit(d12.to_inputs().unwrap(), &y12, &EmulatorOptions::default()).unwrap();
    let e_plain = rmse(&plain.predict(&grid).unwrap().mean);
    assert!(
        e_ge < e_plain,
        "gradient-enhanced (6 runs) {e_ge} vs plain (12 runs) {e_plain}"
    );
}
