"""NumPyro peer of `infer/ebm2box_hadcrut5` (WORKLOADS.md section 8.1).

The demo's stochastic 2-box energy-balance model (Cummins et al. 2020) on HadCRUT5:
C1 dT1 = (F - k1 T1 - k2 (T1 - T2)) dt + s_xi dW, C2 dT2 = k2 (T1 - T2) dt, observed as
y = T1 + T0 + v with the known variance of the HadCRUT5 95 % interval
((hi - lo) / (2 * 1.95996...))^2; forcing RCP4.5 total incl. volcanic from 1765 (years
before 1850 unobserved); exact discretisation over one year (Phi, Gamma from the
exponential of [[A, B], [0, 0]], Q by Van Loan); the first state at rest in mean with the
stationary covariance (P = Phi P Phi^T + Q). The Kalman filter is a `lax.scan`, as in
models/src/ssm/ebm (the first state emits y_1; x_{t+1} = Phi x_t + Gamma u_t + w_t).

Priors (section 8.1): C1 ~ LogNormal(ln 8, 0.5), C2 ~ LogNormal(ln 100, 0.5),
k1 ~ LogNormal(ln 1.2, 0.5), k2 ~ LogNormal(ln 0.7, 0.5), s_xi ~ HalfNormal(0.5),
T0 ~ Normal(-0.3, 0.5); NumPyro's unconstrained scale is the log for the positive ones,
as in mechml. NUTS: 4 chains (sequential) x (1,000 warm-up + 1,000 draws), target
acceptance 0.8, diagonal mass matrix, max tree depth 10, float64, NumPyro's default
init (uniform in (-2, 2) on the unconstrained scale). Single-threaded (taskset -c 0,
XLA told to use one thread).

Prints the log-likelihood at (8, 100, 1.2, 0.7, 0.5, -0.3) (to compare with the Rust
bench's line), then per repetition the sampling time, min bulk-ESS (ArviZ) and max R-hat;
the first run includes JIT compilation, reported apart as (first run - median of others).
Run: taskset -c 0 /work/venv-peers/bin/python benches/peers/numpyro_ebm2box_hadcrut5.py [reps]
"""
import csv
import os
import sys
import time

os.environ["XLA_FLAGS"] = (
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jax.scipy.linalg as jsl  # noqa: E402
import arviz as az  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from numpyro.infer import MCMC, NUTS  # noqa: E402

jax.config.update("jax_enable_x64", True)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "models", "data")
Z95 = 1.959963984540054


def load():
    forcing = {}
    with open(os.path.join(DATA, "rcp_radiative_forcing.csv")) as f:
        for row in csv.DictReader(f):
            if row["scenario"] == "rcp45":
                forcing[int(row["year"])] = float(row["total_inclvolcanic_rf_wm2"])
    temp = {}
    with open(os.path.join(DATA, "hadcrut5_gmst_annual.csv")) as f:
        for row in csv.DictReader(f):
            y = int(row["year"])
            lo, hi = float(row["lower_95_degC"]), float(row["upper_95_degC"])
            temp[y] = (float(row["gmst_anomaly_degC"]), ((hi - lo) / (2 * Z95)) ** 2)
    start, end = min(forcing), max(temp)
    years = range(start, end + 1)
    u = np.array([forcing[y] for y in years])
    obs = np.array([temp[y][0] if y in temp else 0.0 for y in years])
    mask = np.array([y in temp for y in years])
    rvar = np.array([temp[y][1] if y in temp else 1.0 for y in years])
    return jnp.asarray(u), jnp.asarray(obs), jnp.asarray(mask), jnp.asarray(rvar)


U, Y, MASK, RVAR = load()


def loglik(c1, c2, k1, k2, sxi, t0):
    a = jnp.array([[-(k1 + k2) / c1, k2 / c1], [k2 / c2, -k2 / c2]])
    b = jnp.array([1.0 / c1, 0.0])
    g = jnp.array([sxi / c1, 0.0])
    aug = jnp.zeros((3, 3)).at[:2, :2].set(a).at[:2, 2].set(b)
    e = jsl.expm(aug)
    phi, gam = e[:2, :2], e[:2, 2]
    vl = jnp.zeros((4, 4)).at[:2, :2].set(-a).at[:2, 2:].set(jnp.outer(g, g)).at[2:, 2:].set(a.T)
    ev = jsl.expm(vl)
    q = ev[2:, 2:].T @ ev[:2, 2:]
    q = 0.5 * (q + q.T)
    p1 = jnp.linalg.solve(jnp.eye(4) - jnp.kron(phi, phi), q.reshape(4)).reshape(2, 2)

    def step(carry, inp):
        m, p, ll = carry
        u, y, obs, r = inp
        s = p[0, 0] + r
        v = y - m[0] - t0
        k = p[:, 0] / s
        m_up = m + k * v
        p_up = p - jnp.outer(k, k) * s
        ll_t = -0.5 * (jnp.log(2 * jnp.pi * s) + v * v / s)
        m = jnp.where(obs, m_up, m)
        p = jnp.where(obs, p_up, p)
        ll = ll + jnp.where(obs, ll_t, 0.0)
        return (phi @ m + gam * u, phi @ p @ phi.T + q, ll), None

    (_, _, ll), _ = jax.lax.scan(step, (jnp.zeros(2), p1, 0.0), (U, Y, MASK, RVAR))
    return ll


def model():
    c1 = numpyro.sample("C1", dist.LogNormal(jnp.log(8.0), 0.5))
    c2 = numpyro.sample("C2", dist.LogNormal(jnp.log(100.0), 0.5))
    k1 = numpyro.sample("kappa1", dist.LogNormal(jnp.log(1.2), 0.5))
    k2 = numpyro.sample("kappa2", dist.LogNormal(jnp.log(0.7), 0.5))
    sxi = numpyro.sample("sigma_xi", dist.HalfNormal(0.5))
    t0 = numpyro.sample("T0", dist.Normal(-0.3, 0.5))
    numpyro.factor("loglik", loglik(c1, c2, k1, k2, sxi, t0))


NAMES = ["C1", "C2", "kappa1", "kappa2", "sigma_xi", "T0"]


def run(seed):
    kernel = NUTS(model, target_accept_prob=0.8, dense_mass=False, max_tree_depth=10)
    mcmc = MCMC(kernel, num_warmup=1000, num_samples=1000, num_chains=4,
                chain_method="sequential", progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed))
    s = mcmc.get_samples(group_by_chain=True)
    draws = {k: np.asarray(s[k]) for k in NAMES}
    dt = time.perf_counter() - t0
    ess = min(float(az.ess(draws[k], method="bulk")) for k in NAMES)
    rhat = max(float(az.rhat(draws[k])) for k in NAMES)
    return dt, ess, rhat


def main():
    print(f"numpyro infer/ebm2box_hadcrut5: log-likelihood at (8, 100, 1.2, 0.7, 0.5, -0.3) = "
          f"{float(loglik(8.0, 100.0, 1.2, 0.7, 0.5, -0.3)):.10f}", flush=True)
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = []
    for r in range(reps + 1):
        dt, ess, rhat = run(r)
        print(f"run {r}{' (includes JIT)' if r == 0 else ''}: time {dt:.3f} s, "
              f"min bulk-ESS {ess:.0f}, ESS/s {ess / dt:.1f}, max R-hat {rhat:.4f}",
              flush=True)
        results.append((dt, ess, rhat))
    warm = results[1:]
    t = float(np.median([w[0] for w in warm]))
    ess = float(np.median([w[1] for w in warm]))
    per = float(np.median([w[1] / w[0] for w in warm]))
    print(f"numpyro infer/ebm2box_hadcrut5: {len(warm)} warm runs; median time {t:.3f} s, "
          f"median min bulk-ESS {ess:.0f}, median ESS/s {per:.1f}, "
          f"max R-hat {max(w[2] for w in warm):.4f}; JIT/compile ~ {results[0][0] - t:.2f} s")


if __name__ == "__main__":
    main()
