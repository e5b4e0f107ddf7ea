//! Property tests of the kernels: `K(X, X)` symmetric positive semi-definite on random,
//! clustered and near-duplicate inputs in 1–3 dimensions over wide hyperparameter ranges;
//! every kernel's pullback (hyperparameters and both inputs, full, symmetric and diagonal)
//! against finite differences; the tape blocks `kernel_matrix_var` (symmetric and
//! cross-covariance) and `kernel_diag_var` against finite differences; the analytic fast
//! paths against the default dual-number path and against the kernel recorded entry by
//! entry on the tape.

use faer::{Mat, MatRef, Side};
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ad::{Real, Tape, VarMat, VarVec};
use mechml_engine::gp::{
    Inputs, Kernel, KernelAdjoints, KernelExt, Linear, Matern12, Matern32, Matern52, Periodic,
    RationalQuadratic, SquaredExponential, White, fold_symmetric, kernel_diag_var, kernel_matrix,
    kernel_matrix_var,
};
use mechml_engine::param::ParamLayout;
use mechml_engine::{Error, Result};
use proptest::prelude::*;

/// A kernel that implements only the required methods, so every matrix operation runs
/// through the trait's default (dual-number) path.
#[derive(Clone, Debug)]
struct DefaultPaths<K>(K);

impl<K: Kernel> Kernel for DefaultPaths<K> {
    fn layout(&self) -> Result<ParamLayout> {
        self.0.layout()
    }
    fn n_params(&self) -> usize {
        self.0.n_params()
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        self.0.eval(theta, x, y)
    }
}

// ---------------------------------------------------------------------------------------
// 1. Positive semi-definiteness on genuinely random inputs.
// ---------------------------------------------------------------------------------------

/// Offsets of a point from its cluster centre: exact duplicates, near-duplicates at several
/// scales, and well-separated points.
const OFFSET_SCALES: [f64; 7] = [0.0, 1e-12, 1e-9, 1e-6, 1e-3, 0.1, 1.0];

/// `n ≤ 12` points in `d ∈ {1, 2, 3}` dimensions, each drawn around one of up to four
/// random centres in `[−2, 2]^d` at a random offset scale from [`OFFSET_SCALES`].
fn clustered_inputs() -> impl Strategy<Value = Inputs> {
    (1usize..=3, 1usize..=12)
        .prop_flat_map(|(d, n)| {
            (
                Just(d),
                Just(n),
                proptest::collection::vec(-2.0f64..2.0, 4 * d),
                proptest::collection::vec(0usize..4, n),
                proptest::collection::vec(0usize..OFFSET_SCALES.len(), n),
                proptest::collection::vec(-1.0f64..1.0, n * d),
            )
        })
        .prop_map(|(d, n, centres, cluster, scale, dir)| {
            let mut v = Vec::with_capacity(n * d);
            for i in 0..n {
                for k in 0..d {
                    v.push(centres[cluster[i] * d + k] + OFFSET_SCALES[scale[i]] * dir[i * d + k]);
                }
            }
            Inputs::new(n, d, v).unwrap()
        })
}

/// Hyperparameters on the natural scale, drawn log-uniformly over wide ranges:
/// lengthscales `e^{±3}`, variances `e^{±5}`, RQ `α ∈ e^{±3}`, periods `e^{[−2, 2.5]}`,
/// linear variances `e^{±4}`, scale `e^{±3}`.
#[derive(Clone, Debug)]
struct Hyper {
    ls: Vec<f64>,
    var: f64,
    alpha: f64,
    period: f64,
    lin: Vec<f64>,
    scale: f64,
}

fn hyper() -> impl Strategy<Value = Hyper> {
    (
        proptest::collection::vec(-3.0f64..3.0, 3),
        -5.0f64..5.0,
        -3.0f64..3.0,
        -2.0f64..2.5,
        proptest::collection::vec(-4.0f64..4.0, 3),
        -3.0f64..3.0,
    )
        .prop_map(|(ls, var, alpha, period, lin, scale)| Hyper {
            ls: ls.iter().map(|v| v.exp()).collect(),
            var: var.exp(),
            alpha: alpha.exp(),
            period: period.exp(),
            lin: lin.iter().map(|v| v.exp()).collect(),
            scale: scale.exp(),
        })
}

/// Relative round-off allowance `c` in `λ_min ≥ −c ε n ‖K‖₂`. Each entry is computed to a
/// few ulp of the kernel's scale (a handful of operations and the vectorised `exp`), so the
/// computed matrix is `K + E` with `‖E‖₂ ≤ n max|Eᵢⱼ| ≤ c₁ ε n ‖K‖₂`; the symmetric
/// eigensolver is backward stable with a perturbation of the same order (Golub & Van Loan
/// 2013, §8.3). The periodic kernel's argument `π (x − x')/p` reaches `~10²` here, which
/// costs up to `~10²` ulp in an entry, hence the margin.
const PSD_ULPS: f64 = 64.0;

/// `K(X, X)` of a kernel at `θ`, symmetric and with `λ_min ≥ −c ε n ‖K‖₂`.
fn check_psd<K: Kernel>(name: &str, k: &K, theta: &[f64], x: &Inputs, failures: &mut Vec<String>) {
    let n = x.n();
    let kxx = match kernel_matrix(k, theta, x, None) {
        Ok(m) => m,
        Err(e) => {
            failures.push(format!("{name}: {e}"));
            return;
        }
    };
    for j in 0..n {
        for i in 0..j {
            if kxx[(i, j)] != kxx[(j, i)] {
                failures.push(format!("{name}: not symmetric at ({i}, {j})"));
                return;
            }
        }
    }
    let eig = kxx.self_adjoint_eigenvalues(Side::Lower).unwrap();
    let norm = eig.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let min = eig.iter().cloned().fold(f64::INFINITY, f64::min);
    let tol = PSD_ULPS * f64::EPSILON * n as f64 * norm;
    if min < -tol {
        failures.push(format!(
            "{name}: min eigenvalue {min:e} < −{tol:e} (‖K‖₂ = {norm:e}, n = {n})"
        ));
    }
}

/// `[head…, tail…]`.
fn cat(head: &[f64], tail: &[f64]) -> Vec<f64> {
    let mut v = head.to_vec();
    v.extend_from_slice(tail);
    v
}

/// Every kernel (and combinations) at the hyperparameters `h`, for `d`-dimensional inputs.
fn check_all_psd(h: &Hyper, x: &Inputs) -> Vec<String> {
    let d = x.d();
    let ls = &h.ls[..d];
    let lin = &h.lin[..d];
    let mut f = Vec::new();
    let se = SquaredExponential::ard(d).unwrap();
    let se_t = cat(&[h.var], ls);
    check_psd("se_ard", &se, &se_t, x, &mut f);
    let iso = SquaredExponential::isotropic();
    check_psd("se_iso", &iso, &[h.var, h.ls[0]], x, &mut f);
    check_psd("matern12", &Matern12::ard(d).unwrap(), &se_t, x, &mut f);
    let m32 = Matern32::ard(d).unwrap();
    check_psd("matern32", &m32, &se_t, x, &mut f);
    let m52 = Matern52::ard(d).unwrap();
    check_psd("matern52", &m52, &se_t, x, &mut f);
    let rq = RationalQuadratic::ard(d).unwrap();
    check_psd("rq", &rq, &cat(&se_t, &[h.alpha]), x, &mut f);
    let per = Periodic::ard(d).unwrap();
    check_psd("periodic", &per, &cat(&se_t, &[h.period]), x, &mut f);
    let linear = Linear::ard(d).unwrap();
    check_psd("linear", &linear, lin, x, &mut f);
    check_psd("white", &White::new(), &[h.var], x, &mut f);
    check_psd(
        "sum",
        &se.clone().plus(linear.clone()),
        &cat(&se_t, lin),
        x,
        &mut f,
    );
    // One variance for the product: σ² · 1.
    let prod_t = cat(&se_t, &[h.ls[1], h.period]);
    check_psd(
        "product",
        &m32.times(Periodic::isotropic()),
        &prod_t,
        x,
        &mut f,
    );
    check_psd("scaled", &m52.scaled(), &cat(&[h.scale], &se_t), x, &mut f);
    // Kernels on subsets of the dimensions (the last and the first, in that order).
    let dims: Vec<usize> = if d == 1 { vec![0] } else { vec![d - 1, 0] };
    let q = dims.len();
    let sub = SquaredExponential::ard(q)
        .unwrap()
        .on_dims(&dims)
        .unwrap()
        .times(Periodic::isotropic().on_dims(&[0]).unwrap())
        .plus(Linear::ard(q).unwrap().on_dims(&dims).unwrap());
    let sub_t = cat(
        &cat(&cat(&[h.var], &h.ls[..q]), &[h.ls[2], h.period]),
        &h.lin[..q],
    );
    check_psd("active_dims", &sub, &sub_t, x, &mut f);
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn kernel_matrices_are_psd_on_random_inputs(x in clustered_inputs(), h in hyper()) {
        let failures = check_all_psd(&h, &x);
        prop_assert!(failures.is_empty(), "{:?}\n{}", x, failures.join("\n"));
    }
}

// ---------------------------------------------------------------------------------------
// 2. Pullbacks and tape blocks against finite differences.
// ---------------------------------------------------------------------------------------

/// A named check run against every kernel.
type KernelCase = (&'static str, Box<dyn Fn(&mut Checker)>);

/// Kernels on 2-dimensional inputs, each with its `θ` (natural scale).
fn all_kernels() -> Vec<KernelCase> {
    vec![
        (
            "se_iso",
            Box::new(|c| c.run(&SquaredExponential::isotropic(), &[1.3, 0.7])),
        ),
        (
            "se_ard",
            Box::new(|c| c.run(&SquaredExponential::ard(2).unwrap(), &[1.3, 0.7, 1.9])),
        ),
        (
            "matern12",
            Box::new(|c| c.run(&Matern12::ard(2).unwrap(), &[0.9, 0.8, 1.1])),
        ),
        (
            "matern32",
            Box::new(|c| c.run(&Matern32::ard(2).unwrap(), &[0.9, 0.8, 1.1])),
        ),
        (
            "matern52",
            Box::new(|c| c.run(&Matern52::isotropic(), &[2.0, 0.6])),
        ),
        (
            "rq",
            Box::new(|c| c.run(&RationalQuadratic::ard(2).unwrap(), &[1.1, 0.8, 1.4, 0.7])),
        ),
        (
            "periodic",
            Box::new(|c| c.run(&Periodic::ard(2).unwrap(), &[1.2, 0.9, 1.3, 0.8])),
        ),
        (
            "linear",
            Box::new(|c| c.run(&Linear::ard(2).unwrap(), &[0.5, 2.0])),
        ),
        ("white", Box::new(|c| c.run(&White::new(), &[0.3]))),
        (
            "sum",
            Box::new(|c| {
                c.run(
                    &SquaredExponential::isotropic().plus(Linear::isotropic()),
                    &[1.0, 0.7, 0.4],
                )
            }),
        ),
        (
            "product",
            Box::new(|c| {
                // σ² = 1.0 · 0.5, the product of the factors' former variances.
                c.run(
                    &Matern32::isotropic().times(Periodic::isotropic()),
                    &[0.5, 0.9, 1.0, 1.5],
                )
            }),
        ),
        (
            "scaled",
            Box::new(|c| c.run(&Matern52::ard(2).unwrap().scaled(), &[2.5, 1.0, 0.5, 0.9])),
        ),
        (
            "active_dims",
            Box::new(|c| {
                c.run(
                    &SquaredExponential::isotropic()
                        .on_dims(&[1])
                        .unwrap()
                        .plus(Matern12::isotropic().on_dims(&[0]).unwrap()),
                    &[1.0, 0.6, 0.5, 1.2],
                )
            }),
        ),
    ]
}

/// Kernels on subsets of 3-dimensional inputs: ARD kernels on two of the three
/// dimensions (in permuted order), the linear and the periodic kernel inside `on_dims`.
fn active_dims_kernels() -> Vec<KernelCase> {
    vec![
        (
            "active_dims_se_ard",
            Box::new(|c| {
                c.run(
                    &SquaredExponential::ard(2)
                        .unwrap()
                        .on_dims(&[2, 0])
                        .unwrap(),
                    &[1.2, 0.6, 1.4],
                )
            }),
        ),
        (
            "active_dims_matern52_ard",
            Box::new(|c| {
                c.run(
                    &Matern52::ard(2).unwrap().on_dims(&[1, 2]).unwrap(),
                    &[0.8, 0.9, 0.5],
                )
            }),
        ),
        (
            "active_dims_linear_ard",
            Box::new(|c| {
                c.run(
                    &Linear::ard(2).unwrap().on_dims(&[2, 1]).unwrap(),
                    &[0.5, 1.5],
                )
            }),
        ),
        (
            "active_dims_periodic_ard",
            Box::new(|c| {
                c.run(
                    &Periodic::ard(2).unwrap().on_dims(&[0, 2]).unwrap(),
                    &[1.1, 0.9, 1.2, 0.8],
                )
            }),
        ),
        (
            "active_dims_composite",
            Box::new(|c| {
                c.run(
                    &SquaredExponential::ard(2)
                        .unwrap()
                        .on_dims(&[2, 0])
                        .unwrap()
                        .times(Periodic::isotropic().on_dims(&[1]).unwrap())
                        .plus(Linear::ard(2).unwrap().on_dims(&[0, 1]).unwrap())
                        .scaled(),
                    &[1.7, 1.0, 0.7, 1.1, 0.8, 1.3, 0.3, 0.6],
                )
            }),
        ),
    ]
}

/// Relative step of the (fourth-order central) finite differences. The periodic kernel's
/// `k`-th derivative in `log p` grows roughly like `(2u/ℓ²)^k` with `u = π Δ / p`, which
/// reaches `~9` here (`Δ ≈ 2`, `p ≈ 0.7`): the truncation error `~h⁴` of the default step
/// `ε^{1/5} ≈ 7·10⁻⁴` then reaches `~2·10⁻⁶` relative (seen once in the regressions file).
/// At `10⁻⁴` it is `~3000×` smaller, and the rounding error (`~ε |φ| / h ≈ 10⁻¹⁰`) stays
/// far below the tolerance.
const FD_STEP: Option<f64> = Some(1e-4);

/// Random inputs, adjoint weights and a parameter perturbation for one case.
struct Checker {
    d: usize,
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
    /// Runs every check on `k` near `θ₀` (each entry scaled by `e^{δ}`, `δ` from the
    /// proptest: a perturbation on the log scale).
    fn run<K: Kernel>(&mut self, k: &K, theta0: &[f64]) {
        let (n, m, d) = (self.n, self.m, self.d);
        let p = k.n_params();
        assert_eq!(p, theta0.len(), "{k:?}");
        let theta: Vec<f64> = theta0
            .iter()
            .zip(self.dtheta.iter().cycle())
            .map(|(t, d)| t * d.exp())
            .collect();
        // Coordinates on a perturbed grid, distinct in every dimension between any two
        // points (Matérn-1/2 is not differentiable where coordinates coincide), also after
        // proptest shrinks the raw values towards 0: point i has coordinate k near
        // 0.35 i (k even) or 0.35 (count − 1 − i) (k odd), plus 0.1 k; y shifted by 0.17.
        let spread = |raw: &[f64], count: usize, shift: f64| -> Vec<f64> {
            (0..count * d)
                .map(|t| {
                    let (i, k) = (t / d, t % d);
                    let slot = if k % 2 == 0 { i } else { count - 1 - i };
                    0.35 * slot as f64 + 0.1 * k as f64 + shift + 0.05 * raw[t]
                })
                .collect()
        };
        let x = Inputs::new(n, d, spread(&self.x, n, 0.0)).unwrap();
        let y = Inputs::new(m, d, spread(&self.y, m, 0.17)).unwrap();
        let name = format!("{k:?}");
        let kxx = kernel_matrix(k, &theta, &x, None).unwrap();

        // Pullbacks vs finite differences: φ = Σ W ∘ K over θ, X, Y (cross), θ, X (sym),
        // θ, X (diag).
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
            let a = Inputs::new(n, d, v[p..p + n * d].to_vec()).unwrap();
            let b =
                nb.map(|nb| Inputs::new(nb, d, v[p + n * d..p + (n + nb) * d].to_vec()).unwrap());
            (th, a, b)
        };
        // Cross.
        let fd = finite_diff_gradient(
            |v| {
                let (th, a, b) = unpack(v, Some(m));
                Ok(frob(
                    kernel_matrix(k, &th, &a, b.as_ref())?.as_ref(),
                    w_cross,
                ))
            },
            &pack(&theta, &x, Some(&y)),
            FD_STEP,
        )
        .unwrap();
        let mut g = vec![0.0; p + (n + m) * d];
        {
            let (gt, rest) = g.split_at_mut(p);
            let (gx, gy) = rest.split_at_mut(n * d);
            let wm = MatRef::from_column_major_slice(w_cross, n, m);
            let adj = KernelAdjoints::new(gt, Some(gx), Some(gy));
            k.matrix_pullback(&theta, &x, Some(&y), wm, adj);
        }
        self.compare(&name, "cross", &g, &fd);
        // Symmetric.
        let fd_sym = finite_diff_gradient(
            |v| {
                let (th, a, _) = unpack(v, None);
                Ok(frob(kernel_matrix(k, &th, &a, None)?.as_ref(), w_sym))
            },
            &pack(&theta, &x, None),
            FD_STEP,
        )
        .unwrap();
        let mut g = vec![0.0; p + n * d];
        {
            let (gt, gx) = g.split_at_mut(p);
            let wf = fold_symmetric(MatRef::from_column_major_slice(w_sym, n, n));
            k.matrix_pullback(
                &theta,
                &x,
                None,
                wf.as_ref(),
                KernelAdjoints::new(gt, Some(gx), None),
            );
        }
        self.compare(&name, "symmetric", &g, &fd_sym);
        // Diagonal.
        let wd = &wall[..n];
        let diag_val = |th: &[f64], a: &Inputs| {
            let mut out = vec![0.0; n];
            k.diag_into(th, a, &mut out);
            out.iter().zip(wd).map(|(o, w)| o * w).sum::<f64>()
        };
        let fd_diag = finite_diff_gradient(
            |v| {
                let (th, a, _) = unpack(v, None);
                Ok(diag_val(&th, &a))
            },
            &pack(&theta, &x, None),
            FD_STEP,
        )
        .unwrap();
        let mut g = vec![0.0; p + n * d];
        {
            let (gt, gx) = g.split_at_mut(p);
            k.diag_pullback(&theta, &x, wd, KernelAdjoints::new(gt, Some(gx), None));
        }
        self.compare(&name, "diag", &g, &fd_diag);
        // The diagonal agrees with the matrix's.
        let mut dg = vec![0.0; n];
        k.diag_into(&theta, &x, &mut dg);
        for i in 0..n {
            if !close(dg[i], kxx[(i, i)], 1e-14, 1e-300) {
                self.failures
                    .push(format!("{name}: diag {i} {} vs {}", dg[i], kxx[(i, i)]));
            }
        }

        // Fast path vs the default dual path (values and pullbacks), cross case.
        let dp = DefaultPaths(k.clone());
        let kd = kernel_matrix(&dp, &theta, &x, Some(&y)).unwrap();
        let kf = kernel_matrix(k, &theta, &x, Some(&y)).unwrap();
        for j in 0..m {
            for i in 0..n {
                if !close(kd[(i, j)], kf[(i, j)], 1e-13, 1e-300) {
                    self.failures
                        .push(format!("{name}: default path value ({i},{j})"));
                }
            }
        }
        let wm = MatRef::from_column_major_slice(w_cross, n, m);
        let mut g1 = vec![0.0; p + (n + m) * d];
        let mut g2 = vec![0.0; p + (n + m) * d];
        for (kk, g) in [(0, &mut g1), (1, &mut g2)] {
            let (gt, rest) = g.split_at_mut(p);
            let (gx, gy) = rest.split_at_mut(n * d);
            let adj = KernelAdjoints::new(gt, Some(gx), Some(gy));
            if kk == 0 {
                k.matrix_pullback(&theta, &x, Some(&y), wm, adj);
            } else {
                dp.matrix_pullback(&theta, &x, Some(&y), wm, adj);
            }
        }
        for (a, b) in g1.iter().zip(&g2) {
            if !close(*a, *b, 1e-11, 1e-12) {
                self.failures
                    .push(format!("{name}: default path pullback {a} vs {b}"));
                break;
            }
        }

        // The symmetric block on the tape vs the kernel recorded entry by entry with
        // scalar ops.
        let tape = Tape::new();
        let tv = tape.var_vec(&theta);
        let xm = tape.var_mat(n, d, &x.to_col_major()).unwrap();
        let km = kernel_matrix_var(&tape, k, &tv, &xm, None).unwrap();
        let wv = VarMat::constant(n, n, w_sym.to_vec()).unwrap();
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
                let e = k.eval(&th2, &xs2[i * d..(i + 1) * d], &xs2[j * d..(j + 1) * d]);
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
            for c in 0..d {
                let (a, b) = (gx_block[i + c * n], gx_scalar[i * d + c]);
                if !close(a, b, 1e-10, 1e-11) {
                    self.failures
                        .push(format!("{name}: tape x-gradient {a} vs {b}"));
                }
            }
        }

        // The tape blocks against finite differences of their own values: the
        // cross-covariance `kernel_matrix_var(θ, X, Y)` (adjoints into θ, X and Y) and
        // `kernel_diag_var(θ, X)`. Inputs on the tape are column-major `n × d` matrices.
        let xc = x.to_col_major();
        let yc = y.to_col_major();
        let cross_tape = |v: &[f64]| -> Result<f64> {
            let t = Tape::new();
            let tv = VarVec::constant(v[..p].to_vec());
            let xm = VarMat::constant(n, d, v[p..p + n * d].to_vec())?;
            let ym = VarMat::constant(m, d, v[p + n * d..].to_vec())?;
            let km = kernel_matrix_var(&t, k, &tv, &xm, Some(&ym))?;
            Ok(frob(km.as_faer(), w_cross))
        };
        let mut v0 = theta.clone();
        v0.extend(&xc);
        v0.extend(&yc);
        let fd = finite_diff_gradient(cross_tape, &v0, FD_STEP).unwrap();
        let tape = Tape::new();
        let tv = tape.var_vec(&theta);
        let xm = tape.var_mat(n, d, &xc).unwrap();
        let ym = tape.var_mat(m, d, &yc).unwrap();
        let km = kernel_matrix_var(&tape, k, &tv, &xm, Some(&ym)).unwrap();
        if !close(
            cross_tape(&v0).unwrap(),
            frob(kf.as_ref(), w_cross),
            1e-14,
            1e-14,
        ) {
            self.failures.push(format!("{name}: cross block value"));
        }
        let wv = VarMat::constant(n, m, w_cross.to_vec()).unwrap();
        let s = tape
            .sum(&tape.mul(&km.flatten(), &wv.flatten()).unwrap())
            .unwrap();
        let adj = tape.gradient(&s).unwrap();
        let mut g = adj.wrt_vec(&tv);
        g.extend(adj.wrt_mat(&xm));
        g.extend(adj.wrt_mat(&ym));
        self.compare(&name, "kernel_matrix_var cross", &g, &fd);

        let diag_tape = |v: &[f64]| -> Result<f64> {
            let t = Tape::new();
            let tv = VarVec::constant(v[..p].to_vec());
            let xm = VarMat::constant(n, d, v[p..].to_vec())?;
            let kd = kernel_diag_var(&t, k, &tv, &xm)?;
            Ok(kd.values().iter().zip(wd).map(|(a, b)| a * b).sum())
        };
        let mut v0 = theta.clone();
        v0.extend(&xc);
        let fd = finite_diff_gradient(diag_tape, &v0, FD_STEP).unwrap();
        let tape = Tape::new();
        let tv = tape.var_vec(&theta);
        let xm = tape.var_mat(n, d, &xc).unwrap();
        let kdv = kernel_diag_var(&tape, k, &tv, &xm).unwrap();
        for i in 0..n {
            if !close(kdv.values()[i], kxx[(i, i)], 1e-14, 1e-300) {
                self.failures.push(format!("{name}: diag block value {i}"));
            }
        }
        let wdv = VarVec::constant(wd.to_vec());
        let s = tape.sum(&tape.mul(&kdv, &wdv).unwrap()).unwrap();
        let adj = tape.gradient(&s).unwrap();
        let mut g = adj.wrt_vec(&tv);
        g.extend(adj.wrt_mat(&xm));
        self.compare(&name, "kernel_diag_var", &g, &fd);
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
    fn pullbacks_and_tape_blocks_match_finite_differences(
        n in 1usize..7,
        m in 1usize..5,
        x in proptest::collection::vec(-1.5f64..1.5, 18),
        y in proptest::collection::vec(-1.5f64..1.5, 12),
        w in proptest::collection::vec(-1.0f64..1.0, 36),
        dtheta in proptest::collection::vec(-0.3f64..0.3, 4),
    ) {
        let mut c = Checker { d: 2, x, y, w, dtheta, n, m, failures: Vec::new() };
        for (_, run) in all_kernels() {
            run(&mut c);
        }
        c.d = 3;
        for (_, run) in active_dims_kernels() {
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
    let t = [s2, l0, l1];
    let kxy = |k: &dyn Fn(&Inputs, &Inputs) -> Result<Mat<f64>>| k(&x, &y).unwrap()[(0, 0)];
    let cases: Vec<(f64, f64)> = vec![
        (
            kxy(&|a, b| kernel_matrix(&SquaredExponential::ard(2).unwrap(), &t, a, Some(b))),
            s2 * (-r * r / 2.0).exp(),
        ),
        (
            kxy(&|a, b| kernel_matrix(&Matern12::ard(2).unwrap(), &t, a, Some(b))),
            s2 * (-r).exp(),
        ),
        (
            kxy(&|a, b| kernel_matrix(&Matern32::ard(2).unwrap(), &t, a, Some(b))),
            s2 * (1.0 + 3f64.sqrt() * r) * (-(3f64.sqrt()) * r).exp(),
        ),
        (
            kxy(&|a, b| kernel_matrix(&Matern52::ard(2).unwrap(), &t, a, Some(b))),
            s2 * (1.0 + 5f64.sqrt() * r + 5.0 * r * r / 3.0) * (-(5f64.sqrt()) * r).exp(),
        ),
        (
            kxy(&|a, b| {
                kernel_matrix(
                    &RationalQuadratic::ard(2).unwrap(),
                    &[s2, l0, l1, 0.6],
                    a,
                    Some(b),
                )
            }),
            s2 * (1.0 + r * r / (2.0 * 0.6)).powf(-0.6),
        ),
        (
            kxy(&|a, b| kernel_matrix(&Periodic::ard(2).unwrap(), &[s2, l0, l1, 1.3], a, Some(b))),
            s2 * (-2.0
                * ((std::f64::consts::PI * 0.6 / 1.3).sin().powi(2) / (l0 * l0)
                    + (std::f64::consts::PI * 0.7 / 1.3).sin().powi(2) / (l1 * l1)))
                .exp(),
        ),
        (
            kxy(&|a, b| kernel_matrix(&Linear::ard(2).unwrap(), &[0.5, 2.0], a, Some(b))),
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
    let rq = RationalQuadratic::isotropic();
    let se = SquaredExponential::isotropic();
    let a = at(&|| kernel_matrix(&rq, &[1.0, 0.7, 1e8], &x, Some(&y)).unwrap());
    let b = at(&|| kernel_matrix(&se, &[1.0, 0.7], &x, Some(&y)).unwrap());
    assert!((a - b).abs() < 1e-7);
}

#[test]
fn parameter_names_and_order() {
    // Variance first, then the shape parameters (GPflow's and scikit-learn's order);
    // `k0.`/`k1.` inside sums and products; one variance per product.
    let names = |k: &dyn Fn() -> Result<ParamLayout>| k().unwrap().names().join(",");
    assert_eq!(
        names(&|| SquaredExponential::ard(2).unwrap().layout()),
        "variance,lengthscale[0],lengthscale[1]"
    );
    assert_eq!(
        names(&|| RationalQuadratic::isotropic().layout()),
        "variance,lengthscale,alpha"
    );
    assert_eq!(
        names(&|| Periodic::isotropic().layout()),
        "variance,lengthscale,period"
    );
    assert_eq!(
        names(&|| Linear::ard(2).unwrap().layout()),
        "variance[0],variance[1]"
    );
    assert_eq!(
        names(&|| SquaredExponential::isotropic()
            .plus(Linear::isotropic())
            .layout()),
        "k0.variance,k0.lengthscale,k1.variance"
    );
    assert_eq!(
        names(&|| SquaredExponential::isotropic()
            .times(Periodic::isotropic())
            .layout()),
        "variance,k0.lengthscale,k1.lengthscale,k1.period"
    );
    // Nested products keep one variance in all.
    let p3 = SquaredExponential::isotropic()
        .times(Periodic::isotropic())
        .times(Matern32::isotropic());
    assert_eq!(
        p3.layout().unwrap().names().join(","),
        "variance,k0.k0.lengthscale,k0.k1.lengthscale,k0.k1.period,k1.lengthscale"
    );
    // A factor without a separable variance (ARD linear) keeps its scale; the product then
    // has no variance of its own.
    let pl = Linear::ard(2)
        .unwrap()
        .times(SquaredExponential::isotropic());
    assert!(!pl.has_variance());
    assert_eq!(
        pl.layout().unwrap().names().join(","),
        "k0.variance[0],k0.variance[1],k1.lengthscale"
    );
    assert_eq!(
        names(&|| Matern52::isotropic().scaled().layout()),
        "scale,k0.variance,k0.lengthscale"
    );
}

#[test]
fn a_product_is_its_variance_times_the_elementwise_product_of_its_factors() {
    // K = σ² K_A ∘ K_B with the factors at unit variance, for the symmetric, cross and
    // diagonal forms; 2-D inputs, ARD factors.
    let x = Inputs::from_rows(&[[0.1, -0.4], [0.7, 0.3], [-0.5, 1.2], [1.4, 0.2]]).unwrap();
    let y = Inputs::from_rows(&[[0.2, 0.5], [-1.0, 0.8]]).unwrap();
    let (s2, la, lp, per) = (1.7, [0.6, 1.3], [0.9, 0.4], 1.1);
    let k = SquaredExponential::ard(2)
        .unwrap()
        .times(Periodic::ard(2).unwrap());
    let theta = [s2, la[0], la[1], lp[0], lp[1], per];
    let se = SquaredExponential::ard(2).unwrap();
    let pe = Periodic::ard(2).unwrap();
    for yy in [None, Some(&y)] {
        let kp = kernel_matrix(&k, &theta, &x, yy).unwrap();
        let ka = kernel_matrix(&se, &[1.0, la[0], la[1]], &x, yy).unwrap();
        let kb = kernel_matrix(&pe, &[1.0, lp[0], lp[1], per], &x, yy).unwrap();
        for j in 0..kp.ncols() {
            for i in 0..kp.nrows() {
                let want = s2 * ka[(i, j)] * kb[(i, j)];
                assert!((kp[(i, j)] - want).abs() < 1e-15 * s2, "({i}, {j})");
            }
        }
    }
    let d = mechml_engine::gp::kernel_diag(&k, &theta, &x).unwrap();
    assert!(d.iter().all(|v| (v - s2).abs() < 1e-15 * s2));
}

#[test]
fn white_noise_is_per_observation() {
    let x = Inputs::from_1d(&[0.0, 0.0, 1.0]).unwrap();
    let k = White::new();
    let kxx = kernel_matrix(&k, &[0.25], &x, None).unwrap();
    let kxy = kernel_matrix(&k, &[0.25], &x, Some(&x)).unwrap();
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
    let ard = SquaredExponential::ard(2).unwrap();
    assert!(matches!(
        kernel_matrix(&ard, &[1.0, 1.0, 1.0], &x, None),
        Err(Error::ShapeMismatch { .. })
    ));
    let iso = SquaredExponential::isotropic();
    // Values outside a parameter's support are option errors naming it.
    match kernel_matrix(&iso, &[1.0, -1.0], &x, None) {
        Err(Error::InvalidOption { name, .. }) => assert_eq!(name, "lengthscale"),
        other => panic!("expected InvalidOption, got {other:?}"),
    }
    assert!(kernel_matrix(&iso, &[f64::NAN, 1.0], &x, None).is_err());
    assert!(SquaredExponential::ard(0).is_err());
    assert!(Inputs::new(1, 2, vec![0.0, f64::INFINITY]).is_err());
    assert!(kernel_matrix(&iso, &[0.0], &x, None).is_err());
    assert!(iso.clone().on_dims(&[]).is_err());
    let y = Inputs::from_rows(&[[0.0, 1.0]]).unwrap();
    match kernel_matrix(&iso, &[1.0, 1.0], &x, Some(&y)) {
        Err(Error::ShapeMismatch { arg, .. }) => assert_eq!(arg, "y"),
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    // Overflowing hyperparameters give a non-finite error, not NaNs (σ² = 10³⁰⁸ here; the
    // log-scale e⁸⁰⁰ of before is infinite on the natural scale).
    let big = Linear::isotropic();
    let r = kernel_matrix(&big, &[1e308], &x, None);
    assert!(matches!(r, Err(Error::NonFinite { .. })), "{r:?}");
    // Kernel matrix on the tape with a wrong-length θ.
    let tape = Tape::new();
    let th = tape.var_vec(&[0.0]);
    let xm = tape.var_mat(1, 3, x.as_slice()).unwrap();
    assert!(kernel_matrix_var(&tape, &iso, &th, &xm, None).is_err());
}

#[test]
fn active_dims_closed_forms() {
    // Independent transcriptions on 3-dimensional points: an ARD kernel, the linear and the
    // periodic kernel restricted to (permuted) subsets of the dimensions.
    use std::f64::consts::PI;
    let x = Inputs::from_rows(&[[0.1, -0.4, 0.9]]).unwrap();
    let y = Inputs::from_rows(&[[0.7, 0.3, -0.2]]).unwrap();
    let (a, b) = (x.point(0), y.point(0));
    let (l0, l1, s2) = (0.8_f64, 1.7_f64, 1.9_f64);
    let at = |m: Mat<f64>| m[(0, 0)];
    // SE with lengthscale l0 on dimension 2 and l1 on dimension 0.
    let se = SquaredExponential::ard(2)
        .unwrap()
        .on_dims(&[2, 0])
        .unwrap();
    let se_t = [s2, l0, l1];
    let r2 = ((a[2] - b[2]) / l0).powi(2) + ((a[0] - b[0]) / l1).powi(2);
    let want_se = s2 * (-0.5 * r2).exp();
    // Linear with variances (0.5, 2.0) on dimensions (2, 1).
    let lin = Linear::ard(2).unwrap().on_dims(&[2, 1]).unwrap();
    let lin_t = [0.5, 2.0];
    let want_lin = 0.5 * a[2] * b[2] + 2.0 * a[1] * b[1];
    // Periodic with lengthscales (l0, l1) on dimensions (0, 2), period 1.3.
    let per = Periodic::ard(2).unwrap().on_dims(&[0, 2]).unwrap();
    let per_t = [s2, l0, l1, 1.3];
    let want_per = s2
        * (-2.0
            * ((PI * (a[0] - b[0]) / 1.3).sin().powi(2) / (l0 * l0)
                + (PI * (a[2] - b[2]) / 1.3).sin().powi(2) / (l1 * l1)))
            .exp();
    // The product carries one variance (s2 · s2) and its factors are unit-variance shapes.
    let comp = se.clone().times(per.clone()).plus(lin.clone());
    let comp_t = [s2 * s2, l0, l1, l0, l1, 1.3, 0.5, 2.0];
    let cases = [
        (
            at(kernel_matrix(&se, &se_t, &x, Some(&y)).unwrap()),
            want_se,
        ),
        (
            at(kernel_matrix(&lin, &lin_t, &x, Some(&y)).unwrap()),
            want_lin,
        ),
        (
            at(kernel_matrix(&per, &per_t, &x, Some(&y)).unwrap()),
            want_per,
        ),
        (
            at(kernel_matrix(&comp, &comp_t, &x, Some(&y)).unwrap()),
            want_se * want_per + want_lin,
        ),
    ];
    for (i, (got, want)) in cases.iter().enumerate() {
        assert!(
            (got - want).abs() < 1e-14 * want.abs().max(1.0),
            "case {i}: {got} vs {want}"
        );
    }
    // An ARD kernel with two lengthscales on three active dimensions is a shape error;
    // an active dimension beyond the inputs' is one too.
    assert!(
        SquaredExponential::ard(2)
            .unwrap()
            .on_dims(&[0, 1, 2])
            .is_err()
    );
    let two = Inputs::from_rows(&[[0.0, 1.0]]).unwrap();
    assert!(matches!(
        kernel_matrix(&se, &se_t, &two, None),
        Err(Error::ShapeMismatch { .. })
    ));
}

/// `matrix_pullback_sym_with_values` (which the squared exponential answers from the
/// kernel matrix, without distances or exponentials) agrees with `matrix_pullback` for
/// every input dimension (the SIMD path for d ≤ 4, the general loop beyond), sizes that
/// leave SIMD tails, strided views, and kernels that ignore the values.
#[test]
fn pullback_with_values_matches_pullback() {
    fn check<K: Kernel>(name: &str, k: &K, theta: &[f64], x: &Inputs) {
        let n = x.n();
        let theta = theta.to_vec();
        let mut kxx = Mat::<f64>::zeros(n, n);
        k.matrix_into(&theta, x, None, kxx.as_mut());
        let big = Mat::<f64>::from_fn(n + 3, n + 2, |i, j| {
            ((i * 7 + j * 13) % 11) as f64 / 11.0 - 0.4
        });
        let w = big.as_ref().submatrix(1, 2, n, n);
        // Row-strided views (columns not contiguous) of the same values.
        let kxx_t = kxx.transpose().to_owned();
        let wt = w.transpose().to_owned();
        let kbars = [("contiguous", w), ("row-strided", wt.transpose())];
        let kxxs = [
            ("contiguous", kxx.as_ref()),
            ("row-strided", kxx_t.transpose()),
        ];
        for (wl, kb) in kbars {
            for (kl, kv) in kxxs {
                let mut a = vec![0.0; theta.len()];
                let mut b = vec![0.0; theta.len()];
                k.matrix_pullback(&theta, x, None, kb, KernelAdjoints::theta_only(&mut a));
                let adj = KernelAdjoints::theta_only(&mut b);
                k.matrix_pullback_sym_with_values(&theta, x, kv, kb, adj);
                for (p, (u, v)) in a.iter().zip(&b).enumerate() {
                    assert!(
                        close(*u, *v, 1e-12, 1e-13),
                        "{name} n={n} d={} weights {wl}, values {kl}, θ[{p}]: {u} vs {v}",
                        x.d()
                    );
                }
            }
        }
    }
    for d in 1..=5usize {
        for n in [1usize, 3, 4, 9, 17] {
            let pts: Vec<f64> = (0..n * d)
                .map(|i| ((i * 37 + 11) % 23) as f64 / 7.0 - 1.5)
                .collect();
            let x = Inputs::new(n, d, pts).unwrap();
            let ls: Vec<f64> = (0..d).map(|k| 0.6 + 0.3 * k as f64).collect();
            let iso = SquaredExponential::isotropic();
            check("se_iso", &iso, &[1.7, 0.8], &x);
            let se = SquaredExponential::ard(d).unwrap();
            check("se_ard", &se, &cat(&[0.6], &ls), &x);
            check(
                "matern32",
                &Matern32::ard(d).unwrap(),
                &cat(&[0.9], &ls),
                &x,
            );
            check("rq", &RationalQuadratic::isotropic(), &[1.2, 0.7, 2.5], &x);
        }
    }
}
