"""NumPyro peer of `infer/gaussian_d100` (WORKLOADS.md section 8.2).

N(0, Sigma), d = 100, Sigma_ij = 0.9^|i-j|; potential -ln p(x) = 0.5 x^T P x with
P = Sigma^{-1} precomputed (dense, as in benches/benches/infer.rs); NUTS, 4 chains
(sequential) x (1,000 warm-up + 1,000 draws), target acceptance 0.8, diagonal mass
matrix, max tree depth 10, float64, initial points uniform in (-2, 2). Single-threaded:
run under `taskset -c 0`; XLA is told to use one thread (set below, before jax loads).

Prints per repetition the sampling time, min bulk-ESS (ArviZ) and max R-hat; the first
run includes JIT compilation, reported apart as (first run - median of the others).
Run: taskset -c 0 /work/venv-peers/bin/python benches/peers/numpyro_gaussian_d100.py [reps]
"""
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
import arviz as az  # noqa: E402
from numpyro.infer import MCMC, NUTS  # noqa: E402

jax.config.update("jax_enable_x64", True)

d = 100
idx = np.arange(d)
sigma = 0.9 ** np.abs(idx[:, None] - idx[None, :])
P = jnp.asarray(np.linalg.inv(sigma))


def potential(x):
    return 0.5 * x @ (P @ x)


def run(seed):
    kernel = NUTS(potential_fn=potential, target_accept_prob=0.8, dense_mass=False,
                  max_tree_depth=10)
    mcmc = MCMC(kernel, num_warmup=1000, num_samples=1000, num_chains=4,
                chain_method="sequential", progress_bar=False)
    rng = np.random.default_rng(seed)
    init = jnp.asarray(rng.uniform(-2.0, 2.0, size=(4, d)))
    t0 = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed), init_params=init)
    draws = np.asarray(mcmc.get_samples(group_by_chain=True))  # (4, 1000, d)
    dt = time.perf_counter() - t0
    ess = min(float(az.ess(draws[:, :, k], method="bulk")) for k in range(d))
    rhat = max(float(az.rhat(draws[:, :, k])) for k in range(d))
    return dt, ess, rhat


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results = []
    for r in range(reps + 1):
        dt, ess, rhat = run(r)
        print(f"run {r}{' (includes JIT)' if r == 0 else ''}: time {dt:.3f} s, "
              f"min bulk-ESS {ess:.0f}, ESS/s {ess / dt:.0f}, max R-hat {rhat:.4f}",
              flush=True)
        results.append((dt, ess, rhat))
    warm = results[1:]
    t = float(np.median([w[0] for w in warm]))
    ess = float(np.median([w[1] for w in warm]))
    per = float(np.median([w[1] / w[0] for w in warm]))
    print(f"numpyro infer/gaussian_d100: {len(warm)} warm runs; median time {t:.3f} s, "
          f"median min bulk-ESS {ess:.0f}, median ESS/s {per:.0f}, "
          f"max R-hat {max(w[2] for w in warm):.4f}; JIT/compile ~ {results[0][0] - t:.2f} s")


if __name__ == "__main__":
    main()
