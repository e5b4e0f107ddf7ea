"""Reference diagnostics for engine/tests/data/infer_diagnostics_reference.json.

Fixed draws (4 chains x 151 draws of three quantities: an AR(1) chain with phi = 0.7, a
heavy-tailed quantity with one chain shifted, and a discrete quantity with ties), written
with 17 significant digits, and ArviZ's rank-normalised split R-hat, bulk/tail/mean ESS,
MCSE of the mean and of the 5 % / 50 % quantiles, and E-BFMI on the first quantity read as
energies. Run: /work/venv-peers/bin/python benches/peers/arviz_diagnostics_reference.py
"""
import json
import sys

import arviz as az
import numpy as np

rng = np.random.default_rng(20240611)
m, n = 4, 151
ar = np.zeros((m, n))
for c in range(m):
    x = rng.normal()
    for t in range(n):
        x = 0.7 * x + np.sqrt(1 - 0.49) * rng.normal()
        ar[c, t] = x
heavy = rng.standard_t(3, size=(m, n))
heavy[3] += 0.8
discrete = rng.poisson(2.0, size=(m, n)).astype(float)

out = {"provenance": f"arviz {az.__version__}, numpy {np.__version__}; "
       "script benches/peers/arviz_diagnostics_reference.py", "quantities": []}
for name, x in [("ar1", ar), ("heavy", heavy), ("discrete", discrete)]:
    q = {
        "name": name,
        "draws": [[float(f"{v:.17g}") for v in row] for row in x],
        "rhat": float(az.rhat(x, method="rank")),
        "ess_bulk": float(az.ess(x, method="bulk")),
        "ess_tail": float(az.ess(x, method="tail")),
        "ess_mean": float(az.ess(x, method="mean")),
        "mcse_mean": float(az.mcse(x, method="mean")),
        "mcse_q05": float(az.mcse(x, method="quantile", prob=0.05)),
        "mcse_q50": float(az.mcse(x, method="quantile", prob=0.5)),
        "ebfmi_chain0": float(az.bfmi(x[:1])[0]),
    }
    out["quantities"].append(q)
json.dump(out, sys.stdout, indent=1)
