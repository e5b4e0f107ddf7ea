//! Convergence orders of the fixed-step methods, measured as log–log slopes.
//!
//! Strong order: the mean over seeded paths of `|X_N − X(T)|`, where `X(T)` is the exact
//! solution of geometric Brownian motion *on the same Brownian path* (the tree gives every
//! step size the same path), for step sizes `h = T/2^k`. The slope of `log₂ error` against
//! `log₂ h` estimates the order (Higham 2001, "An algorithmic introduction to numerical
//! simulation of SDEs", SIAM Review 43(3), §7, uses the same set-up and parameters).
//!
//! Weak order: the sample mean and second moment of Euler–Maruyama on the
//! Ornstein–Uhlenbeck process against the closed forms.
//!
//! Slope tolerances (±0.12 strong, ±0.15 weak) cover the Monte Carlo scatter at these
//! sample sizes and the pre-asymptotic curvature of the coarsest steps: with another set of
//! seeds the strong slopes moved by at most 0.05 (EM on the converted GBM, the worst case,
//! gave 0.55 and 0.60), and the weak slope of the mean over h = 1/2 … 1/16 is 1.11 even
//! without sampling error, since the bias 2[(1 − h)^{1/h} − e^{−1}] is not exactly linear
//! in h.

use mechml_engine::ad::Real;
use mechml_engine::sde::reference::{Gbm, OrnsteinUhlenbeck};
use mechml_engine::sde::{
    Calculus, EulerMaruyama, Heun, ItoForm, Milstein, NoiseType, ReversibleHeun, SaveAt, Sde,
    SdeMethod, SolveOptions, Steps, StratonovichForm, VirtualBrownianTree, solve,
};

const LEVELS: std::ops::RangeInclusive<u32> = 4..=9;
const PATHS: u64 = 300;
/// Higham (2001): dX = λX dt + μX dW, λ = 2, μ = 1, X(0) = 1, T = 1.
const P: [f64; 2] = [2.0, 1.0];

/// Least-squares slope of `ys` against `xs`.
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    sxy / sxx
}

/// Mean strong error at `T = 1` over `PATHS` paths for each level, using `exact(w_T)`.
fn strong_errors<S: Sde, M: SdeMethod>(
    sde: &S,
    method: &M,
    x0: &[f64],
    p: &[f64],
    exact: impl Fn(&[f64]) -> Vec<f64>,
) -> Vec<f64> {
    let kmax = *LEVELS.end();
    let m = sde.n_noise();
    let mut errs = vec![0.0; LEVELS.clone().count()];
    for seed in 0..PATHS {
        let mut w =
            VirtualBrownianTree::for_fixed_steps(0.0, 1.0, 1 << kmax, m, seed, 0, false).unwrap();
        let mut wt = vec![0.0; m];
        w.value(1.0, &mut wt).unwrap();
        let x_exact = exact(&wt);
        for (e, k) in errs.iter_mut().zip(LEVELS) {
            let opts = SolveOptions {
                steps: Steps::Fixed { n_steps: 1 << k },
                save: SaveAt::Final,
                check_finite: true,
            };
            let sol = solve(sde, method, 0.0, 1.0, x0, p, &mut w, &opts).unwrap();
            let err: f64 = sol
                .final_state()
                .iter()
                .zip(&x_exact)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            *e += err / PATHS as f64;
        }
    }
    errs
}

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
    let xs: Vec<f64> = LEVELS.map(|k| -(k as f64)).collect();
    let ys: Vec<f64> = errs.iter().map(|e| e.log2()).collect();
    let s = slope(&xs, &ys);
    println!("{name}: errors {errs:?}, slope {s:.3}");
    assert!(
        (s - order).abs() < 0.12,
        "{name}: strong order {s:.3}, expected {order} (errors {errs:?})"
    );
}

fn gbm_exact(sde: Gbm) -> impl Fn(&[f64]) -> Vec<f64> {
    move |w: &[f64]| vec![sde.exact(1.0, &P, 1.0, w[0])]
}

#[test]
fn euler_maruyama_strong_order_half() {
    let sde = Gbm::ito();
    check_strong("EM", &sde, &EulerMaruyama, &[1.0], &P, gbm_exact(sde), 0.5);
}

#[test]
fn milstein_strong_order_one_ito_and_stratonovich() {
    let ito = Gbm::ito();
    check_strong(
        "Milstein Itô",
        &ito,
        &Milstein,
        &[1.0],
        &P,
        gbm_exact(ito),
        1.0,
    );
    let st = Gbm::stratonovich();
    check_strong(
        "Milstein Strat",
        &st,
        &Milstein,
        &[1.0],
        &P,
        gbm_exact(st),
        1.0,
    );
}

#[test]
fn heun_strong_order_one_on_scalar_noise() {
    let st = Gbm::stratonovich();
    check_strong("Heun", &st, &Heun, &[1.0], &P, gbm_exact(st), 1.0);
}

#[test]
fn reversible_heun_converges_on_stratonovich_gbm() {
    // Kidger et al. (2021), Theorem D.15: strong order 0.5 in general; on this scalar,
    // commutative problem it behaves like Heun (order 1).
    let st = Gbm::stratonovich();
    check_strong(
        "reversible Heun",
        &st,
        &ReversibleHeun,
        &[1.0],
        &P,
        gbm_exact(st),
        1.0,
    );
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
    fn n_states(&self) -> usize {
        2
    }
    fn n_noise(&self) -> usize {
        2
    }
    fn noise(&self) -> NoiseType {
        NoiseType::General
    }
    fn calculus(&self) -> Calculus {
        self.calculus
    }
    fn commutative_noise(&self) -> bool {
        true
    }
    fn drift<R: Real>(&self, _t: f64, x: &[R], _p: &[R], out: &mut [R]) {
        for i in 0..2 {
            out[i] = x[i] * A[i];
        }
    }
    fn diffusion<R: Real>(&self, _t: f64, x: &[R], _p: &[R], out: &mut [R]) {
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

#[test]
fn euler_maruyama_weak_order_one_on_ou_moments() {
    // OU with θ = 1, μ = 1, σ = 0.5 from x0 = 3 to T = 1; h = 1/2 … 1/16 on common paths.
    let p = [1.0, 1.0, 0.5];
    let x0 = 3.0;
    let (mean, var) = OrnsteinUhlenbeck::moments(x0, &p, 1.0);
    let second = var + mean * mean;
    let levels = 1..=4u32;
    let n_paths = 20_000u64;
    let mut m1 = [0.0; 4];
    let mut m2 = [0.0; 4];
    for seed in 0..n_paths {
        let mut w = VirtualBrownianTree::for_fixed_steps(0.0, 1.0, 16, 1, seed, 0, false).unwrap();
        for (j, k) in levels.clone().enumerate() {
            let opts = SolveOptions {
                steps: Steps::Fixed { n_steps: 1 << k },
                ..Default::default()
            };
            let sol = solve(
                &OrnsteinUhlenbeck,
                &EulerMaruyama,
                0.0,
                1.0,
                &[x0],
                &p,
                &mut w,
                &opts,
            )
            .unwrap();
            let x = sol.final_state()[0];
            m1[j] += x / n_paths as f64;
            m2[j] += x * x / n_paths as f64;
        }
    }
    let xs: Vec<f64> = levels.map(|k| -(k as f64)).collect();
    let e1: Vec<f64> = m1.iter().map(|m| (m - mean).abs().log2()).collect();
    let e2: Vec<f64> = m2.iter().map(|m| (m - second).abs().log2()).collect();
    let (s1, s2) = (slope(&xs, &e1), slope(&xs, &e2));
    println!("weak: mean errors {m1:?} vs {mean}, slope {s1:.3}; second moment slope {s2:.3}");
    assert!((s1 - 1.0).abs() < 0.15, "weak order (mean) {s1}");
    assert!((s2 - 1.0).abs() < 0.15, "weak order (second moment) {s2}");
}

#[test]
fn wrong_calculus_is_an_error() {
    let mut w = VirtualBrownianTree::for_fixed_steps(0.0, 1.0, 8, 1, 0, 0, false).unwrap();
    let opts = SolveOptions {
        steps: Steps::Fixed { n_steps: 8 },
        ..Default::default()
    };
    let e = solve(
        &Gbm::stratonovich(),
        &EulerMaruyama,
        0.0,
        1.0,
        &[1.0],
        &P,
        &mut w,
        &opts,
    );
    assert!(e.is_err());
    let e = solve(&Gbm::ito(), &Heun, 0.0, 1.0, &[1.0], &P, &mut w, &opts);
    assert!(e.is_err());
    // Additive noise: both calculi agree, so both methods apply.
    let p = [1.0, 0.0, 0.3];
    assert!(
        solve(
            &OrnsteinUhlenbeck,
            &Heun,
            0.0,
            1.0,
            &[0.0],
            &p,
            &mut w,
            &opts
        )
        .is_ok()
    );
}

#[test]
fn errors_name_time_and_component() {
    // dX = X² dt blows up at t = 1/X(0) = 0.5: the error must name the time and component.
    let mut w = VirtualBrownianTree::for_fixed_steps(0.0, 1.0, 64, 1, 0, 0, false).unwrap();
    struct Blowup;
    impl Sde for Blowup {
        fn n_states(&self) -> usize {
            2
        }
        fn n_noise(&self) -> usize {
            1
        }
        fn noise(&self) -> NoiseType {
            NoiseType::Additive
        }
        fn drift<R: Real>(&self, _t: f64, x: &[R], _p: &[R], out: &mut [R]) {
            out[0] = R::zero();
            out[1] = x[1] * x[1] * x[1] * x[1];
        }
        fn diffusion<R: Real>(&self, _t: f64, _x: &[R], _p: &[R], out: &mut [R]) {
            out[0] = R::from_f64(0.1);
            out[1] = R::zero();
        }
    }
    let opts = SolveOptions {
        steps: Steps::Fixed { n_steps: 64 },
        ..Default::default()
    };
    let err = solve(
        &Blowup,
        &EulerMaruyama,
        0.0,
        1.0,
        &[0.0, 20.0],
        &[],
        &mut w,
        &opts,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("component 1") && msg.contains("t = "), "{msg}");
    // Dimension errors.
    assert!(
        solve(
            &Blowup,
            &EulerMaruyama,
            0.0,
            1.0,
            &[0.0],
            &[],
            &mut w,
            &opts
        )
        .is_err()
    );
    let mut w2 = VirtualBrownianTree::for_fixed_steps(0.0, 1.0, 64, 2, 0, 0, false).unwrap();
    assert!(
        solve(
            &Blowup,
            &EulerMaruyama,
            0.0,
            1.0,
            &[0.0, 1.0],
            &[],
            &mut w2,
            &opts
        )
        .is_err()
    );
    // A path too short for the interval.
    assert!(
        solve(
            &Blowup,
            &EulerMaruyama,
            0.0,
            2.0,
            &[0.0, 1.0],
            &[],
            &mut w,
            &opts
        )
        .is_err()
    );
}
