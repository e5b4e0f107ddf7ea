"""Peer of `models/examples/de_harelynx.rs`: the hare-lynx Lotka-Volterra posterior of
Carpenter (2018, Stan case study) in NumPyro with diffrax, NUTS with the same settings as
mechml: 4 chains run one after another x (1,000 warm-up + 1,000 draws), diagonal metric,
target acceptance 0.8, max tree depth 10, random inits uniform in (-2, 2) on the
unconstrained scale, Dopri5 at rtol = atol = 1e-8 (diffrax's default discrete adjoint,
RecursiveCheckpointAdjoint; max_steps 4096, diffrax's default: the solves need a few
hundred), float64, one thread.

Prints the posterior summary, the time of a run of 1 warm-up + 1 draw per chain (almost
all JIT compilation: numpyro compiles its sampling loop again in every run), of the full
run, and ESS/s = smallest bulk ESS (rank-normalised split chains, Vehtari et al. 2021) /
(full run - the 1+1 run), by wall time and by the process's CPU time (the development
machine is shared: CPU time is the fairer figure).

    taskset -c 1 /work/venv-de/bin/python benches/peers/de_harelynx_numpyro.py [SEED [N]]

(N: warm-up and draws per chain, 1,000 by default.)
"""

import os
import sys
import time

os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from jax.scipy.stats import norm  # noqa: E402
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin  # noqa: E402
from numpyro.infer import MCMC, NUTS, init_to_uniform  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "..", "..", "models", "data", "hudson_bay_hare_lynx_1900_1920.csv")
NAMES = ["alpha", "beta", "gamma", "delta", "u0", "v0", "sigma_hare", "sigma_lynx"]


def load():
    rows = np.loadtxt(CSV, delimiter=",", skiprows=1)
    return rows[:, 0] - rows[0, 0], rows[:, 1:3]


def vector_field(t, z, theta):
    u, v = z[0], z[1]
    a, b, g, d = theta[0], theta[1], theta[2], theta[3]
    return jnp.stack([(a - b * v) * u, (-g + d * u) * v])


TERM = diffrax.ODETerm(vector_field)
SOLVER = diffrax.Dopri5()
CONTROLLER = diffrax.PIDController(rtol=1e-8, atol=1e-8)


def model(ts, y):
    a = numpyro.sample("alpha", dist.TruncatedNormal(1.0, 0.5, low=0.0))
    b = numpyro.sample("beta", dist.TruncatedNormal(0.05, 0.05, low=0.0))
    g = numpyro.sample("gamma", dist.TruncatedNormal(1.0, 0.5, low=0.0))
    d = numpyro.sample("delta", dist.TruncatedNormal(0.05, 0.05, low=0.0))
    u0 = numpyro.sample("u0", dist.LogNormal(jnp.log(10.0), 1.0))
    v0 = numpyro.sample("v0", dist.LogNormal(jnp.log(10.0), 1.0))
    s_h = numpyro.sample("sigma_hare", dist.LogNormal(-1.0, 1.0))
    s_l = numpyro.sample("sigma_lynx", dist.LogNormal(-1.0, 1.0))
    sol = diffrax.diffeqsolve(
        TERM,
        SOLVER,
        t0=0.0,
        t1=ts[-1],
        dt0=None,
        y0=jnp.stack([u0, v0]),
        args=jnp.stack([a, b, g, d]),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=CONTROLLER,
        max_steps=4096,
        throw=False,
    )
    # A failed solve (too many steps, a state that is not finite and positive) is a
    # point of zero density, as in mechml.
    ok = (sol.result == diffrax.RESULTS.successful) & jnp.all(jnp.isfinite(sol.ys) & (sol.ys > 0))
    z = jnp.where(ok, sol.ys, 1.0)
    numpyro.factor("solver_ok", jnp.where(ok, 0.0, -jnp.inf))
    numpyro.sample("y_hare", dist.LogNormal(jnp.log(z[:, 0]), s_h, validate_args=False), obs=y[:, 0])
    numpyro.sample("y_lynx", dist.LogNormal(jnp.log(z[:, 1]), s_l, validate_args=False), obs=y[:, 1])


def bulk_ess(x):
    """Bulk ESS of draws x[chain, draw]: split chains, rank-normalise, ESS."""
    c, n = x.shape
    h = n // 2
    s = np.concatenate([x[:, :h], x[:, h : 2 * h]], axis=0)
    r = np.argsort(np.argsort(s, axis=None)).reshape(s.shape) + 1.0
    z = np.asarray(norm.ppf((r - 0.375) / (s.size + 0.25)))
    return float(effective_sample_size(z))


def make_mcmc(n):
    kernel = NUTS(
        model, target_accept_prob=0.8, max_tree_depth=10, init_strategy=init_to_uniform(radius=2.0)
    )
    return MCMC(
        kernel,
        num_warmup=n,
        num_samples=n,
        num_chains=4,
        chain_method="sequential",
        progress_bar=False,
    )


def run(mcmc, seed, ts, y):
    """(wall seconds, process CPU seconds) of one run."""
    t, c = time.perf_counter(), time.process_time()
    mcmc.run(jax.random.PRNGKey(seed), ts, y, extra_fields=("diverging",))
    jax.block_until_ready(mcmc.get_samples())
    return time.perf_counter() - t, time.process_time() - c


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    ts, y = load()
    ts, y = jnp.asarray(ts), jnp.asarray(y)
    print(f"numpyro {numpyro.__version__}, jax {jax.__version__}, diffrax {diffrax.__version__}")
    # numpyro builds (and JAX compiles) the sampling loop again in every `run`, so the
    # compile time is estimated by a run of 1 warm-up + 1 draw per chain first.
    t_first, c_first = run(make_mcmc(1), seed + 1, ts, y)
    print(f"1+1-iteration run (mostly JIT) {t_first:.2f} s wall, {c_first:.2f} s CPU", flush=True)
    mcmc = make_mcmc(n)
    t_full, c_full = run(mcmc, seed, ts, y)
    t_second, c_second = t_full - t_first, c_full - c_first
    draws = mcmc.get_samples(group_by_chain=True)
    div = int(np.sum(mcmc.get_extra_fields()["diverging"]))
    print(f"{'param':<11} {'mean':>9} {'sd':>9} {'q10':>9} {'q90':>9} {'ess_bulk':>9} {'rhat':>7}")
    ess = []
    for name in NAMES:
        x = np.asarray(draws[name])
        e = bulk_ess(x)
        ess.append(e)
        q10, q90 = np.quantile(x, [0.1, 0.9])
        rhat = float(split_gelman_rubin(x))
        print(f"{name:<11} {x.mean():9.4f} {x.std(ddof=1):9.4f} {q10:9.4f} {q90:9.4f} {e:9.0f} {rhat:7.4f}")
    m = min(ess)
    print(
        f"full run {t_full:.2f} s wall ({c_full:.2f} s CPU), minus the 1+1 run: sampling ~ "
        f"{t_second:.2f} s wall, {c_second:.2f} s CPU; divergences {div}; min bulk ESS {m:.0f}; "
        f"ESS/s {m / t_second:.1f} (wall), {m / c_second:.1f} (CPU)"
    )


if __name__ == "__main__":
    main()
