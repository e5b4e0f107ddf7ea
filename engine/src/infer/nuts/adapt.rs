//! Warm-up adaptation as in Stan.
//!
//! * **Step size** by dual averaging (Nesterov 2009; Hoffman & Gelman 2014, JMLR 15,
//!   Alg. 5/6, eq. 6): with `H̄_t = (1 − 1/(t+t₀)) H̄_{t−1} + (δ − α_t)/(t+t₀)`,
//!   `ln ε_t = μ − √t/γ · H̄_t` and `ln ε̄_t = t^{−κ} ln ε_t + (1 − t^{−κ}) ln ε̄_{t−1}`,
//!   `μ = ln(10 ε₀)`; `α_t` is the mean acceptance statistic of iteration `t` (capped at 1).
//!   After warm-up the step size is `ε̄`.
//! * **Metric** in windows (Stan Reference Manual, "HMC algorithm parameters",
//!   "Automatic parameter tuning"): after an initial buffer (75 iterations), draws in
//!   windows of 25, 50, 100, … iterations estimate the covariance; the last window
//!   stretches to the terminal buffer (50 iterations). At each window's end the metric
//!   becomes the regularised estimate `(n/(n+5)) Σ̂ + 10⁻³ (5/(n+5)) I` (of the
//!   variances for a diagonal metric), the step size is re-initialised and dual averaging
//!   restarts with `μ = ln(10 ε)`. If the buffers and first window do not fit in the
//!   warm-up, they become 15 % / 10 % / the rest of it, as in Stan; with fewer than 20
//!   warm-up iterations only the step size adapts.

use super::options::AdaptOptions;

/// Dual averaging of the log step size.
#[derive(Clone, Debug)]
pub(crate) struct DualAveraging {
    mu: f64,
    s_bar: f64,
    x_bar: f64,
    counter: f64,
    delta: f64,
    gamma: f64,
    t0: f64,
    kappa: f64,
}

impl DualAveraging {
    pub fn new(opts: &AdaptOptions, step_size: f64) -> Self {
        Self {
            mu: (10.0 * step_size).ln(),
            s_bar: 0.0,
            x_bar: 0.0,
            counter: 0.0,
            delta: opts.target_accept,
            gamma: opts.gamma,
            t0: opts.t0,
            kappa: opts.kappa,
        }
    }

    /// Restarts with `μ = ln(10 ε)`.
    pub fn restart(&mut self, step_size: f64) {
        self.mu = (10.0 * step_size).ln();
        self.s_bar = 0.0;
        self.x_bar = 0.0;
        self.counter = 0.0;
    }

    /// One update from the acceptance statistic; returns the next step size.
    pub fn learn(&mut self, accept_stat: f64) -> f64 {
        self.counter += 1.0;
        let a = if accept_stat.is_nan() {
            0.0
        } else {
            accept_stat.min(1.0)
        };
        let eta = 1.0 / (self.counter + self.t0);
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (self.delta - a);
        let x = self.mu - self.s_bar * self.counter.sqrt() / self.gamma;
        let x_eta = self.counter.powf(-self.kappa);
        self.x_bar = (1.0 - x_eta) * self.x_bar + x_eta * x;
        x.exp()
    }

    /// The final step size `ε̄ = exp(x̄)`.
    pub fn final_step_size(&self) -> f64 {
        self.x_bar.exp()
    }
}

/// The metric-adaptation schedule and its running covariance estimate.
#[derive(Clone, Debug)]
pub(crate) struct Windows {
    n_warmup: usize,
    init_buffer: usize,
    term_buffer: usize,
    window_size: usize,
    next_end: usize,
    counter: usize,
    enabled: bool,
    dense: bool,
    n: usize,
    k: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
    delta: Vec<f64>,
}

impl Windows {
    pub fn new(
        opts: &AdaptOptions,
        n_warmup: usize,
        dim: usize,
        dense: bool,
        enabled: bool,
    ) -> Self {
        let (mut init, mut term, mut base) = (opts.init_buffer, opts.term_buffer, opts.base_window);
        let enabled = enabled && n_warmup >= 20;
        if enabled && init + base + term > n_warmup {
            init = (0.15 * n_warmup as f64) as usize;
            term = (0.1 * n_warmup as f64) as usize;
            base = n_warmup - (init + term);
        }
        let m2_len = if dense { dim * dim } else { dim };
        Self {
            n_warmup,
            init_buffer: init,
            term_buffer: term,
            window_size: base,
            next_end: init + base - 1,
            counter: 0,
            enabled,
            dense,
            n: dim,
            k: 0,
            mean: vec![0.0; dim],
            m2: vec![0.0; m2_len],
            delta: vec![0.0; dim],
        }
    }

    fn in_window(&self) -> bool {
        self.counter >= self.init_buffer
            && self.counter < self.n_warmup - self.term_buffer
            && self.counter != self.n_warmup
    }

    fn window_ends(&self) -> bool {
        self.counter == self.next_end && self.counter != self.n_warmup
    }

    fn next_window(&mut self) {
        let last = self.n_warmup - self.term_buffer - 1;
        if self.next_end == last {
            return;
        }
        self.window_size *= 2;
        self.next_end = self.counter + self.window_size;
        if self.next_end != last {
            let boundary = self.next_end + 2 * self.window_size;
            if boundary >= self.n_warmup - self.term_buffer {
                self.next_end = last;
            }
        }
    }

    /// Welford's update of the running mean and (co)variance sums.
    fn add(&mut self, q: &[f64]) {
        self.k += 1;
        let kf = self.k as f64;
        for ((d, m), &qi) in self.delta.iter_mut().zip(self.mean.iter_mut()).zip(q) {
            *d = qi - *m;
            *m += *d / kf;
        }
        if self.dense {
            for i in 0..self.n {
                let di = self.delta[i];
                let row = &mut self.m2[i * self.n..(i + 1) * self.n];
                for (j, r) in row.iter_mut().enumerate() {
                    *r += di * (q[j] - self.mean[j]);
                }
            }
        } else {
            for (((s, d), &qi), m) in self.m2.iter_mut().zip(&self.delta).zip(q).zip(&self.mean) {
                *s += d * (qi - m);
            }
        }
    }

    /// Feeds the draw of one warm-up iteration. At a window's end, returns the
    /// regularised estimate (variances, or the covariance row-major) and restarts it.
    pub fn learn(&mut self, q: &[f64]) -> Option<Vec<f64>> {
        if !self.enabled {
            self.counter += 1;
            return None;
        }
        if self.in_window() {
            self.add(q);
        }
        if self.window_ends() {
            self.next_window();
            let kf = self.k as f64;
            let shrink = kf / (kf + 5.0);
            let reg = 1e-3 * 5.0 / (kf + 5.0);
            let mut est: Vec<f64> = self.m2.iter().map(|v| v / (kf - 1.0) * shrink).collect();
            if self.dense {
                for i in 0..self.n {
                    est[i * self.n + i] += reg;
                }
                // Exact symmetry (Welford's sums are symmetric only up to rounding).
                for i in 0..self.n {
                    for j in 0..i {
                        let s = 0.5 * (est[i * self.n + j] + est[j * self.n + i]);
                        est[i * self.n + j] = s;
                        est[j * self.n + i] = s;
                    }
                }
            } else {
                est.iter_mut().for_each(|v| *v += reg);
            }
            self.k = 0;
            self.mean.iter_mut().for_each(|v| *v = 0.0);
            self.m2.iter_mut().for_each(|v| *v = 0.0);
            self.counter += 1;
            return Some(est);
        }
        self.counter += 1;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stan_window_schedule_for_1000_warmup() {
        // Windows end at iterations 99, 149, 249, 449 and 949 (0-based).
        let mut w = Windows::new(&AdaptOptions::default(), 1000, 1, false, true);
        let ends: Vec<usize> = (0..1000)
            .filter(|&i| w.learn(&[i as f64]).is_some())
            .collect();
        assert_eq!(ends, vec![99, 149, 249, 449, 949]);
    }

    #[test]
    fn dual_averaging_converges_to_target() {
        // Acceptance falls with the step size as exp(−ε): the fixed point is ε = −ln δ.
        let opts = AdaptOptions::default();
        let mut da = DualAveraging::new(&opts, 1.0);
        let mut eps = 1.0_f64;
        for _ in 0..5000 {
            eps = da.learn((-eps).exp());
        }
        let target = -(0.8f64.ln());
        assert!(
            (da.final_step_size() - target).abs() < 1e-2 * target,
            "{eps}"
        );
    }
}
