//! Sequential design: choose the next simulator runs where an emulator gains most.
//!
//! An [`Acquisition`] scores candidate inputs given the current emulator (higher is
//! better); [`select_batch`] picks a batch greedily, conditioning the emulator on each
//! pick before scoring the next (a *fantasy*: the pick's predicted mean as its output, at
//! fixed hyperparameters, the "kriging believer" of Ginsbourger, Le Riche & Carraro 2010;
//! variance-based criteria do not depend on the fantasised value). [`sequential_design`]
//! runs the simulator on each batch and **refits** the hyperparameters between batches.
//!
//! * [`MaxVariance`]: the largest predictive variance (MacKay 1992; Sacks et al. 1989).
//! * [`Mice`]: mutual information for computer experiments (Beck & Guillas 2016,
//!   SIAM/ASA JUQ 4), `σ²(x | D) / σ²_τ(x | C \ x)`: the predictive variance given the
//!   design over the variance given the other candidates (with a nugget `τ²`), which
//!   favours points that are uncertain *and* informative about the rest of the space
//!   instead of the boundary.
//! * [`ExpectedImprovement`]: for minimising the simulator output (Jones, Schonlau &
//!   Welch 1998, J. Glob. Optim. 13, eq. (15)).

mod criteria;
mod driver;

pub use criteria::{Acquisition, ExpectedImprovement, MaxVariance, Mice};
pub use driver::{SequentialDesign, SequentialOptions, select_batch, sequential_design};
