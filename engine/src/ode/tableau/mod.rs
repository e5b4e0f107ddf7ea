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
//! The module has three rooms: the tableau type with its shape checks and dense weights
//! (`butcher`), the methods' coefficients (`methods`: Euler, RK4, Bogacki–Shampine,
//! Dormand–Prince, Tsitouras, Verner), and the order conditions by rooted trees
//! (`order_conditions`, public under the `testing` feature).
//!
//! A new method is one `const` [`ButcherTableau`] in `methods` (with its citation) and a
//! line in the order-condition test there; it is then usable as
//! [`Method::Explicit`](super::Method::Explicit). Downstream crates can do the same with
//! their own constants (and check their orders with
//! `mechml_engine::testing::ode::check_tableau`, feature `testing`):
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

mod butcher;
mod methods;
#[cfg(any(test, feature = "testing"))]
pub mod order_conditions;

pub use butcher::{ButcherTableau, RkDense};
pub use methods::{BOSH3, DOPRI5, EULER, RK4, TSIT5, VERN7};
