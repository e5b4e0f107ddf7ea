//! Rosenbrock (linearly implicit) methods for stiff problems.
//!
//! In the transformed form of Hairer & Wanner (1996), IV.7, eq. (7.25), a step of size
//! `h` from `(t, y)` with `J = ∂f/∂y(t, y)` and `f_t = ∂f/∂t(t, y)` solves, for
//! `i = 1..s`,
//!
//! $$\Big(\frac{1}{h\gamma} I - J\Big) u_i = f\Big(t + \alpha_i h,\ y + \sum_{j<i} a_{ij} u_j\Big)
//!   + \sum_{j<i} \frac{c_{ij}}{h} u_j + \gamma_i h f_t,$$
//!
//! then `y_new = y + Σ mᵢ uᵢ` and `err = Σ (mᵢ − m̂ᵢ) uᵢ`: one Jacobian, one LU and `s`
//! linear solves per step, no Newton iteration.

use faer::Mat;

use super::linsolve::LuWork;
use super::one_step::{Attempt, OneStep, Step, StepAttempt};
use super::solution::OdeStats;
use super::system::OdeSystemJacobian;
use crate::error::{Error, Result};

/// A Rosenbrock method in transformed form (Hairer & Wanner 1996, IV.7, (7.25)), with a
/// dense output `y(θ) = (1−θ) y + θ y_new + θ(1−θ)(k₁ + θ k₂ + θ² k₃)`,
/// `kⱼ = Σᵢ Hⱼᵢ uᵢ` (Steinebach 2023).
#[derive(Debug)]
pub struct RosenbrockTableau {
    /// Short name.
    pub name: &'static str,
    /// The diagonal `γ`.
    pub gamma: f64,
    /// Transformed `A`, strictly lower rows (row `i` has `i` entries).
    pub a: &'static [&'static [f64]],
    /// Transformed `C`, strictly lower rows.
    pub c: &'static [&'static [f64]],
    /// Stage times `αᵢ`.
    pub alpha: &'static [f64],
    /// Time-derivative coefficients `γᵢ`.
    pub gamma_t: &'static [f64],
    /// Solution weights `m`.
    pub m: &'static [f64],
    /// Error weights `m − m̂`.
    pub m_err: &'static [f64],
    /// Dense-output matrix `H` (rows of `s` entries; empty for cubic Hermite).
    pub h: &'static [&'static [f64]],
    /// Order.
    pub order: u32,
    /// Order of the embedded solution.
    pub embedded_order: u32,
}

impl RosenbrockTableau {
    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.m.len()
    }

    /// Checks the shapes.
    pub fn validate(&self) -> Result<()> {
        let s = self.stages();
        let ok = self.a.len() == s
            && self.c.len() == s
            && self.alpha.len() == s
            && self.gamma_t.len() == s
            && self.m_err.len() == s
            && (0..s).all(|i| self.a[i].len() == i && self.c[i].len() == i)
            && self.h.iter().all(|r| r.len() == s)
            && self.gamma > 0.0;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument {
                op: "RosenbrockTableau",
                message: format!("{}: inconsistent sizes", self.name),
            })
        }
    }
}

/// Steinebach (2023), "Construction of Rosenbrock–Wanner method Rodas5P and numerical
/// benchmarks within the Julia Differential Equations package", BIT Numer. Math. 63, 27:
/// order 5 (embedded 4), stiffly accurate, L-stable, with a fourth-order dense output.
/// Coefficients as in OrdinaryDiffEq.jl (`RODAS5PA`, `RODAS5PC`, `RODAS5PH`).
pub const RODAS5P: RosenbrockTableau = RosenbrockTableau {
    name: "rodas5p",
    gamma: 0.21193756319429014,
    a: &[
        &[],
        &[3.0],
        &[2.849394379747939, 0.45842242204463923],
        &[-6.954028509809101, 2.489845061869568, -10.358996098473584],
        &[
            2.8029986275628964,
            0.5072464736228206,
            -0.3988312541770524,
            -0.04721187230404641,
        ],
        &[
            -7.502846399306121,
            2.561846144803919,
            -11.627539656261098,
            -0.18268767659942256,
            0.030198172008377946,
        ],
        &[
            -7.502846399306121,
            2.561846144803919,
            -11.627539656261098,
            -0.18268767659942256,
            0.030198172008377946,
            1.0,
        ],
        &[
            -7.502846399306121,
            2.561846144803919,
            -11.627539656261098,
            -0.18268767659942256,
            0.030198172008377946,
            1.0,
            1.0,
        ],
    ],
    c: &[
        &[],
        &[-14.155112264123755],
        &[-17.97296035885952, -2.859693295451294],
        &[147.12150275711716, -1.41221402718213, 71.68940251302358],
        &[
            165.43517024871676,
            -0.4592823456491126,
            42.90938336958603,
            -5.961986721573306,
        ],
        &[
            24.854864614690072,
            -3.0009227002832186,
            47.4931110020768,
            5.5814197821558125,
            -0.6610691825249471,
        ],
        &[
            30.91273214028599,
            -3.1208243349937974,
            77.79954646070892,
            34.28646028294783,
            -19.097331116725623,
            -28.087943162872662,
        ],
        &[
            37.80277123390563,
            -3.2571969029072276,
            112.26918849496327,
            66.9347231244047,
            -40.06618937091002,
            -54.66780262877968,
            -9.48861652309627,
        ],
    ],
    alpha: &[
        0.0,
        0.6358126895828704,
        0.4095798393397535,
        0.9769306725060716,
        0.4288403609558664,
        1.0,
        1.0,
        1.0,
    ],
    gamma_t: &[
        0.21193756319429014,
        -0.42387512638858027,
        -0.3384627126235924,
        1.8046452872882734,
        2.325825639765069,
        0.0,
        0.0,
        0.0,
    ],
    m: &[
        -7.502846399306121,
        2.561846144803919,
        -11.627539656261098,
        -0.18268767659942256,
        0.030198172008377946,
        1.0,
        1.0,
        1.0,
    ],
    m_err: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    h: &[
        &[
            25.948786856663858,
            -2.5579724845846235,
            10.433815404888879,
            -2.3679251022685204,
            0.524948541321073,
            1.1241088310450404,
            0.4272876194431874,
            -0.17202221070155493,
        ],
        &[
            -9.91568850695171,
            -0.9689944594115154,
            3.0438037242978453,
            -24.495224566215796,
            20.176138334709044,
            15.98066361424651,
            -6.789040303419874,
            -6.710236069923372,
        ],
        &[
            11.419903575922262,
            2.8879645146136994,
            72.92137995996029,
            80.12511834622643,
            -52.072871366152654,
            -59.78993625266729,
            -0.15582684282751913,
            4.883087185713722,
        ],
    ],
    order: 5,
    embedded_order: 4,
};

/// The Rosenbrock stepper: Jacobian and `f_t` at the step's start (kept across rejected
/// attempts), one LU per attempt.
pub struct Rosenbrock {
    tab: &'static RosenbrockTableau,
    n: usize,
    jac: Mat<f64>,
    ft: Vec<f64>,
    f0: Vec<f64>,
    jac_current: bool,
    lu: LuWork,
    u: Vec<f64>,
    ytmp: Vec<f64>,
    ftmp: Vec<f64>,
    /// `cᵢⱼ / h` of the current stage.
    ch: Vec<f64>,
}

impl Rosenbrock {
    /// A stepper for `n` states.
    pub fn new(tab: &'static RosenbrockTableau, n: usize) -> Self {
        Self {
            tab,
            n,
            jac: Mat::zeros(n, n),
            ft: vec![0.0; n],
            f0: vec![0.0; n],
            jac_current: false,
            lu: LuWork::new(n),
            u: vec![0.0; tab.stages() * n],
            ytmp: vec![0.0; n],
            ftmp: vec![0.0; n],
            ch: vec![0.0; tab.stages()],
        }
    }

    /// `kⱼ = Σᵢ Hⱼᵢ uᵢ` for row `j` into `out`.
    fn hk(&self, j: usize, out: &mut [f64]) {
        let n = self.n;
        out.fill(0.0);
        for (i, &hji) in self.tab.h[j].iter().enumerate() {
            if hji != 0.0 {
                for (o, &ui) in out.iter_mut().zip(&self.u[i * n..(i + 1) * n]) {
                    *o += hji * ui;
                }
            }
        }
    }
}

impl<S: OdeSystemJacobian + ?Sized> OneStep<f64, S> for Rosenbrock {
    fn error_order(&self) -> f64 {
        f64::from(self.tab.embedded_order + 1)
    }

    fn init(&mut self, sys: &mut S, t0: f64, y0: &[f64], stats: &mut OdeStats) {
        sys.eval(t0, y0, &mut self.f0);
        stats.n_rhs += 1;
        self.jac_current = false;
    }

    fn f0(&self) -> &[f64] {
        &self.f0
    }

    fn attempt(
        &mut self,
        sys: &mut S,
        step: StepAttempt<'_, f64>,
        stats: &mut OdeStats,
    ) -> Attempt {
        let StepAttempt {
            t,
            h,
            y,
            y_new,
            err,
            ..
        } = step;
        let n = self.n;
        let tab = self.tab;
        if !self.jac_current {
            sys.jacobian(t, y, self.jac.as_mut());
            sys.time_derivative(t, y, &mut self.ft);
            stats.n_jac += 1;
            self.jac_current = true;
        }
        stats.n_lu += 1;
        if let Err(i) = self
            .lu
            .factor_shifted(self.jac.as_ref(), 1.0 / (h * tab.gamma), -1.0)
        {
            return Attempt::Failed {
                iterations: 0,
                component: i,
                residual: f64::INFINITY,
            };
        }
        // Stage sums accumulate component by component in registers (the stages of
        // small systems are a few numbers each).
        let inv_h = 1.0 / h;
        for i in 0..tab.stages() {
            // f at the stage point (stage 0 is f(t, y), computed once per step).
            if i == 0 {
                self.ftmp.copy_from_slice(&self.f0);
            } else {
                let a = tab.a[i];
                for (m, yt) in self.ytmp.iter_mut().enumerate() {
                    let mut acc = y[m];
                    for (j, &aij) in a.iter().enumerate() {
                        acc += aij * self.u[j * n + m];
                    }
                    *yt = acc;
                }
                sys.eval(t + tab.alpha[i] * h, &self.ytmp, &mut self.ftmp);
                stats.n_rhs += 1;
            }
            if let Some((c, v)) = super::driver::first_non_finite(&self.ftmp) {
                return Attempt::NonFinite {
                    component: c,
                    value: v,
                };
            }
            // Right-hand side of the stage's linear system.
            let gt = tab.gamma_t[i] * h;
            let ch = &mut self.ch[..i];
            for (d, &c) in ch.iter_mut().zip(tab.c[i]) {
                *d = c * inv_h;
            }
            for (m, r) in self.ftmp.iter_mut().enumerate() {
                let mut acc = *r + gt * self.ft[m];
                for (j, &c) in ch.iter().enumerate() {
                    acc += c * self.u[j * n + m];
                }
                *r = acc;
            }
            self.lu.solve(&mut self.ftmp);
            self.u[i * n..(i + 1) * n].copy_from_slice(&self.ftmp);
        }
        for m in 0..n {
            let (mut yn, mut er) = (y[m], 0.0);
            for (i, (&mi, &ei)) in tab.m.iter().zip(tab.m_err).enumerate() {
                let v = self.u[i * n + m];
                yn += mi * v;
                er += ei * v;
            }
            y_new[m] = yn;
            err[m] = er;
        }
        Attempt::Done
    }

    fn dense_at(
        &mut self,
        sys: &mut S,
        step: Step<'_, f64>,
        theta: f64,
        out: &mut [f64],
        stats: &mut OdeStats,
    ) {
        let mut c = Vec::new();
        self.dense_coeffs(sys, step, &mut c, stats);
        let n = self.n;
        let deg = c.len() / n - 1;
        out.copy_from_slice(&c[deg * n..]);
        for m in (0..deg).rev() {
            for i in 0..n {
                out[i] = out[i] * theta + c[m * n + i];
            }
        }
    }

    fn dense_coeffs(
        &mut self,
        sys: &mut S,
        step: Step<'_, f64>,
        out: &mut Vec<f64>,
        stats: &mut OdeStats,
    ) {
        let Step { t, h, y, y_new, .. } = step;
        let n = self.n;
        if self.tab.h.len() != 3 {
            // Cubic Hermite from f(t, y) and f(t + h, y_new).
            let mut f1 = vec![0.0; n];
            sys.eval(t + h, y_new, &mut f1);
            stats.n_rhs += 1;
            super::dense::hermite_coeffs(y, y_new, &self.f0, &f1, h, out);
            return;
        }
        let (mut k1, mut k2, mut k3) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        self.hk(0, &mut k1);
        self.hk(1, &mut k2);
        self.hk(2, &mut k3);
        out.clear();
        out.resize(5 * n, 0.0);
        for i in 0..n {
            out[i] = y[i];
            out[n + i] = y_new[i] - y[i] + k1[i];
            out[2 * n + i] = k2[i] - k1[i];
            out[3 * n + i] = k3[i] - k2[i];
            out[4 * n + i] = -k3[i];
        }
    }

    fn accept(&mut self, sys: &mut S, step: Step<'_, f64>, stats: &mut OdeStats) -> Result<()> {
        sys.eval(step.t + step.h, step.y_new, &mut self.f0);
        stats.n_rhs += 1;
        self.jac_current = false;
        Ok(())
    }
}
