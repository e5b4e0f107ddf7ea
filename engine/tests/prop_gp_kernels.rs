//! Property tests of the kernels: `K(X, X)` symmetric positive semi-definite on random
//! inputs; every kernel's pullback (hyperparameters and both inputs, full, symmetric and
//! diagonal) against finite differences; the analytic fast paths against the default
//! dual-number path and against the kernel recorded entry by entry on the tape.

use faer::{Mat, MatRef, Side};
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ad::{Real, Tape};
use mechml_engine::gp::{
    Inputs, Kernel, KernelExt, Linear, Matern12, Matern32, Matern52, Periodic, RationalQuadratic,
    SquaredExponential, White, fold_symmetric, kernel_matrix_theta, kernel_matrix_var,
};
use mechml_engine::{Error, Result};
use proptest::prelude::*;

/// A kernel that implements only the required methods, so every matrix operation runs
/// through the trait's default (dual-number) path.
#[derive(Clone, Debug)]
struct DefaultPaths<K>(K);

impl<K: Kernel> Kernel for DefaultPaths<K> {
    fn n_params(&self) -> usize {
        self.0.n_params()
    }
    fn param_names(&self) -> Vec<String> {
        self.0.param_names()
    }
    fn params(&self) -> Vec<f64> {
        self.0.params()
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        self.0.set_params(theta)
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        self.0.eval(theta, x, y)
    }
}

const D: usize = 2;

fn all_kernels() -> Vec<(&'static str, Box<dyn Fn(&mut Checker)>)> {
    vec![
        (
            "se_iso",
            Box::new(|c| c.run(&SquaredExponential::new(0.7, 1.3).unwrap())),
        ),
        (
            "se_ard",
            Box::new(|c| c.run(&SquaredExponential::ard(&[0.7, 1.9], 1.3).unwrap())),
        ),
        (
            "matern12",
            Box::new(|c| c.run(&Matern12::ard(&[0.8, 1.1], 0.9).unwrap())),
        ),
        (
            "matern32",
            Box::new(|c| c.run(&Matern32::ard(&[0.8, 1.1], 0.9).unwrap())),
        ),
        (
            "matern52",
            Box::new(|c| c.run(&Matern52::new(0.6, 2.0).unwrap())),
        ),
        (
            "rq",
            Box::new(|c| c.run(&RationalQuadratic::ard(&[0.8, 1.4], 1.1, 0.7).unwrap())),
        ),
        (
            "periodic",
            Box::new(|c| c.run(&Periodic::ard(&[0.9, 1.3], 1.2, 0.8).unwrap())),
        ),
        (
            "linear",
            Box::new(|c| c.run(&Linear::ard(&[0.5, 2.0]).unwrap())),
        ),
        ("white", Box::new(|c| c.run(&White::new(0.3).unwrap()))),
        (
            "sum",
            Box::new(|c| {
                c.run(
                    &SquaredExponential::new(0.7, 1.0)
                        .unwrap()
                        .plus(Linear::new(0.4).unwrap()),
                )
            }),
        ),
        (
            "product",
            Box::new(|c| {
                c.run(
                    &Matern32::new(0.9, 1.0)
                        .unwrap()
                        .times(Periodic::new(1.0, 0.5, 1.5).unwrap()),
                )
            }),
        ),
        (
            "scaled",
            Box::new(|c| {
                c.run(
                    &Matern52::ard(&[0.5, 0.9], 1.0)
                        .unwrap()
                        .scaled(2.5)
                        .unwrap(),
                )
            }),
        ),
        (
            "active_dims",
            Box::new(|c| {
                c.run(
                    &SquaredExponential::new(0.6, 1.0)
                        .unwrap()
                        .on_dims(&[1])
                        .unwrap()
                        .plus(Matern12::new(1.2, 0.5).unwrap().on_dims(&[0]).unwrap()),
                )
            }),
        ),
    ]
}

/// Random inputs, adjoint weights and a parameter perturbation for one case.
struct Checker {
    x: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
    dtheta: Vec<f64>,
    n: usize,
    m: usize,
    failures: Vec<String>,
}

fn frob(a: MatRef<'_, f64>, w: &[f64]) -> f64 {
    let n = a.nrows();
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..n {
            s += a[(i, j)] * w[i + j * n];
        }
    }
    s
}

fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a - b).abs() <= atol + rtol * a.abs().max(b.abs())
}

impl Checker {
    fn run<K: Kernel>(&mut self, k: &K) {
        let (n, m) = (self.n, self.m);
        let p = k.n_params();
        let theta: Vec<f64> = k
            .params()
            .iter()
            .zip(self.dtheta.iter().cycle())
            .map(|(t, d)| t + d)
            .collect();
        // Coordinates on a perturbed grid, distinct in every dimension between any two
        // points (Matérn-1/2 is not differentiable where coordinates coincide), also after
        // proptest shrinks the raw values towards 0: point i has coordinate k near
        // 0.35 i (k = 0) or 0.35 (count − 1 − i) (k = 1), y shifted by 0.17.
        let spread = |raw: &[f64], count: usize, shift: f64| -> Vec<f64> {
            (0..count * D)
                .map(|t| {
                    let (i, k) = (t / D, t % D);
                    let slot = if k == 0 { i } else { count - 1 - i };
                    0.35 * slot as f64 + shift + 0.05 * raw[t]
                })
                .collect()
        };
        let x = Inputs::new(n, D, spread(&self.x, n, 0.0)).unwrap();
        let y = Inputs::new(m, D, spread(&self.y, m, 0.17)).unwrap();
        let name = format!("{k:?}");

        // 1. K(X, X) symmetric PSD.
        let kxx = kernel_matrix_theta(k, &theta, &x, None).unwrap();
        let scale = (0..n).map(|i| kxx[(i, i)].abs()).fold(1e-300, f64::max);
        for i in 0..n {
            for j in 0..n {
                if kxx[(i, j)] != kxx[(j, i)] {
                    self.failures.push(format!("{name}: not symmetric"));
                }
            }
        }
        let eig = kxx.self_adjoint_eigenvalues(Side::Lower).unwrap();
        let min = eig.iter().cloned().fold(f64::INFINITY, f64::min);
        if min < -1e-12 * n as f64 * scale {
            self.failures
                .push(format!("{name}: min eigenvalue {min:e}"));
        }

        // 2. Pullbacks vs finite differences: φ = Σ W ∘ K over θ, X, Y (cross), θ, X (sym),
        //    θ, X (diag).
        let wall = self.w.clone();
        let w_cross = &wall[..n * m];
        let w_sym = &wall[..n * n];
        let pack = |th: &[f64], a: &Inputs, b: Option<&Inputs>| {
            let mut v = th.to_vec();
            v.extend_from_slice(a.as_slice());
            if let Some(b) = b {
                v.extend_from_slice(b.as_slice());
            }
            v
        };
        let unpack = |v: &[f64], nb: Option<usize>| -> (Vec<f64>, Inputs, Option<Inputs>) {
            let th = v[..p].to_vec();
            let a = Inputs::new(n, D, v[p..p + n * D].to_vec()).unwrap();
            let b =
                nb.map(|nb| Inputs::new(nb, D, v[p + n * D..p + (n + nb) * D].to_vec()).unwrap());
            (th, a, b)
        };
        // Cross.
        let fd = finite_diff_gradient(
            |v| {
                let (th, a, b) = unpack(v, Some(m));
                Ok(frob(
                    kernel_matrix_theta(k, &th, &a, b.as_ref())?.as_ref(),
                    w_cross,
                ))
            },
            &pack(&theta, &x, Some(&y)),
            None,
        )
        .unwrap();
        let mut g = vec![0.0; p + (n + m) * D];
        {
            let (gt, rest) = g.split_at_mut(p);
            let (gx, gy) = rest.split_at_mut(n * D);
            let wm = MatRef::from_column_major_slice(w_cross, n, m);
            k.matrix_pullback(&theta, &x, Some(&y), wm, gt, Some(gx), Some(gy));
        }
        self.compare(&name, "cross", &g, &fd);
        // Symmetric.
        let fd = finite_diff_gradient(
            |v| {
                let (th, a, _) = unpack(v, None);
                Ok(frob(kernel_matrix_theta(k, &th, &a, None)?.as_ref(), w_sym))
            },
            &pack(&theta, &x, None),
            None,
        )
        .unwrap();
        let mut g = vec![0.0; p + n * D];
        {
            let (gt, gx) = g.split_at_mut(p);
            let wf = fold_symmetric(MatRef::from_column_major_slice(w_sym, n, n));
            k.matrix_pullback(&theta, &x, None, wf.as_ref(), gt, Some(gx), None);
        }
        self.compare(&name, "symmetric", &g, &fd);
        // Diagonal.
        let wd = &wall[..n];
        let diag_val = |th: &[f64], a: &Inputs| {
            let mut out = vec![0.0; n];
            k.diag_into(th, a, &mut out);
            out.iter().zip(wd).map(|(o, w)| o * w).sum::<f64>()
        };
        let fd = finite_diff_gradient(
            |v| {
                let (th, a, _) = unpack(v, None);
                Ok(diag_val(&th, &a))
            },
            &pack(&theta, &x, None),
            None,
        )
        .unwrap();
        let mut g = vec![0.0; p + n * D];
        {
            let (gt, gx) = g.split_at_mut(p);
            k.diag_pullback(&theta, &x, wd, gt, Some(gx));
        }
        self.compare(&name, "diag", &g, &fd);
        // The diagonal agrees with the matrix's.
        let mut dg = vec![0.0; n];
        k.diag_into(&theta, &x, &mut dg);
        for i in 0..n {
            if !close(dg[i], kxx[(i, i)], 1e-14, 1e-300) {
                self.failures
                    .push(format!("{name}: diag {i} {} vs {}", dg[i], kxx[(i, i)]));
            }
        }

        // 3. Fast path vs the default dual path (values and pullbacks), cross case.
        let dp = DefaultPaths(k.clone());
        let kd = kernel_matrix_theta(&dp, &theta, &x, Some(&y)).unwrap();
        let kf = kernel_matrix_theta(k, &theta, &x, Some(&y)).unwrap();
        for j in 0..m {
            for i in 0..n {
                if !close(kd[(i, j)], kf[(i, j)], 1e-13, 1e-300) {
                    self.failures
                        .push(format!("{name}: default path value ({i},{j})"));
                }
            }
        }
        let wm = MatRef::from_column_major_slice(w_cross, n, m);
        let mut g1 = vec![0.0; p + (n + m) * D];
        let mut g2 = vec![0.0; p + (n + m) * D];
        for (kk, g) in [(0, &mut g1), (1, &mut g2)] {
            let (gt, rest) = g.split_at_mut(p);
            let (gx, gy) = rest.split_at_mut(n * D);
            if kk == 0 {
                k.matrix_pullback(&theta, &x, Some(&y), wm, gt, Some(gx), Some(gy));
            } else {
                dp.matrix_pullback(&theta, &x, Some(&y), wm, gt, Some(gx), Some(gy));
            }
        }
        for (a, b) in g1.iter().zip(&g2) {
            if !close(*a, *b, 1e-11, 1e-12) {
                self.failures
                    .push(format!("{name}: default path pullback {a} vs {b}"));
                break;
            }
        }

        // 4. The block on the tape vs the kernel recorded entry by entry with scalar ops.
        let tape = Tape::new();
        let tv = tape.var_vec(&theta);
        let xm = tape.var_mat(n, D, &x.to_col_major()).unwrap();
        let km = kernel_matrix_var(&tape, k, &tv, &xm, None).unwrap();
        let wv = mechml_engine::ad::VarMat::constant(n, n, w_sym.to_vec()).unwrap();
        let prod = tape.mul(&km.flatten(), &wv.flatten()).unwrap();
        let s = tape.sum(&prod).unwrap();
        let adj = tape.gradient(&s).unwrap();
        let (gt_block, gx_block) = (adj.wrt_vec(&tv), adj.wrt_mat(&xm));
        let tape2 = Tape::new();
        let th2 = tape2.vars(&theta);
        let xs2 = tape2.vars(x.as_slice());
        let mut acc = tape2.var(0.0) * 0.0;
        for j in 0..n {
            for i in 0..n {
                let e = k.eval(&th2, &xs2[i * D..(i + 1) * D], &xs2[j * D..(j + 1) * D]);
                acc += e * w_sym[i + j * n];
            }
        }
        let adj2 = tape2.gradient(&acc).unwrap();
        let gt_scalar = adj2.wrt_slice(&th2);
        let gx_scalar = adj2.wrt_slice(&xs2);
        if !close(s.val(), acc.val(), 1e-12, 1e-12) {
            self.failures.push(format!("{name}: tape value"));
        }
        for (a, b) in gt_block.iter().zip(&gt_scalar) {
            if !close(*a, *b, 1e-10, 1e-11) {
                self.failures
                    .push(format!("{name}: tape θ-gradient {a} vs {b}"));
            }
        }
        for i in 0..n {
            for c in 0..D {
                let (a, b) = (gx_block[i + c * n], gx_scalar[i * D + c]);
                if !close(a, b, 1e-10, 1e-11) {
                    self.failures
                        .push(format!("{name}: tape x-gradient {a} vs {b}"));
                }
            }
        }
    }

    fn compare(&mut self, name: &str, what: &str, analytic: &[f64], numeric: &[f64]) {
        for (i, (a, b)) in analytic.iter().zip(numeric).enumerate() {
            if !close(*a, *b, 1e-6, 1e-7) {
                self.failures.push(format!(
                    "{name} {what}: component {i}: analytic {a:e} vs finite difference {b:e}"
                ));
                return;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn kernels_psd_and_pullbacks_match_finite_differences(
        n in 1usize..7,
        m in 1usize..5,
        x in proptest::collection::vec(-1.5f64..1.5, 12),
        y in proptest::collection::vec(-1.5f64..1.5, 8),
        w in proptest::collection::vec(-1.0f64..1.0, 36),
        dtheta in proptest::collection::vec(-0.3f64..0.3, 4),
    ) {
        let mut c = Checker { x, y, w, dtheta, n, m, failures: Vec::new() };
        for (_, run) in all_kernels() {
            run(&mut c);
        }
        prop_assert!(c.failures.is_empty(), "{}", c.failures.join("\n"));
    }
}

#[test]
fn closed_form_values() {
    // Independent transcriptions of R&W (2006) eqs. 4.9, 4.14, 4.17, 4.19, 4.31.
    let x = Inputs::from_rows(&[[0.1, -0.4]]).unwrap();
    let y = Inputs::from_rows(&[[0.7, 0.3]]).unwrap();
    let (l0, l1, s2) = (0.8_f64, 1.7_f64, 1.9_f64);
    let r = ((0.6 / l0).powi(2) + (0.7 / l1).powi(2)).sqrt();
    let at = |k: &dyn Fn() -> Mat<f64>| k()[(0, 0)];
    let cases: Vec<(f64, f64)> = vec![
        (
            at(&|| {
                mechml_engine::gp::kernel_matrix(
                    &SquaredExponential::ard(&[l0, l1], s2).unwrap(),
                    &x,
                    Some(&y),
                )
                .unwrap()
            }),
            s2 * (-r * r / 2.0).exp(),
        ),
        (
            at(&|| {
                mechml_engine::gp::kernel_matrix(
                    &Matern12::ard(&[l0, l1], s2).unwrap(),
                    &x,
                    Some(&y),
                )
                .unwrap()
            }),
            s2 * (-r).exp(),
        ),
        (
            at(&|| {
                mechml_engine::gp::kernel_matrix(
                    &Matern32::ard(&[l0, l1], s2).unwrap(),
                    &x,
                    Some(&y),
                )
                .unwrap()
            }),
            s2 * (1.0 + 3f64.sqrt() * r) * (-(3f64.sqrt()) * r).exp(),
        ),
        (
            at(&|| {
                mechml_engine::gp::kernel_matrix(
                    &Matern52::ard(&[l0, l1], s2).unwrap(),
                    &x,
                    Some(&y),
                )
                .unwrap()
            }),
            s2 * (1.0 + 5f64.sqrt() * r + 5.0 * r * r / 3.0) * (-(5f64.sqrt()) * r).exp(),
        ),
        (
            at(&|| {
                mechml_engine::gp::kernel_matrix(
                    &RationalQuadratic::ard(&[l0, l1], s2, 0.6).unwrap(),
                    &x,
                    Some(&y),
                )
                .unwrap()
            }),
            s2 * (1.0 + r * r / (2.0 * 0.6)).powf(-0.6),
        ),
        (
            at(&|| {
                mechml_engine::gp::kernel_matrix(
                    &Periodic::ard(&[l0, l1], s2, 1.3).unwrap(),
                    &x,
                    Some(&y),
                )
                .unwrap()
            }),
            s2 * (-2.0
                * ((std::f64::consts::PI * 0.6 / 1.3).sin().powi(2) / (l0 * l0)
                    + (std::f64::consts::PI * 0.7 / 1.3).sin().powi(2) / (l1 * l1)))
                .exp(),
        ),
        (
            at(&|| {
                mechml_engine::gp::kernel_matrix(&Linear::ard(&[0.5, 2.0]).unwrap(), &x, Some(&y))
                    .unwrap()
            }),
            0.5 * 0.1 * 0.7 + 2.0 * -0.4 * 0.3,
        ),
    ];
    for (i, (got, want)) in cases.iter().enumerate() {
        assert!(
            (got - want).abs() < 1e-14 * want.abs().max(1.0),
            "case {i}: {got} vs {want}"
        );
    }
    // Rational quadratic → squared exponential as α → ∞ (R&W eq. 4.19 remark).
    let rq = RationalQuadratic::new(0.7, 1.0, 1e8).unwrap();
    let se = SquaredExponential::new(0.7, 1.0).unwrap();
    let a = mechml_engine::gp::kernel_matrix(&rq, &x, Some(&y)).unwrap()[(0, 0)];
    let b = mechml_engine::gp::kernel_matrix(&se, &x, Some(&y)).unwrap()[(0, 0)];
    assert!((a - b).abs() < 1e-7);
}

#[test]
fn white_noise_is_per_observation() {
    let x = Inputs::from_1d(&[0.0, 0.0, 1.0]).unwrap();
    let k = White::new(0.25).unwrap();
    let kxx = mechml_engine::gp::kernel_matrix(&k, &x, None).unwrap();
    let kxy = mechml_engine::gp::kernel_matrix(&k, &x, Some(&x)).unwrap();
    for i in 0..3 {
        for j in 0..3 {
            assert_eq!(kxx[(i, j)], if i == j { 0.25 } else { 0.0 });
            assert_eq!(kxy[(i, j)], 0.0);
        }
    }
}

#[test]
fn bad_inputs_are_errors() {
    let x = Inputs::from_rows(&[[0.0, 1.0, 2.0]]).unwrap();
    let ard = SquaredExponential::ard(&[1.0, 1.0], 1.0).unwrap();
    assert!(matches!(
        mechml_engine::gp::kernel_matrix(&ard, &x, None),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(SquaredExponential::new(-1.0, 1.0).is_err());
    assert!(SquaredExponential::new(1.0, f64::NAN).is_err());
    assert!(Inputs::new(1, 2, vec![0.0, f64::INFINITY]).is_err());
    let mut k = SquaredExponential::new(1.0, 1.0).unwrap();
    assert!(k.set_params(&[0.0]).is_err());
    assert!(
        SquaredExponential::new(1.0, 1.0)
            .unwrap()
            .on_dims(&[])
            .is_err()
    );
    let y = Inputs::from_rows(&[[0.0, 1.0]]).unwrap();
    let iso = SquaredExponential::new(1.0, 1.0).unwrap();
    assert!(mechml_engine::gp::kernel_matrix(&iso, &x, Some(&y)).is_err());
    // Overflowing hyperparameters give a non-finite error, not NaNs.
    let big = Linear::new(1.0).unwrap();
    let r = kernel_matrix_theta(&big, &[800.0], &x, None);
    assert!(matches!(r, Err(Error::NonFinite { .. })), "{r:?}");
    // Kernel matrix on the tape with a wrong-length θ.
    let tape = Tape::new();
    let th = tape.var_vec(&[0.0]);
    let xm = tape.var_mat(1, 3, x.as_slice()).unwrap();
    assert!(kernel_matrix_var(&tape, &iso, &th, &xm, None).is_err());
}
