//! Convergence orders of the fixed-step methods, measured as log–log slopes.
//!
//! Strong order: the mean over seeded paths of `|X_N − X(T)|`, where `X(T)` is the exact
//! solution *on the same Brownian path* (the tree gives every step size the same path), for
//! step sizes `h = T/2^k`. The slope of `log₂ error` against `log₂ h` estimates the order
//! (Higham 2001, "An algorithmic introduction to numerical simulation of SDEs", SIAM Review
//! 43(3), §7, uses the same set-up and parameters for geometric Brownian motion). Problems
//! with closed-form solutions: scalar GBM (diagonal noise, d = 1), a linear system with
//! scalar noise (d = 2), independent GBMs with diagonal noise (d = 3), and a linear system
//! with commutative general noise (d = m = 2); for d > 1 every component's order is checked.
//!
//! Weak order: the sample mean and second moment of Euler–Maruyama on the
//! Ornstein–Uhlenbeck process against the closed forms.
//!
//! Tolerances: `4·se + bias`, where `se` is the slope's standard error computed from the
//! per-path errors ([`sde_common::log2_slope`], delta method with the covariance between
//! levels), and `bias` a stated allowance for the deterministic pre-asymptotic curvature of
//! the error curve, which no sample size removes.

mod sde_common;

use mechml_engine::Error;
use mechml_engine::ad::Real;
use mechml_engine::sde::reference::{Gbm, OrnsteinUhlenbeck};
use mechml_engine::sde::{
    Calculus, EnsembleOptions, EulerMaruyama, Heun, ItoForm, Milstein, ReversibleHeun, Sde,
    SdeMethod, SdeOptions, SdeProblem, SdeShape, Steps, StratonovichForm, VirtualBrownianTree,
    ensemble, solve,
};
use mechml_engine::solver::SaveAt;
use sde_common::{SlopeFit, assert_order, log2_slope};

const LEVELS: std::ops::RangeInclusive<u32> = 4..=9;
const PATHS: u64 = 300;
/// Higham (2001): dX = λX dt + μX dW, λ = 2, μ = 1, X(0) = 1, T = 1.
const P: [f64; 2] = [2.0, 1.0];
/// Allowance for the pre-asymptotic curvature of the strong error curves over h = 2⁻⁴ … 2⁻⁹.
/// It is deterministic, so it cannot be derived from the sample size: the fitted slopes of
/// the problems here deviate from their orders by up to 0.06, most of them by many standard
/// errors (Milstein on the Stratonovich GBM: 0.954 ± 0.005), i.e. not by sampling.
const BIAS: f64 = 0.05;

/// Per-path strong errors at `T = 1` for each level: `errs[path][level]` holds the
/// Euclidean norm of the error and then each component's absolute error, with `X(T)` from
/// `exact(W(1))` on the same Brownian path.
fn strong_errors<S: Sde, M: SdeMethod>(
    sde: &S,
    method: &M,
    x0: &[f64],
    p: &[f64],
    exact: impl Fn(&[f64]) -> Vec<f64>,
) -> Vec<Vec<Vec<f64>>> {
    let kmax = *LEVELS.end();
    let m = sde.n_noise();
    let mut all = Vec::with_capacity(PATHS as usize);
    for seed in 0..PATHS {
        let mut w = VirtualBrownianTree::builder(0.0, 1.0)
            .dim(m)
            .seed(seed)
            .fixed_steps(1 << kmax)
            .build()
            .unwrap();
        let mut wt = vec![0.0; m];
        w.value(1.0, &mut wt).unwrap();
        let x_exact = exact(&wt);
        let mut per_level = Vec::new();
        for k in LEVELS {
            let opts = SdeOptions {
                steps: Steps::Fixed { n_steps: 1 << k },
                save_at: SaveAt::Final,
                check_finite: true,
            };
            let sol = solve(
                &SdeProblem::new(sde, 0.0, 1.0, x0.to_vec(), p.to_vec()).unwrap(),
                method,
                &mut w,
                &opts,
            )
            .unwrap();
            let comp: Vec<f64> = sol
                .final_state()
                .iter()
                .zip(&x_exact)
                .map(|(a, b)| (a - b).abs())
                .collect();
            let mut e = vec![comp.iter().map(|c| c * c).sum::<f64>().sqrt()];
            e.extend(comp);
            per_level.push(e);
        }
        all.push(per_level);
    }
    all
}

/// The slope of the mean of entry `j` of the per-path errors (0: the norm, `1 + i`:
/// component `i`).
fn fit(errs: &[Vec<Vec<f64>>], j: usize) -> SlopeFit {
    let xs: Vec<f64> = LEVELS.map(|k| -(k as f64)).collect();
    let samples: Vec<Vec<f64>> = errs
        .iter()
        .map(|path| path.iter().map(|e| e[j]).collect())
        .collect();
    log2_slope(&xs, &samples, &vec![0.0; xs.len()])
}

/// Checks the strong order of the error norm and, for `d > 1`, of every component.
fn check_strong<S: Sde, M: SdeMethod>(
    name: &str,
    sde: &S,
    method: &M,
    x0: &[f64],
    p: &[f64],
    exact: impl Fn(&[f64]) -> Vec<f64>,
    order: f64,
) {
    let errs = strong_errors(sde, method, x0, p, exact);
    assert_order(name, fit(&errs, 0), order, BIAS);
    if x0.len() > 1 {
        for i in 0..x0.len() {
            assert_order(
                &format!("{name}, component {i}"),
                fit(&errs, 1 + i),
                order,
                BIAS,
            );
        }
    }
}

fn gbm_exact(sde: Gbm) -> impl Fn(&[f64]) -> Vec<f64> {
    move |w: &[f64]| vec![sde.exact(1.0, &P, 1.0, w[0])]
}

/// The strong order of `method` on GBM from `X₀ = 1` against its exact solution.
fn check_gbm<M: SdeMethod>(name: &str, sde: Gbm, method: &M, order: f64) {
    check_strong(name, &sde, method, &[1.0], &P, gbm_exact(sde), order);
}

#[test]
fn euler_maruyama_strong_order_half() {
    let sde = Gbm::ito();
    check_gbm("EM", sde, &EulerMaruyama, 0.5);
}

#[test]
fn milstein_strong_order_one_ito_and_stratonovich() {
    let ito = Gbm::ito();
    check_gbm("Milstein Itô", ito, &Milstein, 1.0);
    let st = Gbm::stratonovich();
    check_gbm("Milstein Strat", st, &Milstein, 1.0);
}

#[test]
fn heun_strong_order_one_on_scalar_noise() {
    let st = Gbm::stratonovich();
    check_gbm("Heun", st, &Heun, 1.0);
}

#[test]
fn reversible_heun_converges_on_stratonovich_gbm() {
    // Kidger et al. (2021), Theorem D.15: strong order 0.5 in general; on this scalar,
    // commutative problem it behaves like Heun (order 1).
    let st = Gbm::stratonovich();
    check_gbm("reversible Heun", st, &ReversibleHeun, 1.0);
}

#[test]
fn conversion_gives_the_same_solution() {
    // Heun on the Stratonovich form of the Itô GBM converges to the Itô solution, and EM on
    // the Itô form of the Stratonovich GBM to the Stratonovich one.
    let ito = Gbm::ito();
    check_strong(
        "Heun on StratonovichForm(Itô GBM)",
        &StratonovichForm::new(ito),
        &Heun,
        &[1.0],
        &P,
        gbm_exact(ito),
        1.0,
    );
    let st = Gbm::stratonovich();
    check_strong(
        "EM on ItoForm(Stratonovich GBM)",
        &ItoForm::new(st),
        &EulerMaruyama,
        &[1.0],
        &P,
        gbm_exact(st),
        0.5,
    );
}

/// dXᵢ = aᵢ Xᵢ dt + Σⱼ bⱼᵢ Xᵢ dWⱼ, two states, two noises, general (d × m) layout; the
/// noise commutes (the Bⱼ are diagonal). Exact: Xᵢ(T) = Xᵢ(0) exp((aᵢ − ½Σⱼ bⱼᵢ²)T + Σⱼ bⱼᵢ Wⱼ)
/// in Itô form.
struct DiagonalLinear {
    calculus: Calculus,
}
const A: [f64; 2] = [1.0, -0.5];
const B: [[f64; 2]; 2] = [[0.6, 0.3], [-0.4, 0.8]]; // B[j][i]
impl Sde for DiagonalLinear {
    fn shape(&self) -> SdeShape {
        SdeShape::general(2, 2).with_calculus(self.calculus)
    }
    fn commutative_noise(&self) -> bool {
        true
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        for i in 0..2 {
            out[i] = x[i] * A[i];
        }
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        for j in 0..2 {
            for i in 0..2 {
                out[j * 2 + i] = x[i] * B[j][i];
            }
        }
    }
}

fn diagonal_linear_exact(calculus: Calculus) -> impl Fn(&[f64]) -> Vec<f64> {
    move |w: &[f64]| {
        (0..2)
            .map(|i| {
                let corr = match calculus {
                    Calculus::Ito => 0.5 * (B[0][i] * B[0][i] + B[1][i] * B[1][i]),
                    Calculus::Stratonovich => 0.0,
                };
                ((A[i] - corr) + B[0][i] * w[0] + B[1][i] * w[1]).exp()
            })
            .collect()
    }
}

#[test]
fn general_commutative_noise() {
    for calculus in [Calculus::Ito, Calculus::Stratonovich] {
        let sde = DiagonalLinear { calculus };
        let exact = diagonal_linear_exact(calculus);
        check_strong(
            &format!("Milstein general {calculus:?}"),
            &sde,
            &Milstein,
            &[1.0, 1.0],
            &[],
            &exact,
            1.0,
        );
    }
    let sde = DiagonalLinear {
        calculus: Calculus::Ito,
    };
    check_strong(
        "EM general",
        &sde,
        &EulerMaruyama,
        &[1.0, 1.0],
        &[],
        diagonal_linear_exact(Calculus::Ito),
        0.5,
    );
}

/// Scalar noise, d = 2: `dX = A X dt + B X dW` with one Brownian motion and the commuting
/// matrices `A = [[a, c], [c, a]]`, `B = [[b, e], [e, b]]` (both polynomials in `[[0, 1],
/// [1, 0]]`). Then `X(t) = exp(M) X₀` with `M = (A − B²/2) t + B W(t)` (Itô) or
/// `A t + B W(t)` (Stratonovich), and for `M = [[α, β], [β, α]]`,
/// `exp(M) = e^α [[cosh β, sinh β], [sinh β, cosh β]]`.
#[derive(Clone, Copy)]
struct ScalarLinear {
    calculus: Calculus,
}
const SA: (f64, f64) = (1.0, 0.5); // (a, c)
const SB: (f64, f64) = (0.6, 0.4); // (b, e)
const SX0: [f64; 2] = [1.0, 0.5];
impl Sde for ScalarLinear {
    fn shape(&self) -> SdeShape {
        SdeShape::scalar(2).with_calculus(self.calculus)
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        let (a, c) = SA;
        out[0] = x[0] * a + x[1] * c;
        out[1] = x[0] * c + x[1] * a;
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        let (b, e) = SB;
        out[0] = x[0] * b + x[1] * e;
        out[1] = x[0] * e + x[1] * b;
    }
}

fn scalar_linear_exact(calculus: Calculus) -> impl Fn(&[f64]) -> Vec<f64> {
    move |w: &[f64]| {
        let ((a, c), (b, e)) = (SA, SB);
        // B² = [[b² + e², 2be], [2be, b² + e²]].
        let (alpha, beta) = match calculus {
            Calculus::Ito => (a - 0.5 * (b * b + e * e) + b * w[0], c - b * e + e * w[0]),
            Calculus::Stratonovich => (a + b * w[0], c + e * w[0]),
        };
        let (ch, sh) = (beta.cosh(), beta.sinh());
        vec![
            alpha.exp() * (ch * SX0[0] + sh * SX0[1]),
            alpha.exp() * (sh * SX0[0] + ch * SX0[1]),
        ]
    }
}

#[test]
fn scalar_noise_strong_orders() {
    let ito = ScalarLinear {
        calculus: Calculus::Ito,
    };
    let strat = ScalarLinear {
        calculus: Calculus::Stratonovich,
    };
    let (ei, es) = (
        scalar_linear_exact(Calculus::Ito),
        scalar_linear_exact(Calculus::Stratonovich),
    );
    check_strong(
        "scalar noise: EM",
        &ito,
        &EulerMaruyama,
        &SX0,
        &[],
        &ei,
        0.5,
    );
    check_strong(
        "scalar noise: Milstein Itô",
        &ito,
        &Milstein,
        &SX0,
        &[],
        &ei,
        1.0,
    );
    check_strong(
        "scalar noise: Milstein Strat",
        &strat,
        &Milstein,
        &SX0,
        &[],
        &es,
        1.0,
    );
    // Scalar noise commutes, so Heun has order 1.
    check_strong("scalar noise: Heun", &strat, &Heun, &SX0, &[], &es, 1.0);
}

/// Diagonal noise, d = 3: independent geometric Brownian motions
/// `dXᵢ = μᵢ Xᵢ dt + σᵢ Xᵢ dWᵢ` with different coefficients and independent `Wᵢ`;
/// `Xᵢ(t) = Xᵢ(0) exp((μᵢ − σᵢ²/2) t + σᵢ Wᵢ(t))` (Itô) or `exp(μᵢ t + σᵢ Wᵢ(t))`.
/// A Milstein correction that mixed components (another `σ` or `ΔW`) would drop some
/// component to order ½, which the per-component slopes detect.
#[derive(Clone, Copy)]
struct DiagonalGbms {
    calculus: Calculus,
}
const DMU: [f64; 3] = [1.0, -0.5, 0.2];
const DSIGMA: [f64; 3] = [0.3, 1.2, 0.7];
const DX0: [f64; 3] = [1.0, 2.0, 0.5];
impl Sde for DiagonalGbms {
    fn shape(&self) -> SdeShape {
        SdeShape::diagonal(3).with_calculus(self.calculus)
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        for i in 0..3 {
            out[i] = x[i] * DMU[i];
        }
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        for i in 0..3 {
            out[i] = x[i] * DSIGMA[i];
        }
    }
}

#[test]
fn diagonal_noise_milstein_strong_order_one_per_component() {
    for calculus in [Calculus::Ito, Calculus::Stratonovich] {
        let exact = move |w: &[f64]| -> Vec<f64> {
            (0..3)
                .map(|i| {
                    let drift = match calculus {
                        Calculus::Ito => DMU[i] - 0.5 * DSIGMA[i] * DSIGMA[i],
                        Calculus::Stratonovich => DMU[i],
                    };
                    DX0[i] * (drift + DSIGMA[i] * w[i]).exp()
                })
                .collect()
        };
        check_strong(
            &format!("diagonal d = 3: Milstein {calculus:?}"),
            &DiagonalGbms { calculus },
            &Milstein,
            &DX0,
            &[],
            exact,
            1.0,
        );
    }
}

/// General noise whose columns do not commute: `g = [[x₁, 0], [0, x₀]]`
/// (`L¹g² = (0, x₁) ≠ L²g¹ = (x₀, 0)`).
#[derive(Clone, Copy)]
struct NonCommutative;
impl Sde for NonCommutative {
    fn shape(&self) -> SdeShape {
        SdeShape::general(2, 2)
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        out[0] = -x[0];
        out[1] = -x[1];
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
        out[0] = x[1];
        out[1] = R::zero();
        out[2] = R::zero();
        out[3] = x[0];
    }
}

#[test]
fn milstein_refuses_non_commutative_noise() {
    let is_unsupported = |r: Result<(), Error>, what: &str| match r {
        Err(Error::Unsupported { op, reason }) => {
            assert_eq!(op, "milstein", "{what}");
            assert!(reason.contains("commutative"), "{what}: {reason}");
        }
        other => panic!("{what}: expected Unsupported, got {other:?}"),
    };
    let mut w = VirtualBrownianTree::builder(0.0, 1.0)
        .dim(2)
        .fixed_steps(16)
        .build()
        .unwrap();
    let opts = SdeOptions {
        steps: Steps::Fixed { n_steps: 16 },
        ..Default::default()
    };
    let x0 = [1.0, 0.5];
    is_unsupported(
        solve(
            &SdeProblem::new(&NonCommutative, 0.0, 1.0, x0.to_vec(), vec![]).unwrap(),
            &Milstein,
            &mut w,
            &opts,
        )
        .map(|_| ()),
        "solve",
    );
    let ens = EnsembleOptions {
        n_paths: 8,
        steps: Steps::Fixed { n_steps: 16 },
        ..Default::default()
    };
    is_unsupported(
        ensemble(
            &SdeProblem::new(&NonCommutative, 0.0, 1.0, x0.to_vec(), vec![]).unwrap(),
            &Milstein,
            &ens,
        )
        .map(|_| ()),
        "ensemble",
    );
    let tape = mechml_engine::ad::Tape::new();
    is_unsupported(
        mechml_engine::sde::solve_on_tape(
            &tape,
            &SdeProblem::new(
                NonCommutative,
                0.0,
                1.0,
                tape.var_vec(&x0).clone(),
                tape.var_vec(&[]).clone(),
            )
            .unwrap(),
            &Milstein,
            &w,
            &opts,
            mechml_engine::sde::Sensitivity::default(),
        )
        .map(|_| ()),
        "solve_on_tape",
    );
    // Euler–Maruyama and Heun (on the Stratonovich form) accept the same problem.
    assert!(
        solve(
            &SdeProblem::new(&NonCommutative, 0.0, 1.0, x0.to_vec(), vec![]).unwrap(),
            &EulerMaruyama,
            &mut w,
            &opts
        )
        .is_ok()
    );
}

#[test]
fn euler_maruyama_weak_order_one_on_ou_moments() {
    // OU with θ = 1, μ = 1, σ = 0.5 from x0 = 6 to T = 1; h = 1/2 … 1/16 on common paths
    // (a start far from μ makes the bias large against the sampling error). The slope's
    // standard error comes from the per-path samples (delta method, levels correlated); the
    // bias allowance 0.12 is deterministic: without any sampling error the slopes of the
    // errors of the mean and second moment over these levels are 1.104 and 1.057 (from the
    // exact moment recursions of the scheme, m ← (1 − θh) m + θμh, v ← (1 − θh)² v + σ²h),
    // since the bias, e.g. (x0 − μ)[(1 − h)^{1/h} − e^{−1}], is not exactly linear in h.
    let p = [1.0, 1.0, 0.5];
    let x0 = 6.0;
    let (mean, var) = OrnsteinUhlenbeck::moments(x0, &p, 1.0);
    let second = var + mean * mean;
    let levels = 1..=4u32;
    let n_paths = 20_000u64;
    let mut first_moments = Vec::with_capacity(n_paths as usize);
    let mut second_moments = Vec::with_capacity(n_paths as usize);
    for seed in 0..n_paths {
        let mut w = VirtualBrownianTree::builder(0.0, 1.0)
            .seed(seed)
            .fixed_steps(16)
            .build()
            .unwrap();
        let mut xs = Vec::new();
        for k in levels.clone() {
            let opts = SdeOptions {
                steps: Steps::Fixed { n_steps: 1 << k },
                ..Default::default()
            };
            let sol = solve(
                &SdeProblem::new(&OrnsteinUhlenbeck, 0.0, 1.0, vec![x0], p.to_vec()).unwrap(),
                &EulerMaruyama,
                &mut w,
                &opts,
            )
            .unwrap();
            xs.push(sol.final_state()[0]);
        }
        second_moments.push(xs.iter().map(|x| x * x).collect());
        first_moments.push(xs);
    }
    let hs: Vec<f64> = levels.map(|k| -(k as f64)).collect();
    let n_levels = hs.len();
    let f1 = log2_slope(&hs, &first_moments, &vec![mean; n_levels]);
    let f2 = log2_slope(&hs, &second_moments, &vec![second; n_levels]);
    assert_order("EM weak order, mean", f1, 1.0, 0.12);
    assert_order("EM weak order, second moment", f2, 1.0, 0.12);
}

#[test]
fn wrong_calculus_is_an_error() {
    let mut w = VirtualBrownianTree::builder(0.0, 1.0)
        .fixed_steps(8)
        .build()
        .unwrap();
    let opts = SdeOptions {
        steps: Steps::Fixed { n_steps: 8 },
        ..Default::default()
    };
    let e = solve(
        &SdeProblem::new(&Gbm::stratonovich(), 0.0, 1.0, vec![1.0], P.to_vec()).unwrap(),
        &EulerMaruyama,
        &mut w,
        &opts,
    );
    assert!(e.is_err());
    let e = solve(
        &SdeProblem::new(&Gbm::ito(), 0.0, 1.0, vec![1.0], P.to_vec()).unwrap(),
        &Heun,
        &mut w,
        &opts,
    );
    assert!(e.is_err());
    // Additive noise: both calculi agree, so both methods apply.
    let p = [1.0, 0.0, 0.3];
    assert!(
        solve(
            &SdeProblem::new(&OrnsteinUhlenbeck, 0.0, 1.0, vec![0.0], p.to_vec()).unwrap(),
            &Heun,
            &mut w,
            &opts
        )
        .is_ok()
    );
}

#[test]
fn errors_name_time_and_component() {
    // dX = X² dt blows up at t = 1/X(0) = 0.5: the error must name the time and component.
    let mut w = VirtualBrownianTree::builder(0.0, 1.0)
        .fixed_steps(64)
        .build()
        .unwrap();
    struct Blowup;
    impl Sde for Blowup {
        fn shape(&self) -> SdeShape {
            SdeShape::additive(2, 1)
        }
        fn drift<R: Real>(&self, _t: R, x: &[R], _p: &[R], out: &mut [R]) {
            out[0] = R::zero();
            out[1] = x[1] * x[1] * x[1] * x[1];
        }
        fn diffusion<R: Real>(&self, _t: R, _x: &[R], _p: &[R], out: &mut [R]) {
            out[0] = R::from_f64(0.1);
            out[1] = R::zero();
        }
    }
    let opts = SdeOptions {
        steps: Steps::Fixed { n_steps: 64 },
        ..Default::default()
    };
    let err = solve(
        &SdeProblem::new(&Blowup, 0.0, 1.0, vec![0.0, 20.0], vec![]).unwrap(),
        &EulerMaruyama,
        &mut w,
        &opts,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("component 1") && msg.contains("t = "), "{msg}");
    // Dimension errors: on construction, and in `solve` for a problem changed after it.
    assert!(SdeProblem::new(&Blowup, 0.0, 1.0, vec![0.0], vec![]).is_err());
    let mut short = SdeProblem::new(&Blowup, 0.0, 1.0, vec![0.0, 1.0], vec![]).unwrap();
    short.x0 = vec![0.0];
    assert!(solve(&short, &EulerMaruyama, &mut w, &opts).is_err());
    let mut w2 = VirtualBrownianTree::builder(0.0, 1.0)
        .dim(2)
        .fixed_steps(64)
        .build()
        .unwrap();
    assert!(
        solve(
            &SdeProblem::new(&Blowup, 0.0, 1.0, vec![0.0, 1.0], vec![]).unwrap(),
            &EulerMaruyama,
            &mut w2,
            &opts
        )
        .is_err()
    );
    // A path too short for the interval.
    assert!(
        solve(
            &SdeProblem::new(&Blowup, 0.0, 2.0, vec![0.0, 1.0], vec![]).unwrap(),
            &EulerMaruyama,
            &mut w,
            &opts
        )
        .is_err()
    );
}
