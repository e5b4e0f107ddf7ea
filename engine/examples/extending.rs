//! Extending mechml from outside the crate, with its public API only, each extension
//! checked against something independent:
//!
//! 1. a new explicit method family (Heun's method with an Euler error estimate) under the
//!    shared time loop: its convergence order on fixed steps, and an adaptive solve
//!    against the closed form;
//! 2. a custom step-size controller in a gradient solve (discrete adjoint): the gradient
//!    against central finite differences of solves with the same controller;
//! 3. a new stationary GP kernel (the Cauchy kernel `σ² / (1 + r²)`): values against the
//!    closed form, and the gradient of the kernel-matrix tape block with respect to the
//!    hyperparameters and inputs against finite differences;
//! 4. a new tape block (`log Σ exp`): its pullback against finite differences.
//!
//! Run with `cargo run -p mechml-engine --example extending`; the test
//! `engine/tests/extending_example.rs` runs it with the test suite.

use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ad::{BlockOp, InputAdjoints, Real, Tape, Var, VarMat, VarVec};
use mechml_engine::gp::{Inputs, Kernel, Profile, Stationary, kernel_matrix, kernel_matrix_var};
use mechml_engine::ode::problems::{Logistic, LotkaVolterra};
use mechml_engine::ode::{
    Attempt, Method, OdeOptions, OdeProblem, OdeSolution, OdeStats, OdeSystem, OneStep, SaveAt,
    Sensitivity, Step, StepAttempt, gradient, solve, solve_with,
};
use mechml_engine::solver::{StepController, StepDecision};
use mechml_engine::{Error, Result};

/// Fails with a message when `ok` is false.
fn check(ok: bool, what: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            op: "extending example",
            message: what(),
        })
    }
}

/// Largest `|a − b|` relative to `max(1, max |b|)`.
fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / scale)
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------
// 1. A new method family.

/// Heun's method (explicit trapezoid) with the Euler step as its error estimate:
/// `k₁ = f(t, y)`, `k₂ = f(t + h, y + h k₁)`, `y_new = y + h (k₁ + k₂)/2`,
/// `err = h (k₂ − k₁)/2` (orders 2(1); Hairer, Nørsett & Wanner 1993, II.1).
struct Heun<T> {
    k1: Vec<T>,
    k2: Vec<T>,
    tmp: Vec<T>,
}

impl<T: Real> Heun<T> {
    fn new(n: usize) -> Self {
        Heun {
            k1: vec![T::zero(); n],
            k2: vec![T::zero(); n],
            tmp: vec![T::zero(); n],
        }
    }
}

impl<T: Real, S: OdeSystem<T> + ?Sized> OneStep<T, S> for Heun<T> {
    fn error_order(&self) -> f64 {
        2.0
    }

    fn init(&mut self, sys: &mut S, t0: f64, y0: &[T], stats: &mut OdeStats) {
        sys.eval(t0, y0, &mut self.k1);
        stats.n_rhs += 1;
    }

    fn f0(&self) -> &[T] {
        &self.k1
    }

    fn attempt(&mut self, sys: &mut S, s: StepAttempt<'_, T>, stats: &mut OdeStats) -> Attempt {
        for ((tmp, &y), &k) in self.tmp.iter_mut().zip(s.y).zip(&self.k1) {
            *tmp = y + k * s.h;
        }
        sys.eval(s.t_new, &self.tmp, &mut self.k2);
        stats.n_rhs += 1;
        for i in 0..s.y.len() {
            s.y_new[i] = s.y[i] + (self.k1[i] + self.k2[i]) * (0.5 * s.h);
            s.err[i] = 0.5 * s.h * (self.k2[i] - self.k1[i]).value();
        }
        Attempt::Done
    }

    fn accept(&mut self, sys: &mut S, s: Step<'_, T>, stats: &mut OdeStats) -> Result<()> {
        sys.eval(s.t_new, s.y_new, &mut self.k1);
        stats.n_rhs += 1;
        Ok(())
    }
}

fn method_family() -> Result<()> {
    let (y0, t1) = (0.1, 4.0);
    let exact = |t: f64| 1.0 / (1.0 + (1.0 / y0 - 1.0) * (-t).exp());
    let prob = OdeProblem::new(Logistic, 0.0, t1, vec![y0], vec![1.0, 1.0])?;

    // Convergence order on fixed steps: the least-squares slope of log(error) against
    // log(h) over four halvings.
    let mut pts = Vec::new();
    for n in [50usize, 100, 200, 400] {
        let opts = OdeOptions::default().fixed_step(t1 / n as f64);
        let sol = solve_with(&prob, &mut Heun::new(1), &opts)?;
        let err = (sol.y_final()[0] - exact(t1)).abs();
        pts.push(((t1 / n as f64).ln(), err.ln()));
    }
    let m = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / m,
        pts.iter().map(|p| p.1).sum::<f64>() / m,
    );
    let slope = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
        / pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    check((slope - 2.0).abs() < 0.05, || {
        format!("Heun's order {slope}")
    })?;

    // Adaptive, with save times between steps (the default Hermite dense output).
    let opts = OdeOptions::with_tol(1e-8, 1e-10).saving(SaveAt::Times(vec![1.0, 2.0, 4.0]));
    let sol = solve_with(&prob, &mut Heun::new(1), &opts)?;
    for (t, y) in sol.ts.iter().zip(&sol.ys) {
        check((y[0] - exact(*t)).abs() < 1e-6, || {
            format!("Heun at t = {t}: {} vs {}", y[0], exact(*t))
        })?;
    }
    println!(
        "1. method family: Heun order {slope:.3} (expected 2); adaptive solve in {} steps",
        sol.stats.n_accepted
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 2. A custom step-size controller in a gradient solve.

/// Accepts below 0.5 and scales the step by `0.7 ε^(−1/q)` within `[0.25, 3]`.
#[derive(Clone, Debug)]
struct Strict;

impl StepController for Strict {
    fn reset(&mut self) {}

    fn adapt(&mut self, h: f64, err: f64, q: f64) -> StepDecision {
        let factor = if err == 0.0 {
            3.0
        } else if err.is_finite() {
            0.7 * err.powf(-1.0 / q)
        } else {
            0.25
        };
        StepDecision {
            accept: err < 0.5,
            h_next: h * factor.clamp(0.25, 3.0),
        }
    }
}

/// `L = Σₖ Σᵢ yᵢ(τₖ)²` and its cotangents.
fn sum_of_squares(sol: &OdeSolution) -> (f64, Vec<Vec<f64>>) {
    let l = sol.ys.iter().flatten().map(|v| v * v).sum();
    let w = sol
        .ys
        .iter()
        .map(|y| y.iter().map(|v| 2.0 * v).collect())
        .collect();
    (l, w)
}

fn controller_in_gradient() -> Result<()> {
    let opts = OdeOptions::with_tol(1e-9, 1e-9)
        .saving(SaveAt::Times(vec![1.0, 2.5, 5.0]))
        .controller(Strict);
    let problem =
        |x: &[f64]| OdeProblem::new(LotkaVolterra, 0.0, 5.0, x[..2].to_vec(), x[2..].to_vec());
    let x = [1.0, 1.0, 1.5, 1.0, 3.0, 1.0];
    let (_, g) = gradient(
        &problem(&x)?,
        Method::Tsit5,
        &opts,
        Sensitivity::default(),
        sum_of_squares,
    )?;
    let got: Vec<f64> = g.y0.iter().chain(&g.p).copied().collect();
    let fd = finite_diff_gradient(
        |x| Ok(sum_of_squares(&solve(&problem(x)?, Method::Tsit5, &opts)?).0),
        &x,
        Some(1e-4),
    )?;
    let err = rel_diff(&got, &fd);
    check(err < 1e-5, || {
        format!("controller gradient {got:?} vs fd {fd:?}")
    })?;
    println!("2. custom controller: discrete-adjoint gradient vs finite differences {err:.1e}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 3. A new stationary kernel.

/// The Cauchy profile `f(r²) = 1 / (1 + r²)` (the rational quadratic with `α = 1`;
/// Rasmussen & Williams 2006, eq. 4.19): `f' = −f²`.
#[derive(Clone, Copy, Debug, Default)]
struct CauchyProfile;

impl Profile for CauchyProfile {
    const NAME: &'static str = "cauchy";

    fn f<R: Real>(&self, r2: R, _extra: &[R]) -> R {
        R::one() / (r2 + 1.0)
    }

    fn f_grad(&self, r2: f64, _extra: &[f64], _w: f64, _dextra: &mut [f64]) -> (f64, f64) {
        let f = 1.0 / (1.0 + r2);
        (f, -f * f)
    }
}

fn stationary_kernel() -> Result<()> {
    // ARD in two dimensions: θ = (σ², ℓ₀, ℓ₁).
    let k = Stationary::ard_with_profile(2, CauchyProfile)?;
    let layout = k.layout()?;
    let names = layout.names();
    check(
        names == ["variance", "lengthscale[0]", "lengthscale[1]"],
        || format!("parameter names {names:?}"),
    )?;
    let theta = [1.7, 0.8, 1.9];
    let xs = [[0.0, 0.3], [0.5, -1.0], [2.0, 0.4], [-0.7, 1.1]];
    let x = Inputs::from_rows(&xs)?;
    let km = kernel_matrix(&k, &theta, &x, None)?;
    for i in 0..xs.len() {
        for j in 0..xs.len() {
            let r2 = ((xs[i][0] - xs[j][0]) / theta[1]).powi(2)
                + ((xs[i][1] - xs[j][1]) / theta[2]).powi(2);
            let want = theta[0] / (1.0 + r2);
            check((km[(i, j)] - want).abs() < 1e-14, || {
                format!("K[{i},{j}] = {} vs {want}", km[(i, j)])
            })?;
        }
    }

    // The tape block's gradient of Σᵢⱼ wᵢⱼ Kᵢⱼ with respect to θ and X (column-major
    // n × d on the tape) against finite differences of the f64 kernel matrix.
    let (n, d) = (xs.len(), 2);
    let w: Vec<f64> = (0..n * n).map(|i| 0.3 + 0.1 * i as f64).collect();
    let xc: Vec<f64> = (0..d).flat_map(|c| xs.iter().map(move |r| r[c])).collect();
    let weighted = |v: &[f64]| -> Result<f64> {
        let x = Inputs::from_col_major(n, d, &v[3..])?;
        let km = kernel_matrix(&k, &v[..3], &x, None)?;
        Ok((0..n)
            .flat_map(|j| (0..n).map(move |i| (i, j)))
            .map(|(i, j)| km[(i, j)] * w[i + j * n])
            .sum())
    };
    let tape = Tape::new();
    let tv = tape.var_vec(&theta);
    let xm = tape.var_mat(n, d, &xc)?;
    let kv = kernel_matrix_var(&tape, &k, &tv, &xm, None)?;
    let wv = VarMat::constant(n, n, w.clone())?;
    let s = tape.sum(&tape.mul(&kv.flatten(), &wv.flatten())?)?;
    let adj = tape.gradient(&s)?;
    let mut got = adj.wrt_vec(&tv);
    got.extend(adj.wrt_mat(&xm));
    let v0: Vec<f64> = theta.iter().chain(&xc).copied().collect();
    let fd = finite_diff_gradient(weighted, &v0, None)?;
    let err = rel_diff(&got, &fd);
    check(err < 1e-7, || {
        format!("kernel gradient {got:?} vs fd {fd:?}")
    })?;
    println!("3. stationary kernel: tape gradient (θ and X) vs finite differences {err:.1e}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 4. A new tape block.

/// `log Σ exp(xᵢ)`, computed stably; its pullback is `ḡ · softmax(x)`.
struct LogSumExp {
    softmax: Vec<f64>,
}

impl BlockOp for LogSumExp {
    fn name(&self) -> &'static str {
        "logsumexp"
    }

    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut dx) = inputs.arg(0) {
            for (d, p) in dx.iter_mut().zip(&self.softmax) {
                *d += g[0] * p;
            }
        }
        Ok(())
    }
}

fn logsumexp<'t>(tape: &'t Tape, x: &VarVec<'t>) -> Result<Var<'t>> {
    let m = x.values().iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = x.values().iter().map(|v| (v - m).exp()).sum();
    let softmax = x.values().iter().map(|v| (v - m).exp() / s).collect();
    let start = tape.push_block(LogSumExp { softmax }, &[x.arg()], 1)?;
    VarVec::from_block(tape, start, vec![m + s.ln()])
        .get(0)
        .ok_or_else(|| Error::InvalidArgument {
            op: "logsumexp",
            message: "the block has one output".into(),
        })
}

fn tape_block() -> Result<()> {
    let x0 = [0.3, -1.2, 2.5, 0.0, 1.1];
    // In a larger expression: L = logsumexp(x) · x₀ + x₁².
    let value = |x: &[f64]| {
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        lse * x[0] + x[1] * x[1]
    };
    let tape = Tape::new();
    let xv = tape.var_vec(&x0);
    let lse = logsumexp(&tape, &xv)?;
    let l = lse * xv.get(0).expect("5 entries") + xv.get(1).expect("5 entries").powi(2);
    check((l.val() - value(&x0)).abs() < 1e-14, || {
        "logsumexp value".into()
    })?;
    let got = tape.gradient(&l)?.wrt_vec(&xv);
    let fd = finite_diff_gradient(|x| Ok(value(x)), &x0, None)?;
    let err = rel_diff(&got, &fd);
    check(err < 1e-8, || {
        format!("block gradient {got:?} vs fd {fd:?}")
    })?;
    println!("4. tape block: logsumexp pullback vs finite differences {err:.1e}");
    Ok(())
}

/// Runs the four extensions and their checks.
pub fn main() -> Result<()> {
    method_family()?;
    controller_in_gradient()?;
    stationary_kernel()?;
    tape_block()?;
    println!("all extensions checked");
    Ok(())
}
