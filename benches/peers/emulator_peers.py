"""Peers of benches/benches/emulator.rs, single-threaded (BLAS and OpenMP pinned to one
thread before numpy loads): the same workloads, timed with time.perf_counter (median of
`--repeats` runs).

* fit_200x8: 200 runs x 8 inputs (scaled borehole on a Latin hypercube; output j of the
  50-output case adds 0.1 sin((j + 1) x_{j mod 8})), squared exponential ARD kernel,
  fitted nugget, 3 starts: scikit-learn GaussianProcessRegressor (constant * RBF +
  White, normalize_y, n_restarts_optimizer = 2; 50 outputs = 50 fits, one kernel each)
  and mogp-emulator (GaussianProcess / MultiOutputGP, fit_GP_MAP with n_tries = 3,
  processes = 1).
* saltelli_1e5: SALib sobol.sample (calc_second_order = False, N = 10^5) + the
  g-function (d = 8) + sobol.analyze (100 resamples).

Environment: python3 -m venv /work/venv-emu; /work/venv-emu/bin/pip install scikit-learn
mogp-emulator SALib. Run: /work/venv-emu/bin/python benches/peers/emulator_peers.py
"""
import os

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[v] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

LO = np.array([0.05, 100.0, 63070.0, 990.0, 63.1, 700.0, 1120.0, 9855.0])
HI = np.array([0.15, 50000.0, 115600.0, 1110.0, 116.0, 820.0, 1680.0, 12045.0])


def borehole_unit(u):
    x = LO + u * (HI - LO)
    rw, r, tu, hu, tl, hl, l, kw = x.T
    lr = np.log(r / rw)
    return 2 * np.pi * tu * (hu - hl) / (lr * (1 + 2 * l * tu / (lr * rw**2 * kw) + tu / tl)) / 100.0


def lhs(n, d, rng):
    return (np.argsort(rng.random((n, d)), axis=0) + rng.random((n, d))) / n


def timed(f, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def fit_data():
    rng = np.random.default_rng(1)
    x = lhs(200, 8, rng)
    y = borehole_unit(x)
    ys = np.stack([y + 0.1 * np.sin((j + 1) * x[:, j % 8]) for j in range(50)])
    return x, y, ys


def sklearn_fits(repeats):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    x, y, ys = fit_data()

    def one(yy):
        k = ConstantKernel(1.0) * RBF(np.ones(8)) + WhiteKernel(1e-5)
        GaussianProcessRegressor(k, normalize_y=True, n_restarts_optimizer=2, random_state=0).fit(x, yy)

    t1 = timed(lambda: one(y), repeats)
    t50 = timed(lambda: [one(yy) for yy in ys], max(1, repeats // 3))
    return t1, t50


def _scalar_rvs():
    # mogp-emulator 0.7.2 calls float() on size-1 arrays from scipy's rvs, which numpy 2
    # refuses: hand it a scalar (no effect on the fit itself).
    import scipy.stats

    for name in ("invgamma", "gamma", "lognorm", "norm"):
        dist = getattr(scipy.stats, name)
        orig = dist.rvs

        def rvs(*a, _orig=orig, **k):
            r = _orig(*a, **k)
            return r[0] if k.get("size") == 1 and np.ndim(r) == 1 else r

        dist.rvs = rvs


def mogp_fits(repeats):
    import mogp_emulator

    _scalar_rvs()

    x, y, ys = fit_data()

    def one():
        gp = mogp_emulator.GaussianProcess(x, y, kernel="SquaredExponential", nugget="fit")
        mogp_emulator.fit_GP_MAP(gp, n_tries=3)

    def many():
        gp = mogp_emulator.MultiOutputGP(x, ys, kernel="SquaredExponential", nugget="fit")
        mogp_emulator.fit_GP_MAP(gp, n_tries=3, processes=1)

    return timed(one, repeats), timed(many, max(1, repeats // 3))


def salib(repeats):
    from SALib.analyze import sobol as asobol
    from SALib.sample import sobol as ssobol

    a = np.array([0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0])
    problem = {"num_vars": 8, "names": [f"x{i}" for i in range(8)], "bounds": [[0.0, 1.0]] * 8}

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = ssobol.sample(problem, 100_000, calc_second_order=False)
            y = np.prod((np.abs(4 * x - 2) + a) / (1 + a), axis=1)
            asobol.analyze(problem, y, calc_second_order=False, num_resamples=100, conf_level=0.95)

    return timed(run, repeats)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", choices=["sklearn", "mogp", "salib"], default=None)
    args = p.parse_args()
    if args.only in (None, "sklearn"):
        t1, t50 = sklearn_fits(args.repeats)
        print(f"sklearn  fit_200x8/1_output   {t1 * 1e3:10.1f} ms")
        print(f"sklearn  fit_200x8/50_outputs {t50 * 1e3:10.1f} ms")
    if args.only in (None, "mogp"):
        t1, t50 = mogp_fits(args.repeats)
        print(f"mogp     fit_200x8/1_output   {t1 * 1e3:10.1f} ms")
        print(f"mogp     fit_200x8/50_outputs {t50 * 1e3:10.1f} ms")
    if args.only in (None, "salib"):
        print(f"SALib    saltelli_1e5         {salib(args.repeats) * 1e3:10.1f} ms")


if __name__ == "__main__":
    main()
