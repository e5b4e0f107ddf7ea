//! History matching (Craig, Goldstein, Seheult & Smith 1997; Vernon, Goldstein & Bower
//! 2010, Bayesian Analysis 5(4)): rule out inputs whose emulated outputs are too far from
//! the observations, given every source of uncertainty. For output `j` with observation
//! `z_j`, the implausibility of input `x` is
//!
//! $$ I_j(x) = \frac{|z_j − E[f_j(x)]|}{\sqrt{Var[f_j(x)] + σ^2_{obs,j} + σ^2_{disc,j}}}, $$
//!
//! and with several outputs the `k`-th largest of the `I_j` is compared with a cutoff
//! (3, from Pukelsheim's three-sigma rule for unimodal distributions; the second or third
//! maximum guards against one badly emulated output: Vernon et al. 2010, §3.1). Inputs
//! below the cutoff are *not ruled out yet* (NROY). In **waves**, each wave's emulators are
//! fitted on runs inside the previous NROY region (refocusing), where the simulator is
//! smoother and the emulators sharper; a point is NROY when every wave keeps it.
//!
//! Evaluation is vectorised: candidates are predicted in chunks of
//! [`PREDICT_CHUNK`](super::gp::PREDICT_CHUNK) (one kernel block, one product with the
//! precomputed inverse Cholesky factor), chunks in parallel.

mod implausibility;
mod waves;

pub use implausibility::{
    HmOptions, OutputPredictor, PcaFunctionals, Target, implausibility, kth_largest,
};
pub use waves::{NroySample, SampleOptions, Wave, nroy_mask, sample_nroy};
