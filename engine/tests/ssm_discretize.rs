//! Exact discretisation against reference values (WORKLOADS.md sections 3b and 6, computed
//! with scipy's expm), against fine-step integration of the mean and covariance ODEs, and
//! against an Euler–Maruyama ensemble.
#![allow(clippy::needless_range_loop)]

use mechml_engine::ssm::discretize::{ContinuousLinearSde, discretize, stationary_covariance};
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The two-box EBM of WORKLOADS 3b with unit input (u = 1 carries the forcing F).
fn ebm2box() -> ContinuousLinearSde<f64> {
    let (c, cd, lam, gam, f, sig) = (8.0, 100.0, 1.3, 0.7, 3.7, 0.5);
    let a = vec![-(lam + gam) / c, gam / cd, gam / c, -gam / cd];
    let b = vec![f / c, 0.0];
    let g = [sig / c, 0.0];
    ContinuousLinearSde::with_loading(2, 1, a, b, &g, 1).unwrap()
}

fn close(a: f64, b: f64, rtol: f64) -> bool {
    (a - b).abs() <= rtol * b.abs().max(1e-300)
}

#[test]
fn workloads_section6_discrete_matrices() {
    let d = discretize(&ebm2box(), 1.0).unwrap();
    // Column-major Φ from the row-major reference.
    let phi = [0.77905986, 0.00617168, 0.07714602, 0.99330536];
    let u = [0.40926021, 0.00148841];
    let q = [
        3.07456428e-03,
        1.06805342e-05,
        1.06805342e-05,
        5.28416555e-08,
    ];
    for i in 0..4 {
        // Φ and u are printed to 8 decimals, Q to 9 significant digits.
        assert!(
            (d.phi[i] - phi[i]).abs() < 6e-9,
            "Φ[{i}] = {} vs {}",
            d.phi[i],
            phi[i]
        );
        assert!(close(d.q[i], q[i], 1e-8), "Q[{i}] = {} vs {}", d.q[i], q[i]);
    }
    for i in 0..2 {
        assert!(
            (d.gamma[i] - u[i]).abs() < 6e-9,
            "u[{i}] = {} vs {}",
            d.gamma[i],
            u[i]
        );
    }
}

#[test]
fn workloads_section3b_exact_moments_at_200_years() {
    // One step of 200 years from x = 0, and 200 steps of one year, both exact.
    let big = discretize(&ebm2box(), 200.0).unwrap();
    let small = discretize(&ebm2box(), 1.0).unwrap();
    let mut m = [0.0; 2];
    let mut p = [0.0; 4];
    for _ in 0..200 {
        let mn = [
            small.phi[0] * m[0] + small.phi[2] * m[1] + small.gamma[0],
            small.phi[1] * m[0] + small.phi[3] * m[1] + small.gamma[1],
        ];
        let mut pn = [0.0; 4];
        for i in 0..2 {
            for j in 0..2 {
                let mut s = small.q[i + 2 * j];
                for a in 0..2 {
                    for b in 0..2 {
                        s += small.phi[i + 2 * a] * p[a + 2 * b] * small.phi[j + 2 * b];
                    }
                }
                pn[i + 2 * j] = s;
            }
        }
        m = mn;
        p = pn;
    }
    let refs = [
        (big.gamma[0], m[0], 2.426646382954945),
        (big.gamma[1], m[1], 1.6691599293605068),
        (big.q[0], p[0], 0.007919841114432611),
        (big.q[3], p[3], 0.00027038794426580885),
    ];
    for (k, (one_step, stepped, reference)) in refs.iter().enumerate() {
        assert!(
            close(*one_step, *reference, 1e-11),
            "{k}: one step {one_step} vs {reference}"
        );
        assert!(
            close(*stepped, *reference, 1e-11),
            "{k}: 200 steps {stepped} vs {reference}"
        );
    }
}

/// RK4 on x' = A x + B u and on P' = A P + P Aᵀ + W (no matrix exponential involved).
#[test]
fn fine_step_ode_integration_agrees() {
    let n = 3;
    let a = vec![-0.9, 0.3, 0.1, 0.2, -0.5, 0.25, -0.1, 0.4, -1.2];
    let b = vec![1.0, 0.0, 0.5, -0.3, 0.2, 0.1];
    let w = vec![0.5, 0.1, 0.0, 0.1, 0.3, 0.05, 0.0, 0.05, 0.2];
    let sde = ContinuousLinearSde::new(n, 2, a.clone(), b.clone(), w.clone()).unwrap();
    let dt = 1.7;
    let d = discretize(&sde, dt).unwrap();
    let x0 = [0.4, -1.0, 2.0];
    let u = [0.7, -0.2];
    let rhs = |x: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| {
                (0..n).map(|j| a[i + j * n] * x[j]).sum::<f64>()
                    + (0..2).map(|l| b[i + l * n] * u[l]).sum::<f64>()
            })
            .collect()
    };
    let prhs = |p: &[f64]| -> Vec<f64> {
        let mut out = w.clone();
        for i in 0..n {
            for j in 0..n {
                for l in 0..n {
                    out[i + j * n] += a[i + l * n] * p[l + j * n] + p[i + l * n] * a[j + l * n];
                }
            }
        }
        out
    };
    let steps = 4000;
    let h = dt / steps as f64;
    let rk4 = |y: &mut Vec<f64>, f: &dyn Fn(&[f64]) -> Vec<f64>| {
        let k1 = f(y);
        let y2: Vec<f64> = y.iter().zip(&k1).map(|(a, k)| a + 0.5 * h * k).collect();
        let k2 = f(&y2);
        let y3: Vec<f64> = y.iter().zip(&k2).map(|(a, k)| a + 0.5 * h * k).collect();
        let k3 = f(&y3);
        let y4: Vec<f64> = y.iter().zip(&k3).map(|(a, k)| a + h * k).collect();
        let k4 = f(&y4);
        for i in 0..y.len() {
            y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    };
    let mut x = x0.to_vec();
    let mut p = vec![0.0; n * n];
    for _ in 0..steps {
        rk4(&mut x, &rhs);
        rk4(&mut p, &prhs);
    }
    for i in 0..n {
        let exact: f64 = (0..n).map(|j| d.phi[i + j * n] * x0[j]).sum::<f64>()
            + (0..2).map(|l| d.gamma[i + l * n] * u[l]).sum::<f64>();
        assert!(
            (exact - x[i]).abs() < 1e-11,
            "mean {i}: {exact} vs RK4 {}",
            x[i]
        );
    }
    for i in 0..n * n {
        assert!(
            (d.q[i] - p[i]).abs() < 1e-11,
            "Q[{i}]: {} vs RK4 {}",
            d.q[i],
            p[i]
        );
    }
}

#[test]
fn euler_maruyama_ensemble_agrees() {
    let sde = ebm2box();
    let dt = 1.0;
    let d = discretize(&sde, dt).unwrap();
    let paths = 4000;
    let sub = 400;
    let h = dt / sub as f64;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let (a, b) = (&sde.a, &sde.b);
    let g0 = sde.w[0].sqrt();
    let mut s1 = [0.0; 2];
    let mut s2 = [0.0; 3];
    let x0 = [0.5, 0.2];
    for _ in 0..paths {
        let mut x = x0;
        for _ in 0..sub {
            let z: f64 = rng.sample(StandardNormal);
            let dx0 = (a[0] * x[0] + a[2] * x[1] + b[0]) * h + g0 * h.sqrt() * z;
            let dx1 = (a[1] * x[0] + a[3] * x[1] + b[1]) * h;
            x = [x[0] + dx0, x[1] + dx1];
        }
        let mean = [
            d.phi[0] * x0[0] + d.phi[2] * x0[1] + d.gamma[0],
            d.phi[1] * x0[0] + d.phi[3] * x0[1] + d.gamma[1],
        ];
        let e = [x[0] - mean[0], x[1] - mean[1]];
        s1[0] += e[0];
        s1[1] += e[1];
        s2[0] += e[0] * e[0];
        s2[1] += e[0] * e[1];
        s2[2] += e[1] * e[1];
    }
    let np = paths as f64;
    // Deviation of the sample mean from the exact mean, in standard errors.
    for (i, qi) in [(0, d.q[0]), (1, d.q[3])] {
        let se = (qi / np).sqrt();
        assert!(
            (s1[i] / np).abs() < 4.5 * se,
            "mean {i}: bias {} (se {se})",
            s1[i] / np
        );
    }
    let var0 = s2[0] / np;
    assert!(
        (var0 - d.q[0]).abs() < 4.5 * d.q[0] * (2.0 / np).sqrt(),
        "var: {var0} vs {}",
        d.q[0]
    );
    let cov01 = s2[1] / np;
    let se01 = ((d.q[0] * d.q[3] + d.q[1] * d.q[1]) / np).sqrt();
    assert!(
        (cov01 - d.q[1]).abs() < 4.5 * se01,
        "cov: {cov01} vs {}",
        d.q[1]
    );
}

#[test]
fn stationary_covariance_solves_lyapunov() {
    let d = discretize(&ebm2box(), 1.0).unwrap();
    let p = stationary_covariance(&d.phi, &d.q, 2).unwrap();
    for i in 0..2 {
        for j in 0..2 {
            let mut s = d.q[i + 2 * j];
            for a in 0..2 {
                for b in 0..2 {
                    s += d.phi[i + 2 * a] * p[a + 2 * b] * d.phi[j + 2 * b];
                }
            }
            assert!((s - p[i + 2 * j]).abs() < 1e-14);
        }
    }
}
