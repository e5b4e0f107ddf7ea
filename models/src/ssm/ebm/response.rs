//! The deterministic response of the k-box model to a forcing: the mean path of every
//! box's temperature (and of the forcing state, when it is one), without noise and
//! without a filter.
//!
//! Over a step Δt with the forcing u held, the mean state moves exactly by
//!
//! $$ x_{t+1} = Φ\\,x_t + Γ\\,u_t,\\qquad Φ = e^{AΔt},\\quad Γ = \\int_0^{Δt} e^{As}\\,ds\\;B, $$
//!
//! the discretisation the state-space model uses ([`discretize`]), so the path equals
//! the predicted means of the Kalman filter on data with every observation missing and the
//! first state at rest. Under a constant forcing s·u every box tends to the equilibrium
//! Tᵢ = s·u/κ₁ ([`KBoxEbm::equilibrium`]; Geoffroy et al. 2013, J. Climate 26, 1841–1857,
//! §2). The response to the 1 %/yr CO₂ ramp in closed form is
//! [`ramp_response`](super::sensitivity::ramp_response).
//!
//! ```
//! use mechml_models::ssm::ebm::KBoxEbm;
//! // One box, C dT = (F − λT) dt: T(t) = F/λ (1 − e^{−λt/C}) under a step F (u = 1, s = F).
//! let ebm = KBoxEbm::new(1, false, false)?;
//! // C1, κ1 (= λ), σ_ξ, F, σ_T, T0
//! let p = ebm.params_from_slice(&[8.0, 1.25, 0.0, 3.7, 0.0, 0.0])?;
//! let r = ebm.response(&p, &vec![1.0; 50], 1.0)?;
//! let exact = |t: f64| 3.7 / 1.25 * (1.0 - (-1.25 * t / 8.0).exp());
//! assert!((r.top()[50] - exact(50.0)).abs() < 1e-12);
//! assert_eq!(r.temperature.len(), 1);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::model::{EbmParams, KBoxEbm};
use crate::ssm::dense::lu_solve_in_place;
use crate::ssm::discretize::discretize;

/// The mean path of a k-box model under a forcing series.
#[derive(Clone, Debug, PartialEq)]
pub struct EbmResponse<R> {
    /// Time step (years).
    pub dt: f64,
    /// `temperature[i][t]`: the temperature of box i + 1 at time t·Δt (K; t = 0 … T for
    /// a forcing of T steps), relative to the model's zero (add T₀ for the observation
    /// scale).
    pub temperature: Vec<Vec<R>>,
    /// The forcing state F at each time (W m⁻²), when the forcing is a state.
    pub forcing: Option<Vec<R>>,
}

impl<R: Copy> EbmResponse<R> {
    /// Number of times (T + 1).
    pub fn n_times(&self) -> usize {
        self.temperature.first().map_or(0, Vec::len)
    }

    /// The times t·Δt (years from the start).
    pub fn times(&self) -> Vec<f64> {
        (0..self.n_times()).map(|t| t as f64 * self.dt).collect()
    }

    /// The top box's temperature T₁ at every time.
    pub fn top(&self) -> &[R] {
        self.temperature.first().map_or(&[], Vec::as_slice)
    }

    /// The full state [F?, T₁, …, T_k] at time index `t` (the order of
    /// [`KBoxEbm::continuous`]).
    pub fn state_at(&self, t: usize) -> Vec<R> {
        let mut x: Vec<R> = self.forcing.iter().map(|f| f[t]).collect();
        x.extend(self.temperature.iter().map(|b| b[t]));
        x
    }
}

const OP: &str = "KBoxEbm::response";

impl KBoxEbm {
    /// The mean path from rest (every state 0) under the forcing series `forcing`
    /// (u_t, held over each step of `dt` years and applied as s·u_t): T + 1 states for T
    /// forcing values. Generic over [`Real`], so the path can be differentiated in the
    /// parameters on a tape.
    pub fn response<R: Real>(
        &self,
        p: &EbmParams<R>,
        forcing: &[f64],
        dt: f64,
    ) -> Result<EbmResponse<R>> {
        let x0 = vec![R::zero(); self.n_state()];
        self.response_from(p, &x0, forcing, dt)
    }

    /// As [`KBoxEbm::response`], from the state `x0` = [F?, T₁, …, T_k] (e.g. an
    /// [`equilibrium`](KBoxEbm::equilibrium) or the end of an earlier response).
    pub fn response_from<R: Real>(
        &self,
        p: &EbmParams<R>,
        x0: &[R],
        forcing: &[f64],
        dt: f64,
    ) -> Result<EbmResponse<R>> {
        let n = self.n_state();
        if x0.len() != n {
            return Err(Error::ShapeMismatch {
                op: OP,
                arg: "x0",
                expected: format!("len {n} (the state [F?, T1, …, Tk])"),
                found: format!("len {}", x0.len()),
            });
        }
        if let Some(t) = forcing.iter().position(|u| !u.is_finite()) {
            return Err(Error::invalid_option(
                OP,
                format!("forcing[{t}]"),
                forcing[t],
                "a finite forcing",
            ));
        }
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(Error::invalid_option(
                OP,
                "dt",
                dt,
                "a finite step > 0 (years)",
            ));
        }
        let disc = discretize(&self.continuous(p)?, dt)?;
        let (phi, gamma) = (&disc.phi, &disc.gamma);
        let o = self.t1_index();
        let len = forcing.len() + 1;
        let mut out = EbmResponse {
            dt,
            temperature: vec![Vec::with_capacity(len); self.boxes],
            forcing: self.stochastic_forcing.then(|| Vec::with_capacity(len)),
        };
        let mut push = |x: &[R]| {
            if let Some(f) = out.forcing.as_mut() {
                f.push(x[0]);
            }
            for (i, b) in out.temperature.iter_mut().enumerate() {
                b.push(x[o + i]);
            }
        };
        let mut x = x0.to_vec();
        push(&x);
        let mut next = vec![R::zero(); n];
        for &u in forcing {
            for (i, xi) in next.iter_mut().enumerate() {
                let mut v = gamma[i] * u;
                for (j, &xj) in x.iter().enumerate() {
                    v += phi[i + j * n] * xj;
                }
                *xi = v;
            }
            std::mem::swap(&mut x, &mut next);
            push(&x);
        }
        Ok(out)
    }

    /// The equilibrium state [F?, T₁, …, T_k] under the constant forcing u (applied as
    /// s·u): the solution of A x + B u = 0, where every box is at s·u/κ₁ (the boxes
    /// exchange no heat and the top box radiates the forcing away) and the forcing state,
    /// if any, at s·u.
    pub fn equilibrium<R: Real>(&self, p: &EbmParams<R>, u: f64) -> Result<Vec<R>> {
        if !u.is_finite() {
            return Err(Error::invalid_option(
                "KBoxEbm::equilibrium",
                "u",
                u,
                "finite",
            ));
        }
        let sde = self.continuous(p)?;
        let mut x: Vec<R> = sde.b.iter().map(|&b| -(b * u)).collect();
        lu_solve_in_place(&sde.a, sde.n, &mut x, 1, "KBoxEbm::equilibrium")?;
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssm::Observations;
    use crate::ssm::ebm::sensitivity::{ramp_response, timescales};
    use crate::ssm::ebm::{EbmData, EbmPrior};
    use crate::ssm::kalman::kalman_filter;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    /// The two-box modal solution of Geoffroy et al. (2013, J. Climate 26, 1841–1857, §2)
    /// for C dT/dt = F − λT − γ(T − T₀), C₀ dT₀/dt = γ(T − T₀): the fast and slow
    /// timescales τ, the deep-to-surface ratios φ of the two modes, and their amplitudes a.
    struct Geoffroy {
        tau: [f64; 2],
        phi: [f64; 2],
        a: [f64; 2],
        lambda: f64,
    }

    impl Geoffroy {
        fn new(c: f64, c0: f64, lambda: f64, gamma: f64) -> Self {
            let b = (lambda + gamma) / c + gamma / c0;
            let b_star = (lambda + gamma) / c - gamma / c0;
            let delta = b * b - 4.0 * lambda * gamma / (c * c0);
            let sd = delta.sqrt();
            let tau = [
                c * c0 / (2.0 * lambda * gamma) * (b - sd),
                c * c0 / (2.0 * lambda * gamma) * (b + sd),
            ];
            let phi = [
                c / (2.0 * gamma) * (b_star - sd),
                c / (2.0 * gamma) * (b_star + sd),
            ];
            let a = [
                phi[1] * tau[0] * lambda / (c * (phi[1] - phi[0])),
                -phi[0] * tau[1] * lambda / (c * (phi[1] - phi[0])),
            ];
            Self {
                tau,
                phi,
                a,
                lambda,
            }
        }

        /// (T, T₀) at time t after a step forcing F.
        fn step(&self, f: f64, t: f64) -> (f64, f64) {
            let e = [(-t / self.tau[0]).exp(), (-t / self.tau[1]).exp()];
            let eq = f / self.lambda;
            (
                eq * (1.0 - self.a[0] * e[0] - self.a[1] * e[1]),
                eq * (1.0 - self.phi[0] * self.a[0] * e[0] - self.phi[1] * self.a[1] * e[1]),
            )
        }

        /// (T, T₀) at time t under the forcing ramp r·t: the integral of the step response,
        /// (r/λ) [t − Σᵢ aᵢ τᵢ (1 − e^{−t/τᵢ})] and the same with φᵢ aᵢ for T₀.
        fn ramp(&self, r: f64, t: f64) -> (f64, f64) {
            let g = [
                self.tau[0] * (1.0 - (-t / self.tau[0]).exp()),
                self.tau[1] * (1.0 - (-t / self.tau[1]).exp()),
            ];
            let s = r / self.lambda;
            (
                s * (t - self.a[0] * g[0] - self.a[1] * g[1]),
                s * (t - self.phi[0] * self.a[0] * g[0] - self.phi[1] * self.a[1] * g[1]),
            )
        }
    }

    #[test]
    fn one_box_step_response_is_the_exponential() {
        let ebm = KBoxEbm::new(1, false, false).unwrap();
        let (c, lambda, f) = (7.3, 1.13, 3.9);
        // C1, κ1, σ_ξ, F, σ_T, T0
        let p = ebm
            .params_from_slice(&[c, lambda, 0.4, f, 0.1, 0.2])
            .unwrap();
        for dt in [1.0, 0.25] {
            let r = ebm.response(&p, &vec![1.0; 400], dt).unwrap();
            assert_eq!(r.n_times(), 401);
            for (t, &temp) in r.times().iter().zip(r.top()) {
                let exact = f / lambda * (1.0 - (-lambda * t / c).exp());
                assert!(
                    (temp - exact).abs() <= 1e-13 * (f / lambda),
                    "t = {t}: {temp} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn two_box_step_response_is_geoffroys_modal_solution() {
        let ebm = KBoxEbm::new(2, false, false).unwrap();
        for (c, c0, lambda, gamma, f) in [(8.0, 100.0, 1.3, 0.7, 3.7), (6.5, 60.0, 0.9, 1.4, 7.4)] {
            let g = Geoffroy::new(c, c0, lambda, gamma);
            assert!((g.a[0] + g.a[1] - 1.0).abs() < 1e-12, "T(0) = 0");
            assert!(
                (g.phi[0] * g.a[0] + g.phi[1] * g.a[1] - 1.0).abs() < 1e-12,
                "T0(0) = 0"
            );
            // C1, C2, κ1, κ2, ε = 1, σ_ξ, F, σ_T, T0
            let p = ebm
                .params_from_slice(&[c, c0, lambda, gamma, 1.0, 0.5, f, 0.1, 0.0])
                .unwrap();
            for dt in [1.0, 0.5] {
                let r = ebm.response(&p, &vec![1.0; 1000], dt).unwrap();
                for (k, t) in r.times().into_iter().enumerate() {
                    let (t1, t2) = g.step(f, t);
                    let scale = f / lambda;
                    assert!(
                        (r.temperature[0][k] - t1).abs() <= 1e-12 * scale,
                        "T at {t}: {} vs {t1}",
                        r.temperature[0][k]
                    );
                    assert!(
                        (r.temperature[1][k] - t2).abs() <= 1e-12 * scale,
                        "T0 at {t}: {} vs {t2}",
                        r.temperature[1][k]
                    );
                }
            }
        }
    }

    /// Models of 1, 2 and 3 boxes, with the forcing as input or as a state, ε ≠ 1.
    fn models() -> Vec<(KBoxEbm, EbmParams<f64>)> {
        let mut out = Vec::new();
        for k in 1..=3 {
            for sf in [false, true] {
                let ebm = KBoxEbm::new(k, sf, false).unwrap();
                let v: Vec<f64> = ebm
                    .param_names()
                    .iter()
                    .map(|n| match n.as_str() {
                        "C1" => 7.0,
                        "C2" => 30.0,
                        "C3" => 140.0,
                        "kappa1" => 1.15,
                        "kappa2" => 1.6,
                        "kappa3" => 0.65,
                        "epsilon" => 1.3,
                        "gamma" => 1.7,
                        "F" => 4.1,
                        "T0" => -0.3,
                        _ => 0.3,
                    })
                    .collect();
                let p = ebm.params_from_slice(&v).unwrap();
                out.push((ebm, p));
            }
        }
        out
    }

    #[test]
    fn equilibrium_is_the_forcing_over_the_feedback() {
        for (ebm, p) in models() {
            let u = 0.8;
            let eq = ebm.equilibrium(&p, u).unwrap();
            let target = p.forcing_scale * u / p.kappa[0];
            let o = ebm.t1_index();
            if ebm.stochastic_forcing {
                assert!(
                    rel(eq[0], p.forcing_scale * u) < 1e-13,
                    "{ebm:?} F {}",
                    eq[0]
                );
            }
            for i in 0..ebm.boxes {
                assert!(
                    rel(eq[o + i], target) < 1e-13,
                    "{ebm:?} T{}: {}",
                    i + 1,
                    eq[o + i]
                );
            }
            // The response to the constant forcing reaches it: 40 slowest timescales.
            let slow = timescales(&ebm, &p).unwrap().last().copied().unwrap();
            let dt = 4.0 * slow / 100.0;
            let r = ebm.response(&p, &vec![u; 1000], dt).unwrap();
            let last = r.state_at(r.n_times() - 1);
            for (a, b) in last.iter().zip(&eq) {
                assert!(rel(*a, *b) < 1e-12, "{ebm:?}: {a} vs {b}");
            }
            // Starting at equilibrium, it stays there.
            let r = ebm.response_from(&p, &eq, &[u; 20], 1.0).unwrap();
            for (a, b) in r.state_at(20).iter().zip(&eq) {
                assert!(rel(*a, *b) < 1e-12, "{ebm:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn response_is_the_kalman_mean_on_missing_data() {
        // The filter's predicted means with every observation missing and the first state
        // at rest: the way a mean path had to be computed before this API.
        let forcing: Vec<f64> = (0..120)
            .map(|t| 0.03 * t as f64 - if t % 37 == 5 { 2.0 } else { 0.0 })
            .collect();
        for (ebm, p) in models() {
            let t_len = forcing.len();
            let data = EbmData::new(
                Observations::new(t_len, 1, vec![f64::NAN; t_len], 1, forcing.clone()).unwrap(),
                vec![0.0; t_len],
                1.0,
            )
            .unwrap();
            let ssm = ebm.state_space(&p, &data, &EbmPrior::AtRest).unwrap();
            let filt = kalman_filter(&ssm, &data.obs).unwrap();
            let r = ebm.response(&p, &forcing, 1.0).unwrap();
            assert_eq!(r.n_times(), t_len + 1);
            for t in 0..=t_len {
                for (a, b) in r.state_at(t).iter().zip(filt.pred_mean_at(t)) {
                    assert!(
                        (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                        "{ebm:?} step {t}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn ramp_response_gives_every_box_in_closed_form() {
        let f2x = 3.71;
        let rate = f2x * 1.01f64.ln() / 2f64.ln();
        // One box: (r/λ) [t − τ (1 − e^{−t/τ})], τ = C/λ.
        let ebm = KBoxEbm::new(1, false, false).unwrap();
        let (c, lambda) = (7.3, 1.13);
        let p = ebm
            .params_from_slice(&[c, lambda, 0.4, 1.0, 0.1, 0.0])
            .unwrap();
        for t in [1.0, 20.0, 70.0, 140.0] {
            let tau = c / lambda;
            let exact = rate / lambda * (t - tau * (1.0 - (-t / tau).exp()));
            let got = ramp_response(&ebm, &p, f2x, t).unwrap();
            assert_eq!(got.len(), 1);
            let scale = rate * t / lambda;
            assert!(
                (got[0] - exact).abs() < 1e-12 * scale,
                "t = {t}: {} vs {exact}",
                got[0]
            );
        }
        // Two boxes (ε = 1): Geoffroy's modes, both boxes.
        let ebm = KBoxEbm::new(2, false, false).unwrap();
        let (c, c0, lambda, gamma) = (8.0, 100.0, 1.3, 0.7);
        let g = Geoffroy::new(c, c0, lambda, gamma);
        let p = ebm
            .params_from_slice(&[c, c0, lambda, gamma, 1.0, 0.5, 1.0, 0.1, 0.0])
            .unwrap();
        for t in [1.0, 20.0, 70.0, 140.0] {
            let (t1, t2) = g.ramp(rate, t);
            let got = ramp_response(&ebm, &p, f2x, t).unwrap();
            // Both forms cancel O(t) terms down to the lagging deep response (O(t³) at
            // small t), so the error is relative to the ramp's scale r t / λ.
            let scale = rate * t / lambda;
            assert!(
                (got[0] - t1).abs() < 1e-11 * scale,
                "T at {t}: {} vs {t1}",
                got[0]
            );
            assert!(
                (got[1] - t2).abs() < 1e-11 * scale,
                "T0 at {t}: {} vs {t2}",
                got[1]
            );
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let (ebm, p) = models().swap_remove(2);
        assert!(ebm.response(&p, &[1.0, f64::NAN], 1.0).is_err());
        assert!(ebm.response(&p, &[1.0], 0.0).is_err());
        assert!(ebm.response_from(&p, &[0.0; 7], &[1.0], 1.0).is_err());
        assert!(ebm.equilibrium(&p, f64::INFINITY).is_err());
        let r = ebm.response(&p, &[], 1.0).unwrap();
        assert_eq!(r.n_times(), 1);
    }
}
