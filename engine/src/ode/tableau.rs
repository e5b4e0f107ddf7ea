//! Butcher tableaus of explicit Runge–Kutta methods, as data.
//!
//! A method with `s` stages computes, for a step of size `h` from `(t, y)`,
//!
//! $$k_i = f\Big(t + c_i h,\; y + h \sum_{j<i} a_{ij} k_j\Big),\qquad
//!   y_{new} = y + h \sum_i b_i k_i,\qquad
//!   \mathrm{err} = h \sum_i (b_i - \hat b_i) k_i,$$
//!
//! and, between `t` and `t + h`, the dense output
//! `y(t + θh) = y + h Σᵢ bᵢ(θ) kᵢ` with polynomial weights `bᵢ(θ)` (possibly over extra
//! stages evaluated only when a dense value is needed).
//!
//! A new method is one `const` [`ButcherTableau`] here (with its citation) and a line in
//! the order-condition test at the end of this file; it is then usable as
//! [`Method::Explicit`](super::Method::Explicit). Downstream crates can do the same with
//! their own constants:
//!
//! ```
//! use mechml_engine::ode::tableau::{ButcherTableau, RkDense};
//! use mechml_engine::ode::problems::Logistic;
//! use mechml_engine::ode::{solve, Method, OdeOptions, OdeProblem};
//!
//! /// Heun–Euler 2(1): Heun's method with Euler's as the embedded estimate.
//! const HEUN_EULER: ButcherTableau = ButcherTableau {
//!     name: "heun_euler",
//!     a: &[&[], &[1.0]],
//!     b: &[0.5, 0.5],
//!     b_err: Some(&[-0.5, 0.5]), // b − b̂ with b̂ = (1, 0)
//!     c: &[0.0, 1.0],
//!     order: 2,
//!     embedded_order: 1,
//!     dense: Some(RkDense { extra_a: &[], extra_c: &[], weights: &[&[1.0, -0.5], &[0.0, 0.5]], order: 2 }),
//! };
//! HEUN_EULER.validate()?; // row sums, weight sums, shapes
//!
//! let prob = OdeProblem::new(Logistic, 0.0, 5.0, vec![0.1], vec![1.0, 1.0])?;
//! let sol = solve(&prob, Method::Explicit(&HEUN_EULER), &OdeOptions::with_tol(1e-6, 1e-9))?;
//! let exact = 1.0 / (1.0 + 9.0 * (-5.0f64).exp());
//! assert!((sol.y_final()[0] - exact).abs() < 1e-4);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::error::{Error, Result};

/// The Butcher tableau of an explicit Runge–Kutta method with an optional embedded
/// error estimate and dense output.
#[derive(Debug)]
pub struct ButcherTableau {
    /// Short name (`"tsit5"`).
    pub name: &'static str,
    /// Rows of `A` strictly below the diagonal: row `i` (0-based stage) has `i` entries.
    pub a: &'static [&'static [f64]],
    /// Weights `b`.
    pub b: &'static [f64],
    /// Error weights `b − b̂` (`None` for fixed-step methods).
    pub b_err: Option<&'static [f64]>,
    /// Nodes `c` (`c₀ = 0`).
    pub c: &'static [f64],
    /// Order of `b`.
    pub order: u32,
    /// Order of the embedded weights `b̂` (0 without an estimate).
    pub embedded_order: u32,
    /// Dense output.
    pub dense: Option<RkDense>,
}

/// Dense output of an explicit Runge–Kutta method:
/// `y(t + θh) = y + h Σᵢ bᵢ(θ) kᵢ` with `bᵢ(θ) = Σₘ weights[i][m] θ^{m+1}`.
#[derive(Debug)]
pub struct RkDense {
    /// Rows of `A` of extra stages evaluated only for dense output (row `j` has
    /// `stages + j` entries: it may use the method's stages and earlier extra stages).
    pub extra_a: &'static [&'static [f64]],
    /// Nodes of the extra stages.
    pub extra_c: &'static [f64],
    /// Power-basis coefficients of `bᵢ(θ)`, one row per stage (the method's, then the
    /// extra ones); all rows have the same length (the degree).
    pub weights: &'static [&'static [f64]],
    /// Order of the dense output.
    pub order: u32,
}

impl ButcherTableau {
    /// Number of stages of a step.
    pub fn stages(&self) -> usize {
        self.b.len()
    }

    /// Number of stages including extra dense-output stages.
    pub fn total_stages(&self) -> usize {
        self.b.len() + self.dense.as_ref().map_or(0, |d| d.extra_a.len())
    }

    /// First same as last: the last stage is `f(t + h, y_new)` (its row of `A` is `b` and
    /// its node is 1), so it is the first stage of the next step.
    pub fn is_fsal(&self) -> bool {
        let s = self.stages();
        s > 1
            && self.c[s - 1] == 1.0
            && self.b[s - 1] == 0.0
            && self.a[s - 1]
                .iter()
                .zip(self.b)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The order of the error estimate's local error, `q̂ + 1` (the exponent of the
    /// step-size controller and of the initial step).
    pub fn error_order(&self) -> f64 {
        f64::from(self.embedded_order + 1)
    }

    /// Entry `a[i][j]` of the extended tableau (method stages then extra stages).
    #[cfg(test)]
    #[inline]
    pub(crate) fn a_ext(&self, i: usize, j: usize) -> f64 {
        let s = self.stages();
        if i < s {
            self.a[i].get(j).copied().unwrap_or(0.0)
        } else {
            self.dense
                .as_ref()
                .and_then(|d| d.extra_a.get(i - s))
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(0.0)
        }
    }

    /// Node `c[i]` of the extended tableau.
    #[inline]
    pub(crate) fn c_ext(&self, i: usize) -> f64 {
        let s = self.stages();
        if i < s {
            self.c[i]
        } else {
            self.dense.as_ref().map_or(0.0, |d| d.extra_c[i - s])
        }
    }

    /// The dense weights `bᵢ(θ)` of every (extended) stage into `w`.
    pub fn dense_weights(&self, theta: f64, w: &mut [f64]) {
        match &self.dense {
            Some(d) => {
                for (wi, row) in w.iter_mut().zip(d.weights) {
                    let mut acc = 0.0;
                    for &c in row.iter().rev() {
                        acc = acc * theta + c;
                    }
                    *wi = acc * theta;
                }
            }
            None => {
                for (wi, &b) in w.iter_mut().zip(self.b) {
                    *wi = theta * b;
                }
            }
        }
    }

    /// Checks the shape and the simplifying conditions every tableau satisfies:
    /// `Σⱼ aᵢⱼ = cᵢ`, `Σ bᵢ = 1`, `Σ (bᵢ − b̂ᵢ) = 0`, and for dense output `Σ bᵢ(1) = 1`.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| {
            Err(Error::InvalidArgument {
                op: "ButcherTableau",
                message: format!("{}: {message}", self.name),
            })
        };
        let s = self.stages();
        if s == 0 || self.a.len() != s || self.c.len() != s {
            return bad(format!(
                "{} weights, {} rows of A, {} nodes",
                s,
                self.a.len(),
                self.c.len()
            ));
        }
        for i in 0..s {
            if self.a[i].len() != i {
                return bad(format!(
                    "row {i} of A has {} entries, expected {i}",
                    self.a[i].len()
                ));
            }
            let sum: f64 = self.a[i].iter().sum();
            if (sum - self.c[i]).abs() > 1e-12 {
                return bad(format!(
                    "row {i} of A sums to {sum}, but c[{i}] = {}",
                    self.c[i]
                ));
            }
        }
        let sb: f64 = self.b.iter().sum();
        if (sb - 1.0).abs() > 1e-12 {
            return bad(format!("the weights sum to {sb}"));
        }
        if let Some(e) = self.b_err {
            if e.len() != s {
                return bad(format!("{} error weights for {s} stages", e.len()));
            }
            let se: f64 = e.iter().sum();
            if se.abs() > 1e-12 {
                return bad(format!("the error weights sum to {se}, expected 0"));
            }
        }
        if let Some(d) = &self.dense {
            let total = self.total_stages();
            if d.weights.len() != total || d.extra_c.len() != d.extra_a.len() {
                return bad("dense output has inconsistent sizes".into());
            }
            for (j, row) in d.extra_a.iter().enumerate() {
                if row.len() != s + j {
                    return bad(format!(
                        "extra stage {j} has {} entries, expected {}",
                        row.len(),
                        s + j
                    ));
                }
            }
            let mut w = vec![0.0; total];
            self.dense_weights(1.0, &mut w);
            let sw: f64 = w.iter().sum();
            if (sw - 1.0).abs() > 1e-12 {
                return bad(format!("the dense weights at θ = 1 sum to {sw}"));
            }
        }
        Ok(())
    }
}

/// Forward Euler (order 1, fixed step).
pub const EULER: ButcherTableau = ButcherTableau {
    name: "euler",
    a: &[&[]],
    b: &[1.0],
    b_err: None,
    c: &[0.0],
    order: 1,
    embedded_order: 0,
    dense: Some(RkDense {
        extra_a: &[],
        extra_c: &[],
        weights: &[&[1.0]],
        order: 1,
    }),
};

/// The classical Runge–Kutta method (order 4, fixed step), with its third-order dense
/// output (Hairer, Nørsett & Wanner 1993, II.6, eq. (6.12)).
pub const RK4: ButcherTableau = ButcherTableau {
    name: "rk4",
    a: &[&[], &[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
    b: &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    b_err: None,
    c: &[0.0, 0.5, 0.5, 1.0],
    order: 4,
    embedded_order: 0,
    dense: Some(RkDense {
        extra_a: &[],
        extra_c: &[],
        weights: &[
            &[1.0, -1.5, 2.0 / 3.0],
            &[0.0, 1.0, -2.0 / 3.0],
            &[0.0, 1.0, -2.0 / 3.0],
            &[0.0, -0.5, 2.0 / 3.0],
        ],
        order: 3,
    }),
};

/// Bogacki & Shampine (1989), "A 3(2) pair of Runge–Kutta formulas", Appl. Math. Lett.
/// 2(4), 321–325: order 3 with an embedded order 2, FSAL, cubic Hermite dense output.
pub const BOSH3: ButcherTableau = ButcherTableau {
    name: "bosh3",
    a: &[
        &[],
        &[0.5],
        &[0.0, 0.75],
        &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
    ],
    b: &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0],
    b_err: Some(&[
        -0.06944444444444445,
        0.08333333333333333,
        0.1111111111111111,
        -0.125,
    ]),
    c: &[0.0, 0.5, 0.75, 1.0],
    order: 3,
    embedded_order: 2,
    dense: Some(RkDense {
        extra_a: &[],
        extra_c: &[],
        weights: &[
            &[1.0, -1.3333333333333333, 0.5555555555555556],
            &[0.0, 1.0, -0.6666666666666666],
            &[0.0, 1.3333333333333333, -0.8888888888888888],
            &[0.0, -1.0, 1.0],
        ],
        order: 3,
    }),
};

/// Dormand & Prince (1980), "A family of embedded Runge–Kutta formulae", J. Comput. Appl.
/// Math. 6, 19–26 (RK5(4)7M), FSAL, with the error weights and the fourth-order dense
/// output of Hairer, Nørsett & Wanner (1993), II.6 (DOPRI5's `CONTD5`, expanded into
/// powers of θ).
pub const DOPRI5: ButcherTableau = ButcherTableau {
    name: "dopri5",
    a: &[
        &[],
        &[1.0 / 5.0],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
        &[
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ],
    b: &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
        0.0,
    ],
    b_err: Some(&[
        71.0 / 57600.0,
        0.0,
        -71.0 / 16695.0,
        71.0 / 1920.0,
        -17253.0 / 339200.0,
        22.0 / 525.0,
        -1.0 / 40.0,
    ]),
    c: &[0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0],
    order: 5,
    embedded_order: 4,
    dense: Some(RkDense {
        extra_a: &[],
        extra_c: &[],
        weights: &[
            &[
                1.0,
                -2.8535800653862835,
                3.0717434641059005,
                -1.1270175653862835,
            ],
            &[0.0, 0.0, 0.0, 0.0],
            &[0.0, 4.023133379230305, -6.249321565289, 2.675424484351598],
            &[
                0.0,
                -3.7324019615885042,
                10.068970589843675,
                -5.685526961588504,
            ],
            &[
                0.0,
                2.5548038301849423,
                -6.399112377351017,
                3.5219323679207912,
            ],
            &[
                0.0,
                -1.3744241142186024,
                3.272657752246729,
                -1.7672812570757455,
            ],
            &[
                0.0,
                1.3824689317781436,
                -3.764937863556287,
                2.382468931778144,
            ],
        ],
        order: 4,
    }),
};

/// Tsitouras (2011), "Runge–Kutta pairs of order 5(4) satisfying only the first column
/// simplifying assumption", Comput. Math. Appl. 62(2), 770–775: order 5 with an embedded
/// order 4, FSAL, and the paper's fourth-order dense output.
pub const TSIT5: ButcherTableau = ButcherTableau {
    name: "tsit5",
    a: &[
        &[],
        &[0.161],
        &[-0.008480655492356989, 0.335480655492357],
        &[2.8971530571054935, -6.359448489975075, 4.3622954328695815],
        &[
            5.325864828439257,
            -11.748883564062828,
            7.4955393428898365,
            -0.09249506636175525,
        ],
        &[
            5.86145544294642,
            -12.92096931784711,
            8.159367898576159,
            -0.071584973281401,
            -0.028269050394068383,
        ],
        &[
            0.09646076681806523,
            0.01,
            0.4798896504144996,
            1.379008574103742,
            -3.290069515436081,
            2.324710524099774,
        ],
    ],
    b: &[
        0.09646076681806523,
        0.01,
        0.4798896504144996,
        1.379008574103742,
        -3.290069515436081,
        2.324710524099774,
        0.0,
    ],
    b_err: Some(&[
        0.0017800110522257714,
        0.0008164344596567469,
        -0.007880878010261995,
        0.1447110071732629,
        -0.5823571654525552,
        0.45808210592918697,
        -0.015151515151515152,
    ]),
    c: &[0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0],
    order: 5,
    embedded_order: 4,
    dense: Some(RkDense {
        extra_a: &[],
        extra_c: &[],
        weights: &[
            &[
                1.0,
                -2.763706197274826,
                2.9132554618219126,
                -1.0530884977290216,
            ],
            &[0.0, 0.13169999999999998, -0.2234, 0.1017],
            &[
                0.0,
                3.9302962368947516,
                -5.941033872131505,
                2.490627285651253,
            ],
            &[
                0.0,
                -12.411077166933676,
                30.33818863028232,
                -16.548102889244902,
            ],
            &[0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
            &[
                0.0,
                -27.896526289197286,
                65.09189467479366,
                -34.87065786149661,
            ],
            &[0.0, 1.5, -4.0, 2.5],
        ],
        order: 4,
    }),
};

/// Verner (2010), "Numerically optimal Runge–Kutta pairs with interpolants", Numer.
/// Algorithms 53, 383–396: the "efficient" 7(6) pair (10 stages, not FSAL) with its
/// interpolant (six extra stages, evaluated only when a dense value is needed; it is of
/// order 6, with order-7 defects of about 3e-7). Coefficients from <https://www.sfu.ca/~jverner/> as transcribed in
/// OrdinaryDiffEq.jl (`Vern7Tableau`, `Vern7ExtraStages`,
/// `Vern7InterpolationCoefficients`); checked by the order conditions below.
pub const VERN7: ButcherTableau = ButcherTableau {
    name: "vern7",
    a: &[
        &[],
        &[0.005],
        &[-1.07679012345679, 1.185679012345679],
        &[0.04083333333333333, 0.0, 0.1225],
        &[
            0.6389139236255726,
            0.0,
            -2.455672638223657,
            2.272258714598084,
        ],
        &[
            -2.6615773750187572,
            0.0,
            10.804513886456137,
            -8.3539146573962,
            0.820487594956657,
        ],
        &[
            6.067741434696772,
            0.0,
            -24.711273635911088,
            20.427517930788895,
            -1.9061579788166472,
            1.006172249242068,
        ],
        &[
            12.054670076253203,
            0.0,
            -49.75478495046899,
            41.142888638604674,
            -4.461760149974004,
            2.042334822239175,
            -0.09834843665406107,
        ],
        &[
            10.138146522881808,
            0.0,
            -42.6411360317175,
            35.76384003992257,
            -4.3480228403929075,
            2.0098622683770357,
            0.3487490460338272,
            -0.27143900510483127,
        ],
        &[
            -45.030072034298676,
            0.0,
            187.3272437654589,
            -154.02882369350186,
            18.56465306347536,
            -7.141809679295079,
            1.3088085781613787,
            0.0,
            0.0,
        ],
    ],
    b: &[
        0.04715561848627222,
        0.0,
        0.0,
        0.25750564298434153,
        0.26216653977412624,
        0.15216092656738558,
        0.4939969170032485,
        -0.29430311714032503,
        0.08131747232495111,
        0.0,
    ],
    b_err: Some(&[
        0.002547011879931045,
        0.0,
        0.0,
        -0.00965839487279575,
        0.04206470975639691,
        -0.0666822437469301,
        0.2650097464621281,
        -0.29430311714032503,
        0.08131747232495111,
        -0.02029518466335628,
    ]),
    c: &[
        0.0,
        0.005,
        0.10888888888888888,
        0.16333333333333333,
        0.4555,
        0.6095094489978381,
        0.884,
        0.925,
        1.0,
        1.0,
    ],
    order: 7,
    embedded_order: 6,
    dense: Some(RkDense {
        extra_a: &[
            &[
                0.04715561848627222,
                0.0,
                0.0,
                0.25750564298434153,
                0.2621665397741262,
                0.15216092656738558,
                0.49399691700324844,
                -0.29430311714032503,
                0.0813174723249511,
                0.0,
            ],
            &[
                0.0523222769159969,
                0.0,
                0.0,
                0.22495861826705715,
                0.017443709248776376,
                -0.007669379876829393,
                0.03435896044073285,
                -0.0410209723009395,
                0.025651133005205617,
                0.0,
                -0.0160443457,
            ],
            &[
                0.053053341257859085,
                0.0,
                0.0,
                0.12195301011401886,
                0.017746840737602496,
                -0.0005928372667681495,
                0.008381833970853752,
                -0.01293369259698612,
                0.009412056815253861,
                0.0,
                -0.005353253107275676,
                -0.06666729992455811,
            ],
            &[
                0.03887903257436304,
                0.0,
                0.0,
                -0.0024403203308301317,
                -0.0013928917214672623,
                -0.00047446291558680135,
                0.00039207932413159514,
                -0.00040554733285128004,
                0.00019897093147716726,
                0.0,
                -0.00010278198793179169,
                0.03385661513870267,
                0.1814893063199928,
            ],
            &[
                0.05723681204690013,
                0.0,
                0.0,
                0.22265948066761182,
                0.12344864200186899,
                0.04006332526666491,
                -0.05269894848581452,
                0.04765971214244523,
                -0.02138895885042213,
                0.0,
                0.015193891064036402,
                0.12060546716289655,
                -0.022779423016187374,
                0.0,
            ],
            &[
                0.051372038802756814,
                0.0,
                0.0,
                0.5414214473439406,
                0.350399806692184,
                0.14193112269692182,
                0.10527377478429423,
                -0.031081847805874016,
                -0.007401883149519145,
                0.0,
                -0.006377932504865363,
                -0.17325495908361865,
                -0.18228156777622026,
                0.0,
                0.0,
            ],
        ],
        extra_c: &[1.0, 0.29, 0.125, 0.25, 0.53, 0.79],
        weights: &[
            &[
                1.0,
                -8.413387198332767,
                33.675508884490895,
                -70.80159089484886,
                80.64695108301298,
                -47.19413969837522,
                11.133813442539243,
            ],
            &[0.0; 7],
            &[0.0; 7],
            &[
                0.0,
                8.754921980674396,
                -88.4596828699771,
                346.9017638429916,
                -629.2580030059837,
                529.6773755604193,
                -167.35886986514018,
            ],
            &[
                0.0,
                8.913387586637922,
                -90.06081846893218,
                353.1807459217058,
                -640.6476819744374,
                539.2646279047156,
                -170.38809442991547,
            ],
            &[
                0.0,
                5.1733120298478,
                -52.271115900055385,
                204.9853867374073,
                -371.8306118563603,
                312.9880934374529,
                -98.89290352172495,
            ],
            &[
                0.0,
                16.79537744079696,
                -169.70040000059728,
                665.4937727009246,
                -1207.1638892336007,
                1016.1291515818546,
                -321.06001557237494,
            ],
            &[
                0.0,
                -10.005997536098665,
                101.1005433052275,
                -396.47391512378437,
                719.1787707014183,
                -605.3681033918824,
                191.27439892797935,
            ],
            &[
                0.0,
                2.764708833638599,
                -27.934602637390462,
                109.54779186137893,
                -198.7128113064482,
                167.26633571640318,
                -52.85010499525706,
            ],
            &[0.0; 7],
            &[
                0.0,
                -2.1696320280163506,
                22.016696037569876,
                -86.90152427798948,
                159.22388973861476,
                -135.9618306534588,
                43.792401183280006,
            ],
            &[
                0.0,
                -4.890070188793804,
                22.75407737425176,
                -30.78034218537731,
                -2.797194317207249,
                31.369456637508403,
                -15.655927320381801,
            ],
            &[
                0.0,
                10.862170929551967,
                -50.542971417827104,
                68.37148040407511,
                6.213326521632409,
                -69.68006323194157,
                34.776056794509195,
            ],
            &[
                0.0,
                -11.37286691922923,
                130.79058078246717,
                -488.65113677785604,
                832.2148793276441,
                -664.7743368554426,
                201.79288044241662,
            ],
            &[
                0.0,
                -5.919778732715007,
                63.27679965889219,
                -265.432682088738,
                520.1009254140611,
                -467.412109533902,
                155.3868452824017,
            ],
            &[
                0.0,
                -10.492146197961823,
                105.35538525188011,
                -409.43975011988937,
                732.831448907654,
                -606.3044574733512,
                188.0495196316683,
            ],
        ],
        // The interpolant meets every condition of order 6 exactly and those of order 7
        // only to about 3e-7 (checked in exact arithmetic from the 40-digit values), so it
        // is of order 6.
        order: 6,
    }),
};

/// Order conditions of Runge–Kutta methods by rooted trees (Butcher 2008, Numerical
/// Methods for ODEs, §31): a method with matrix `A` and weights `w` has order `p` when
/// `wᵀ Φ(τ) = 1/γ(τ)` for every rooted tree `τ` with at most `p` vertices.
#[cfg(test)]
pub(crate) mod order_conditions {
    /// A rooted tree as the sorted indices of its subtrees in [`Trees::list`].
    #[derive(Clone, Debug, PartialEq)]
    struct Tree {
        children: Vec<usize>,
        order: usize,
        gamma: f64,
    }

    /// All rooted trees up to an order.
    pub(crate) struct Trees {
        list: Vec<Tree>,
    }

    impl Trees {
        /// Every rooted tree with at most `p` vertices (1, 1, 2, 4, 9, 20, 48, 115, 286
        /// of each order).
        pub(crate) fn up_to(p: usize) -> Self {
            let mut list = vec![Tree {
                children: vec![],
                order: 1,
                gamma: 1.0,
            }];
            for order in 2..=p {
                // Non-increasing multisets of existing trees whose orders sum to order - 1.
                let existing = list.len();
                let mut stack: Vec<(Vec<usize>, usize)> = vec![(vec![], 0)];
                while let Some((kids, sum)) = stack.pop() {
                    if sum == order - 1 {
                        let gamma =
                            order as f64 * kids.iter().map(|&k| list[k].gamma).product::<f64>();
                        list.push(Tree {
                            children: kids,
                            order,
                            gamma,
                        });
                        continue;
                    }
                    let max = kids.last().copied().unwrap_or(existing - 1);
                    for k in 0..=max {
                        if list[k].order + sum < order {
                            let mut next = kids.clone();
                            next.push(k);
                            stack.push((next, sum + list[k].order));
                        }
                    }
                }
            }
            Self { list }
        }

        /// Number of trees of each order 1..=p.
        pub(crate) fn counts(&self) -> Vec<usize> {
            let p = self.list.iter().map(|t| t.order).max().unwrap_or(0);
            (1..=p)
                .map(|o| self.list.iter().filter(|t| t.order == o).count())
                .collect()
        }

        /// The largest `|Σ wᵢ(θ) Φᵢ(τ) − θ^{|τ|}/γ(τ)|` over trees of order `order`, for
        /// the full (lower-triangular or diagonally implicit) matrix `a` (s × s).
        pub(crate) fn defect(&self, a: &[Vec<f64>], w: &[f64], order: usize, theta: f64) -> f64 {
            let s = w.len();
            let mut phi: Vec<Vec<f64>> = Vec::with_capacity(self.list.len());
            let mut worst: f64 = 0.0;
            for t in &self.list {
                let mut g = vec![1.0; s];
                for &k in &t.children {
                    let ag: Vec<f64> = (0..s)
                        .map(|i| (0..s).map(|j| a[i][j] * phi[k][j]).sum())
                        .collect();
                    for i in 0..s {
                        g[i] *= ag[i];
                    }
                }
                if t.order == order {
                    let lhs: f64 = w.iter().zip(&g).map(|(x, y)| x * y).sum();
                    let rhs = theta.powi(t.order as i32) / t.gamma;
                    worst = worst.max((lhs - rhs).abs());
                }
                phi.push(g);
            }
            worst
        }
    }
}

#[cfg(test)]
mod tests {
    use super::order_conditions::Trees;
    use super::*;

    fn full_a(t: &ButcherTableau, total: usize) -> Vec<Vec<f64>> {
        (0..total)
            .map(|i| {
                (0..total)
                    .map(|j| if j < i { t.a_ext(i, j) } else { 0.0 })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn tree_counts_are_the_known_sequence() {
        assert_eq!(
            Trees::up_to(9).counts(),
            vec![1, 1, 2, 4, 9, 20, 48, 115, 286]
        );
    }

    /// Every tableau: simplifying conditions, the order conditions of `b` up to its order
    /// (and failing at order + 1, so the stated order is exact), of `b̂` up to the embedded
    /// order, and of the dense weights `b(θ)` up to the dense order at several θ.
    #[test]
    fn order_conditions_hold() {
        let trees = Trees::up_to(8);
        for t in [&EULER, &RK4, &BOSH3, &DOPRI5, &TSIT5, &VERN7] {
            t.validate().unwrap();
            let s = t.stages();
            let a = full_a(t, s);
            for q in 1..=t.order as usize {
                let d = trees.defect(&a, t.b, q, 1.0);
                assert!(d < 1e-13, "{}: order {q} defect {d:e}", t.name);
            }
            let next = trees.defect(&a, t.b, t.order as usize + 1, 1.0);
            assert!(
                next > 1e-6,
                "{}: satisfies order {} too",
                t.name,
                t.order + 1
            );
            if let Some(e) = t.b_err {
                let bh: Vec<f64> = t.b.iter().zip(e).map(|(b, e)| b - e).collect();
                for q in 1..=t.embedded_order as usize {
                    let d = trees.defect(&a, &bh, q, 1.0);
                    assert!(d < 1e-13, "{}: embedded order {q} defect {d:e}", t.name);
                }
            }
            if let Some(dense) = &t.dense {
                let total = t.total_stages();
                let a = full_a(t, total);
                let mut w = vec![0.0; total];
                for theta in [0.2, 0.5, 0.77, 1.0] {
                    t.dense_weights(theta, &mut w);
                    for q in 1..=dense.order as usize {
                        let d = trees.defect(&a, &w, q, theta);
                        assert!(
                            d < 1e-12,
                            "{}: dense order {q} at θ = {theta}: defect {d:e}",
                            t.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fsal_is_derived() {
        assert!(TSIT5.is_fsal() && DOPRI5.is_fsal() && BOSH3.is_fsal());
        assert!(!VERN7.is_fsal() && !RK4.is_fsal() && !EULER.is_fsal());
    }
}
