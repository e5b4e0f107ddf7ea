"""Long NumPyro run for engine/tests/data/infer_logistic_reference.json.

Logistic regression, n = 100, intercept + 2 covariates, beta_k ~ Normal(0, 2.5) i.i.d.
Data: x1_i = sin(0.37 i + 0.2), x2_i = cos(1.13 i) (i = 0..99), y_i = 1 when
frac(0.6180339887 (i + 1)) < sigmoid(0.3 + 1.2 x1_i - 0.8 x2_i), else 0 — a deterministic
rule the Rust test recomputes. Reference: NumPyro NUTS, 8 chains x (2,000 warm-up +
25,000 draws), posterior means and standard deviations of beta and their Monte Carlo
standard errors (ArviZ). Run: /work/venv-peers/bin/python benches/peers/numpyro_logistic_reference.py
"""
import json
import math
import sys

import numpy as np

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS
import arviz as az

numpyro.set_host_device_count(1)
jax.config.update("jax_enable_x64", True)

n = 100
x1 = np.array([math.sin(0.37 * i + 0.2) for i in range(n)])
x2 = np.array([math.cos(1.13 * i) for i in range(n)])
p = 1 / (1 + np.exp(-(0.3 + 1.2 * x1 - 0.8 * x2)))
u = np.array([(0.6180339887 * (i + 1)) % 1.0 for i in range(n)])
y = (u < p).astype(float)
X = np.stack([np.ones(n), x1, x2], axis=1)


def model(X, y):
    beta = numpyro.sample("beta", dist.Normal(0.0, 2.5).expand([3]))
    numpyro.sample("y", dist.Bernoulli(logits=X @ beta), obs=y)


mcmc = MCMC(NUTS(model), num_warmup=2000, num_samples=25000, num_chains=8,
            chain_method="sequential", progress_bar=False)
mcmc.run(jax.random.PRNGKey(0), jnp.array(X), jnp.array(y))
b = np.asarray(mcmc.get_samples(group_by_chain=True)["beta"])  # (chains, draws, 3)
out = {
    "provenance": f"numpyro {numpyro.__version__}, jax {jax.__version__}, arviz {az.__version__}; "
    "NUTS 8 chains x (2000 warm-up + 25000 draws), PRNGKey(0); script "
    "benches/peers/numpyro_logistic_reference.py",
    "y": [int(v) for v in y],
    "mean": [float(b[:, :, k].mean()) for k in range(3)],
    "sd": [float(b[:, :, k].std(ddof=1)) for k in range(3)],
    "mcse_mean": [float(az.mcse(b[:, :, k], method="mean")) for k in range(3)],
    "mcse_sd": [float(az.mcse(b[:, :, k], method="sd")) for k in range(3)],
    "rhat": [float(az.rhat(b[:, :, k])) for k in range(3)],
}
json.dump(out, sys.stdout, indent=1)
