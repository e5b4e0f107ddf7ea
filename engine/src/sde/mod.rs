//! Stochastic differential equations: reproducible Brownian motion, solvers, ensembles and
//! pathwise gradients.
//!
//! # The equation
//! ```text
//! dx = f(t, x, p) dt + g(t, x, p) dW(t),    x(t₀) = x₀ ∈ ℝᵈ,  W an m-dimensional Brownian motion,
//! ```
//! read in the Itô sense (`∫ g dW` with `g` at the left end of each interval) or the
//! Stratonovich sense (`∫ g ∘ dW`, midpoint; ordinary chain rule). An [`Sde`] declares its
//! dimensions, [`NoiseType`] (scalar, diagonal, additive, general `d × m`), [`Calculus`],
//! and `drift`/`diffusion` written once generic over [`Real`](crate::ad::Real), so the same
//! code runs on `f64`, dual numbers, [`Tangent`](crate::ad::Tangent)s and the tape.
//!
//! The two calculi describe the same process when the drifts differ by the Itô correction
//! ```text
//! f_Strat,i = f_Itô,i − ½ Σⱼ Σₖ gₖⱼ ∂ₖ gᵢⱼ            (Kloeden & Platen 1992, eq. (4.9.10));
//! ```
//! [`StratonovichForm`] and [`ItoForm`] apply it exactly (one directional derivative of `g`
//! per noise column, by [`Tangent`](crate::ad::Tangent) numbers). For additive noise the correction vanishes.
//!
//! # Brownian motion
//! [`VirtualBrownianTree`] ([`brownian`]) gives `W(t) − W(s)` (and the space-time Lévy area)
//! for any `s ≤ t`, generated on demand from a seed by Brownian-bridge splits of a dyadic
//! tree (Li et al. 2020) with a per-level cache (in the spirit of the Brownian interval of
//! Kidger et al. 2021): values do not depend on the order of queries, so a backward pass
//! replays exactly the path of the forward pass.
//!
//! # Methods
//! | method | converges to | noise | strong order | path used by [`solve()`] / adjoints | ensembles ([`NoiseSource::Streams`]) |
//! |---|---|---|---|---|---|
//! | [`EulerMaruyama`] | Itô | any | ½ (1 additive), weak 1 | tree: `ΔW` | streams, SoA batch step |
//! | [`Milstein`] | the SDE's calculus | scalar, diagonal, additive, commutative | 1 | tree: `ΔW` | streams, per-path step |
//! | [`Heun`] | Stratonovich | any | 1 commutative, ½ general | tree: `ΔW` | streams, SoA batch step |
//! | [`ReversibleHeun`] | Stratonovich | any | ½ (1 additive) | tree: `ΔW` (reverse steps too) | streams, per-path step |
//! | [`Sra1`] | both (additive noise) | additive | 1.5 | tree: `ΔW`, `H`; adaptive on the dyadic grid | streams (`ΔW`, `H`) for fixed steps |
//!
//! A solve takes an [`SdeProblem`] (the SDE, its interval, initial state and parameters,
//! checked on construction), a method, a Brownian path and [`SdeOptions`] (steps, save
//! times from [`solver::SaveAt`](crate::solver::SaveAt), finiteness checks). Fixed steps
//! ([`Steps::Fixed`]) take the increments of the Brownian path over the step grid (build
//! the tree with [`BrownianTreeBuilder::fixed_steps`] so that the grid is exact). Adaptive
//! steps ([`Steps::Adaptive`], methods with an embedded error estimate) take their sizes
//! from any [`StepController`](crate::solver::StepController) measuring errors with a
//! [`Tolerance`](crate::solver::Tolerance), rounded down to the tree's dyadic grid, and
//! retry rejected steps on finer cells of the *same* path ([`controller`]).
//! Every loop that could run away is bounded (`max_steps`, tree depth), and failures are
//! errors naming the time and component.
//!
//! # Ensembles
//! [`ensemble()`] runs many paths on the caller's rayon pool in blocks of [`LANES`] paths laid
//! out as structure of arrays, and summarises them by mean, variance and quantiles at the
//! save times without storing paths unless asked (quantiles by the streaming P² estimator,
//! [`quantile`], or exactly when the caller accepts storing the cross-sections). Fixed-step ensembles draw increments
//! directly from one xoshiro256++ stream per path ([`normal`]); the tree is used for
//! adaptive steps and whenever a path must be replayable. Path `k` depends only on
//! `(seed, k)`, and statistics are merged in a fixed order, so results are bitwise identical
//! for any number of threads.
//!
//! # Gradients
//! [`solve_on_tape`] and [`ensemble_on_tape`] record a solve (or a whole ensemble) as one
//! block on a [`Tape`](crate::ad::Tape); the block's pullback is chosen by [`Sensitivity`]:
//! the exact discrete adjoint (checkpoints and per-step local-tape VJPs), forward pathwise
//! sensitivities (dual numbers), reversible Heun's O(1)-memory exact adjoint (Kidger et al.
//! 2021), or the continuous stochastic adjoint (Li et al. 2020). See [`adjoint`].
//!
//! # Example
//! ```
//! use mechml_engine::ad::Tape;
//! use mechml_engine::sde::{reference::OrnsteinUhlenbeck, ensemble, solve_on_tape,
//!     EnsembleOptions, EulerMaruyama, SdeOptions, SdeProblem, Sensitivity, Steps,
//!     VirtualBrownianTree};
//!
//! // An Ornstein–Uhlenbeck ensemble: dX = θ(μ − X) dt + σ dW, p = [θ, μ, σ].
//! let p = [2.0, 1.0, 0.3];
//! let problem = SdeProblem::new(OrnsteinUhlenbeck, 0.0, 1.0, vec![0.0], p.to_vec())?;
//! let opts = EnsembleOptions { n_paths: 500, steps: Steps::Fixed { n_steps: 100 },
//!     ..Default::default() };
//! let ens = ensemble(&problem, &EulerMaruyama, &opts)?;
//! let (mean, _) = OrnsteinUhlenbeck::moments(0.0, &p, 1.0);
//! // Five standard errors, plus 0.01 for Euler–Maruyama's O(h) bias of the mean
//! // (1 − (1 − θh)^n against 1 − e^{−θ}: 0.003 here).
//! assert!((ens.mean(0)[0] - mean).abs() < 5.0 * ens.std_error(0)[0] + 0.01);
//!
//! // The gradient of X(1) on one Brownian path with respect to θ, μ, σ and X(0).
//! let w = VirtualBrownianTree::builder(0.0, 1.0).seed(42).fixed_steps(100).build()?;
//! let tape = Tape::new();
//! let on_tape = SdeProblem::new(OrnsteinUhlenbeck, 0.0, 1.0, tape.var_vec(&[0.0]),
//!     tape.var_vec(&p))?;
//! let sol = solve_on_tape(&tape, &on_tape, &EulerMaruyama, &w, &SdeOptions::fixed(100),
//!     Sensitivity::default())?;
//! let g = tape.gradient(&sol.get(0, 0).unwrap())?;
//! // X(1) is affine in μ with slope 1 − (1 − θh)^n for Euler–Maruyama.
//! let slope = 1.0 - (1.0 - 2.0 * 0.01f64).powi(100);
//! assert!((g.wrt_vec(&on_tape.p)[1] - slope).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```
//!
//! # References
//! * Kloeden & Platen (1992), *Numerical Solution of Stochastic Differential Equations*,
//!   Springer.
//! * Li, Wong, Chen & Duvenaud (2020), "Scalable gradients for stochastic differential
//!   equations", AISTATS, arXiv:2001.01328.
//! * Kidger, Foster, Li & Lyons (2021), "Efficient and accurate gradients for neural SDEs",
//!   NeurIPS, arXiv:2105.13493.
//! * Rößler (2010), "Runge–Kutta methods for the strong approximation of solutions of
//!   stochastic differential equations", SIAM J. Numer. Anal. 48(3).
//! * Foster, Lyons & Oberhauser (2020), "An optimal polynomial approximation of Brownian
//!   motion", SIAM J. Numer. Anal. 58(3), arXiv:1904.06998.
//! * Gaines & Lyons (1997), "Variable step size control in the numerical solution of
//!   stochastic differential equations", SIAM J. Appl. Math. 57(5).
//!
//! A guide with the derivations is in `docs/sde.md`.

// Index loops over several parallel arrays read closer to the equations than zipped
// iterators here.
#![allow(clippy::needless_range_loop)]

pub mod adjoint;
pub mod brownian;
pub mod controller;
pub mod convert;
pub mod ensemble;
pub mod methods;
pub mod noise;
pub mod normal;
pub mod problem;
pub mod quantile;
pub mod reference;
pub mod seed;
pub mod solve;

pub use crate::solver::AnyController;
pub use adjoint::{
    EnsembleSolveOp, SdeGradients, SdeSolveOp, Sensitivity, ensemble_on_tape, ensemble_vjp,
    solve_on_tape, solve_vjp,
};
pub use brownian::{
    BrownianPath, BrownianTreeBuilder, BrownianTreeOptions, DyadicGrid, MAX_TREE_DEPTH,
    VirtualBrownianTree,
};
pub use controller::{AdaptiveOptions, DyadicController};
pub use convert::{ItoForm, StratonovichForm, ito_correction};
pub use ensemble::{Ensemble, EnsembleOptions, LANES, NoiseSource, ensemble, path_seed};
pub use methods::{
    BatchWorkspace, EulerMaruyama, Heun, Increment, Milstein, ReversibleHeun, SdeMethod, Sra1,
    Workspace,
};
pub use noise::{Calculus, NoiseType};
pub use problem::{Sde, SdeInputs, SdeProblem, SdeShape};
pub use quantile::{P2Quantile, QuantileMethod};
pub use solve::{SdeOptions, SdeSolution, SolveInfo, Steps, solve};
