//! One NUTS transition: multinomial sampling over a trajectory doubled in random
//! directions, with biased progressive sampling between subtrees, the generalised
//! no-U-turn criterion checked across every merge, and divergence detection (Betancourt
//! 2017, arXiv:1701.02434, §A.3–A.4; Hoffman & Gelman 2014, JMLR 15, Alg. 3; the
//! additional checks across merged subtrees as in Stan's `base_nuts`).
//!
//! For a trajectory with momenta `p_k`, `ρ = Σ p_k` and `p♯ = M⁻¹ p` at its ends, the
//! generalised criterion continues while `p♯₋ · ρ > 0` and `p♯₊ · ρ > 0`. Each leaf has
//! weight `e^{−H}`; within a subtree the candidate is drawn in proportion to weight
//! (multinomial), and a new top-level subtree replaces the current draw with probability
//! `min(1, W_new / W_old)`. The acceptance statistic is the mean over leaves of
//! `min(1, e^{H₀ − H})`; a leaf with `H − H₀` above the threshold ends the trajectory
//! as divergent.

use rand::{Rng, RngExt};

use super::metric::{Metric, dot};
use crate::error::Result;
use crate::infer::density::{LogDensity, is_recoverable};

/// A phase-space point with its potential's gradient.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub q: Vec<f64>,
    pub p: Vec<f64>,
    /// `p♯ = M⁻¹ p`.
    pub v: Vec<f64>,
    /// `∇ ln π(q)`.
    pub g: Vec<f64>,
    /// `ln π(q)` (`−∞` where it could not be evaluated).
    pub lp: f64,
}

impl Point {
    pub fn new(n: usize) -> Self {
        Self {
            q: vec![0.0; n],
            p: vec![0.0; n],
            v: vec![0.0; n],
            g: vec![0.0; n],
            lp: f64::NEG_INFINITY,
        }
    }
    pub fn copy_from(&mut self, o: &Point) {
        self.q.copy_from_slice(&o.q);
        self.p.copy_from_slice(&o.p);
        self.v.copy_from_slice(&o.v);
        self.g.copy_from_slice(&o.g);
        self.lp = o.lp;
    }
    /// `H = −ln π(q) + ½ p · M⁻¹ p` (`+∞` where `ln π` could not be evaluated).
    pub fn energy(&self) -> f64 {
        let h = -self.lp + 0.5 * dot(&self.p, &self.v);
        if h.is_nan() { f64::INFINITY } else { h }
    }
}

/// The log density and metric, counting gradient evaluations.
pub(crate) struct Hamiltonian<'a, D> {
    pub density: &'a mut D,
    pub metric: &'a Metric,
    pub n_grad: u64,
}

impl<D: LogDensity> Hamiltonian<'_, D> {
    /// Evaluates `ln π` and its gradient at `z.q`; a recoverable error or a non-finite
    /// value or gradient gives `lp = −∞` (a divergent point).
    pub fn eval(&mut self, z: &mut Point) -> Result<()> {
        self.n_grad += 1;
        match self.density.log_density_grad(&z.q, &mut z.g) {
            Ok(lp) if lp.is_finite() && crate::error::all_finite(&z.g) => z.lp = lp,
            Ok(_) => z.lp = f64::NEG_INFINITY,
            Err(e) if is_recoverable(&e) => z.lp = f64::NEG_INFINITY,
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// One leapfrog step of size `eps` (negative backwards in time).
    pub fn leapfrog(&mut self, z: &mut Point, eps: f64) -> Result<()> {
        let half = 0.5 * eps;
        for (p, g) in z.p.iter_mut().zip(&z.g) {
            *p += half * g;
        }
        self.metric.velocity(&z.p, &mut z.v);
        for (q, v) in z.q.iter_mut().zip(&z.v) {
            *q += eps * v;
        }
        self.eval(z)?;
        if z.lp.is_finite() {
            for (p, g) in z.p.iter_mut().zip(&z.g) {
                *p += half * g;
            }
            self.metric.velocity(&z.p, &mut z.v);
        }
        Ok(())
    }
}

/// `ln(eᵃ + eᵇ)`.
#[inline]
fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// `p♯₋ · ρ > 0` and `p♯₊ · ρ > 0` with `ρ = x + y` (no buffer for the sum).
#[inline]
fn no_u_turn(p_sharp_minus: &[f64], p_sharp_plus: &[f64], x: &[f64], y: &[f64]) -> bool {
    let mut a = 0.0;
    let mut b = 0.0;
    for i in 0..x.len() {
        let r = x[i] + y[i];
        a += p_sharp_minus[i] * r;
        b += p_sharp_plus[i] * r;
    }
    a > 0.0 && b > 0.0
}

/// Buffers of one recursion level (a node of depth `k` uses level `k − 1`).
#[derive(Clone, Debug)]
struct Level {
    p_init_end: Vec<f64>,
    p_sharp_init_end: Vec<f64>,
    rho_init: Vec<f64>,
    z_final: Point,
    p_final_beg: Vec<f64>,
    p_sharp_final_beg: Vec<f64>,
    rho_final: Vec<f64>,
}

impl Level {
    fn new(n: usize) -> Self {
        Self {
            p_init_end: vec![0.0; n],
            p_sharp_init_end: vec![0.0; n],
            rho_init: vec![0.0; n],
            z_final: Point::new(n),
            p_final_beg: vec![0.0; n],
            p_sharp_final_beg: vec![0.0; n],
            rho_final: vec![0.0; n],
        }
    }
}

/// The ends of a subtree being built: momenta and `p♯` at its first and last leaf (in
/// the direction of integration), and the running sum of its momenta.
struct Ends<'b> {
    p_sharp_beg: &'b mut [f64],
    p_sharp_end: &'b mut [f64],
    rho: &'b mut [f64],
    p_beg: &'b mut [f64],
    p_end: &'b mut [f64],
}

/// Everything one transition needs, allocated once per chain.
#[derive(Clone, Debug)]
pub(crate) struct Workspace {
    levels: Vec<Level>,
    z_fwd: Point,
    z_bck: Point,
    z_propose: Point,
    z_sample: Point,
    p_fwd_fwd: Vec<f64>,
    p_sharp_fwd_fwd: Vec<f64>,
    p_fwd_bck: Vec<f64>,
    p_sharp_fwd_bck: Vec<f64>,
    p_bck_fwd: Vec<f64>,
    p_sharp_bck_fwd: Vec<f64>,
    p_bck_bck: Vec<f64>,
    p_sharp_bck_bck: Vec<f64>,
    rho: Vec<f64>,
    rho_fwd: Vec<f64>,
    rho_bck: Vec<f64>,
}

impl Workspace {
    pub fn new(n: usize, max_depth: usize) -> Self {
        let v = || vec![0.0; n];
        Self {
            levels: (0..max_depth).map(|_| Level::new(n)).collect(),
            z_fwd: Point::new(n),
            z_bck: Point::new(n),
            z_propose: Point::new(n),
            z_sample: Point::new(n),
            p_fwd_fwd: v(),
            p_sharp_fwd_fwd: v(),
            p_fwd_bck: v(),
            p_sharp_fwd_bck: v(),
            p_bck_fwd: v(),
            p_sharp_bck_fwd: v(),
            p_bck_bck: v(),
            p_sharp_bck_bck: v(),
            rho: v(),
            rho_fwd: v(),
            rho_bck: v(),
        }
    }
}

/// What one transition did.
#[derive(Clone, Debug)]
pub(crate) struct TransitionInfo {
    pub accept_stat: f64,
    pub depth: usize,
    pub n_leapfrog: usize,
    /// Position and energy error of the first divergent leaf, if any.
    pub divergence: Option<(Vec<f64>, f64)>,
    /// Energy of the returned point.
    pub energy: f64,
}

struct Builder<'h, 'a, D, G: ?Sized> {
    ham: &'h mut Hamiltonian<'a, D>,
    rng: &'h mut G,
    eps: f64,
    h0: f64,
    max_error: f64,
    n_leapfrog: usize,
    sum_metro: f64,
    divergence: Option<(Vec<f64>, f64)>,
}

impl<D: LogDensity, G: Rng + ?Sized> Builder<'_, '_, D, G> {
    /// Builds a subtree of `2^depth` leaves from `z` (advanced in place), writing its
    /// multinomial candidate into `z_propose`; `false` if it diverged or turned.
    fn build(
        &mut self,
        levels: &mut [Level],
        depth: usize,
        z: &mut Point,
        z_propose: &mut Point,
        ends: Ends<'_>,
        log_sum_weight: &mut f64,
    ) -> Result<bool> {
        if depth == 0 {
            self.ham.leapfrog(z, self.eps)?;
            self.n_leapfrog += 1;
            let h = z.energy();
            if h - self.h0 > self.max_error {
                self.divergence = Some((z.q.clone(), h - self.h0));
            }
            *log_sum_weight = log_add_exp(*log_sum_weight, self.h0 - h);
            self.sum_metro += if self.h0 - h > 0.0 {
                1.0
            } else {
                (self.h0 - h).exp()
            };
            z_propose.copy_from(z);
            ends.p_sharp_beg.copy_from_slice(&z.v);
            ends.p_sharp_end.copy_from_slice(&z.v);
            for (r, p) in ends.rho.iter_mut().zip(&z.p) {
                *r += p;
            }
            ends.p_beg.copy_from_slice(&z.p);
            ends.p_end.copy_from_slice(&z.p);
            return Ok(self.divergence.is_none());
        }
        let (lower, rest) = levels.split_at_mut(depth - 1);
        let lv = &mut rest[0];
        lv.rho_init.iter_mut().for_each(|v| *v = 0.0);
        lv.rho_final.iter_mut().for_each(|v| *v = 0.0);

        // The initial half.
        let mut lsw_init = f64::NEG_INFINITY;
        let valid_init = self.build(
            lower,
            depth - 1,
            z,
            z_propose,
            Ends {
                p_sharp_beg: &mut *ends.p_sharp_beg,
                p_sharp_end: &mut lv.p_sharp_init_end,
                rho: &mut lv.rho_init,
                p_beg: &mut *ends.p_beg,
                p_end: &mut lv.p_init_end,
            },
            &mut lsw_init,
        )?;
        if !valid_init {
            return Ok(false);
        }
        // The final half.
        let mut lsw_final = f64::NEG_INFINITY;
        let valid_final = self.build(
            lower,
            depth - 1,
            z,
            &mut lv.z_final,
            Ends {
                p_sharp_beg: &mut lv.p_sharp_final_beg,
                p_sharp_end: &mut *ends.p_sharp_end,
                rho: &mut lv.rho_final,
                p_beg: &mut lv.p_final_beg,
                p_end: &mut *ends.p_end,
            },
            &mut lsw_final,
        )?;
        if !valid_final {
            return Ok(false);
        }
        // Multinomial choice between the halves.
        let lsw_subtree = log_add_exp(lsw_init, lsw_final);
        *log_sum_weight = log_add_exp(*log_sum_weight, lsw_subtree);
        if lsw_final > lsw_subtree {
            z_propose.copy_from(&lv.z_final);
        } else {
            let accept = (lsw_final - lsw_subtree).exp();
            if self.rng.random::<f64>() < accept {
                z_propose.copy_from(&lv.z_final);
            }
        }
        for ((r, a), b) in ends.rho.iter_mut().zip(&lv.rho_init).zip(&lv.rho_final) {
            *r += a + b;
        }
        // The criterion over the merged subtree and across the merge.
        let persist = no_u_turn(
            ends.p_sharp_beg,
            ends.p_sharp_end,
            &lv.rho_init,
            &lv.rho_final,
        ) && no_u_turn(
            ends.p_sharp_beg,
            &lv.p_sharp_final_beg,
            &lv.rho_init,
            &lv.p_final_beg,
        ) && no_u_turn(
            &lv.p_sharp_init_end,
            ends.p_sharp_end,
            &lv.rho_final,
            &lv.p_init_end,
        );
        Ok(persist)
    }
}

/// One NUTS transition from `current` (position, gradient and log density valid); on
/// return `current` holds the draw (with the momentum it had in the trajectory).
pub(crate) fn transition<D: LogDensity, G: Rng + ?Sized>(
    ws: &mut Workspace,
    ham: &mut Hamiltonian<'_, D>,
    current: &mut Point,
    step: (f64, usize, f64),
    rng: &mut G,
) -> Result<TransitionInfo> {
    let (eps, max_depth, max_error) = step;
    ham.metric.sample_momentum(rng, &mut current.p);
    ham.metric.velocity(&current.p, &mut current.v);
    ws.z_fwd.copy_from(current);
    ws.z_bck.copy_from(current);
    ws.z_sample.copy_from(current);
    ws.z_propose.copy_from(current);
    for buf in [
        &mut ws.p_fwd_fwd,
        &mut ws.p_fwd_bck,
        &mut ws.p_bck_fwd,
        &mut ws.p_bck_bck,
        &mut ws.rho,
    ] {
        buf.copy_from_slice(&current.p);
    }
    for buf in [
        &mut ws.p_sharp_fwd_fwd,
        &mut ws.p_sharp_fwd_bck,
        &mut ws.p_sharp_bck_fwd,
        &mut ws.p_sharp_bck_bck,
    ] {
        buf.copy_from_slice(&current.v);
    }
    let h0 = current.energy();
    let mut b = Builder {
        ham,
        rng,
        eps,
        h0,
        max_error,
        n_leapfrog: 0,
        sum_metro: 0.0,
        divergence: None,
    };
    let mut log_sum_weight = 0.0;
    let mut depth = 0;
    while depth < max_depth {
        ws.rho_fwd.iter_mut().for_each(|v| *v = 0.0);
        ws.rho_bck.iter_mut().for_each(|v| *v = 0.0);
        let mut lsw_subtree = f64::NEG_INFINITY;
        let valid = if b.rng.random::<f64>() > 0.5 {
            // Extend forwards: the old trajectory becomes the backward subtree.
            ws.rho_bck.copy_from_slice(&ws.rho);
            ws.p_bck_fwd.copy_from_slice(&ws.p_fwd_fwd);
            ws.p_sharp_bck_fwd.copy_from_slice(&ws.p_sharp_fwd_fwd);
            b.eps = eps;
            b.build(
                &mut ws.levels,
                depth,
                &mut ws.z_fwd,
                &mut ws.z_propose,
                Ends {
                    p_sharp_beg: &mut ws.p_sharp_fwd_bck,
                    p_sharp_end: &mut ws.p_sharp_fwd_fwd,
                    rho: &mut ws.rho_fwd,
                    p_beg: &mut ws.p_fwd_bck,
                    p_end: &mut ws.p_fwd_fwd,
                },
                &mut lsw_subtree,
            )?
        } else {
            // Extend backwards: the old trajectory becomes the forward subtree.
            ws.rho_fwd.copy_from_slice(&ws.rho);
            ws.p_fwd_bck.copy_from_slice(&ws.p_bck_bck);
            ws.p_sharp_fwd_bck.copy_from_slice(&ws.p_sharp_bck_bck);
            b.eps = -eps;
            b.build(
                &mut ws.levels,
                depth,
                &mut ws.z_bck,
                &mut ws.z_propose,
                Ends {
                    p_sharp_beg: &mut ws.p_sharp_bck_fwd,
                    p_sharp_end: &mut ws.p_sharp_bck_bck,
                    rho: &mut ws.rho_bck,
                    p_beg: &mut ws.p_bck_fwd,
                    p_end: &mut ws.p_bck_bck,
                },
                &mut lsw_subtree,
            )?
        };
        if !valid {
            break;
        }
        depth += 1;
        // Biased progressive sampling between the old trajectory and the new subtree.
        if lsw_subtree > log_sum_weight {
            ws.z_sample.copy_from(&ws.z_propose);
        } else {
            let accept = (lsw_subtree - log_sum_weight).exp();
            if b.rng.random::<f64>() < accept {
                ws.z_sample.copy_from(&ws.z_propose);
            }
        }
        log_sum_weight = log_add_exp(log_sum_weight, lsw_subtree);
        for ((r, f), k) in ws.rho.iter_mut().zip(&ws.rho_fwd).zip(&ws.rho_bck) {
            *r = f + k;
        }
        let persist = no_u_turn(
            &ws.p_sharp_bck_bck,
            &ws.p_sharp_fwd_fwd,
            &ws.rho_bck,
            &ws.rho_fwd,
        ) && no_u_turn(
            &ws.p_sharp_bck_bck,
            &ws.p_sharp_fwd_bck,
            &ws.rho_bck,
            &ws.p_fwd_bck,
        ) && no_u_turn(
            &ws.p_sharp_bck_fwd,
            &ws.p_sharp_fwd_fwd,
            &ws.rho_fwd,
            &ws.p_bck_fwd,
        );
        if !persist {
            break;
        }
    }
    let n_leapfrog = b.n_leapfrog;
    let accept_stat = if n_leapfrog > 0 {
        b.sum_metro / n_leapfrog as f64
    } else {
        0.0
    };
    let divergence = b.divergence.take();
    current.copy_from(&ws.z_sample);
    Ok(TransitionInfo {
        accept_stat,
        depth,
        n_leapfrog,
        divergence,
        energy: current.energy(),
    })
}

/// Stan's step-size heuristic: from `eps`, double (or halve) until the acceptance of one
/// leapfrog step from `z` crosses 0.8. At most 200 trials; `Err(message)` when the step
/// size leaves `(1e-300, 1e7)` (the posterior is likely improper, or not continuous).
pub(crate) fn init_step_size<D: LogDensity, G: Rng + ?Sized>(
    ham: &mut Hamiltonian<'_, D>,
    z: &Point,
    eps: f64,
    rng: &mut G,
) -> Result<std::result::Result<f64, String>> {
    let mut eps = eps;
    let mut trial = z.clone();
    let log_target = 0.8f64.ln();
    let mut direction = 0.0;
    for _ in 0..200 {
        trial.copy_from(z);
        ham.metric.sample_momentum(rng, &mut trial.p);
        ham.metric.velocity(&trial.p, &mut trial.v);
        let h0 = trial.energy();
        ham.leapfrog(&mut trial, eps)?;
        let delta = h0 - trial.energy();
        if direction == 0.0 {
            direction = if delta > log_target { 1.0 } else { -1.0 };
        }
        if direction > 0.0 && (delta.is_nan() || delta <= log_target) {
            return Ok(Ok(eps));
        }
        if direction < 0.0 && (delta.is_nan() || delta >= log_target) {
            return Ok(Ok(eps));
        }
        eps = if direction > 0.0 {
            2.0 * eps
        } else {
            0.5 * eps
        };
        if eps > 1e7 {
            return Ok(Err(
                "the step size grew past 1e7: the posterior is probably improper \
                 (check the priors and the model)"
                    .into(),
            ));
        }
        if eps < 1e-300 {
            return Ok(Err(
                "no acceptably small step size: the log density is probably not \
                 continuous, or not finite near the initial point"
                    .into(),
            ));
        }
    }
    Ok(Ok(eps))
}
