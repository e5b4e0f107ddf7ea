//! Stochastic differential equations: reproducible Brownian motion, solvers, ensembles and
//! pathwise gradients.

// Index loops over several parallel arrays read closer to the equations than zipped
// iterators here.
#![allow(clippy::needless_range_loop)]

pub mod adjoint;
pub mod brownian;
pub mod controller;
pub mod convert;
pub mod directional;
pub mod ensemble;
pub mod methods;
pub mod noise;
pub mod normal;
pub mod problem;
pub mod reference;
pub mod seed;
pub mod solve;

pub use adjoint::{
    EnsembleSolveOp, SdeGradients, SdeSolveOp, Sensitivity, ensemble_on_tape, ensemble_vjp,
    solve_on_tape, solve_vjp,
};
pub use brownian::{
    BrownianPath, BrownianTreeOptions, DyadicGrid, MAX_TREE_DEPTH, VirtualBrownianTree,
};
pub use controller::{AdaptiveOptions, DyadicController};
pub use convert::{ItoForm, StratonovichForm, ito_correction};
pub use directional::Tangent;
pub use ensemble::{Ensemble, EnsembleOptions, LANES, NoiseSource, ensemble, path_seed};
pub use methods::{
    EulerMaruyama, Heun, Increment, Milstein, ReversibleHeun, SdeMethod, Sra1, Workspace,
};
pub use noise::{Calculus, NoiseType};
pub use problem::{Sde, check_problem};
pub use solve::{SaveAt, SdeSolution, SolveInfo, SolveOptions, Steps, solve};
