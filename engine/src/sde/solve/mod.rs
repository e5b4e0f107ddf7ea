//! The solve driver: one path of an [`SdeProblem`](super::SdeProblem) with a method, a
//! Brownian path and [`SdeOptions`].
//!
//! ```
//! use mechml_engine::sde::{reference::Gbm, solve, BrownianPath, Milstein, SdeOptions,
//!     SdeProblem, VirtualBrownianTree};
//! let (t0, t1, n) = (0.0, 1.0, 256);
//! let p = vec![0.05, 0.2];
//! let problem = SdeProblem::new(Gbm::ito(), t0, t1, vec![1.0], p.clone())?;
//! let mut w = VirtualBrownianTree::builder(t0, t1).seed(7).fixed_steps(n).build()?;
//! let sol = solve(&problem, &Milstein, &mut w, &SdeOptions::fixed(n))?;
//! let mut wt = [0.0];
//! w.value(t1, &mut wt)?;
//! let exact = Gbm::ito().exact(1.0, &p, t1, wt[0]);
//! assert!((sol.final_state()[0] - exact).abs() < 1e-3);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod adaptive;
mod fixed;
mod grid;
mod options;
mod path;

pub use options::{SdeOptions, SdeSolution, SolveInfo, Steps};
pub use path::solve;

pub(crate) use adaptive::{AdaptiveRun, adaptive_stops, keep_adaptive, run_adaptive, saves_t0};
pub(crate) use fixed::run_fixed;
pub(crate) use grid::FixedGrid;
pub(crate) use path::{IncrementBuf, PathInputs, check_brownian, non_finite_error};

/// The name of solve errors.
pub(crate) const OP: &str = "sde::solve";
