"""DAPPER peer of the `da` benchmarks (WORKLOADS.md 8.6 and the LETKF scaling runs).

Lorenz-96, F = 8, RK4 with dt = 0.05, one step between analyses, every variable observed
with unit noise.

* etkfNX:      Nx = NX, EnKF('Sqrt', N=40, infl=1.02)             (da/l96_etkf_n40 for
               NX = 40, da/l96_etkf_nxNX otherwise)
* letkfNX:     Nx = NX, LETKF(N=40, loc_rad=4, infl=1.02), GC taper  (da/l96_letkf_nxNX)

DAPPER's `loc_rad` is the radius convention of mechml's `Localization::radius`
(Gaspari-Cohn half-width c = 1.82 loc_rad, taper dropped at or below 1e-3). The state
batches of the LETKF are single grid points (`nd_Id_localization((Nx,), (1,))`), one local
analysis per variable as in mechml; DAPPER's own sakov2008 setting uses batches of two
(`(2,)`), which halves its number of local analyses: `--batch 2` measures that.

Two measurements per workload and repetition, as thread CPU seconds per cycle (and wall
seconds per cycle):
* `assimilate`: `xp.assimilate(HMM, xx, yy)`, DAPPER's own loop, which also computes its
  statistics (RMSE, spread, ...) at every cycle;
* `core`: the same forecast and analysis calls (`HMM.Dyn`, `EnKF_analysis` or
  `local_analyses`, `post_process`) without the statistics.

`--divergence SEEDS` instead runs the ETKF of Sakov & Oke's setting as DAPPER ships it
(`dapper.mods.Lorenz96.sakov2008`: Nx = 40, `EnKF('Sqrt', N=24, infl=1.013, rot=True)`)
for `--cycles` cycles after a burn-in of 1,000, once per seed 1..SEEDS, with and without
the random rotations, and prints each run's time-mean analysis RMSE and spread (a run whose
RMSE exceeds 1 has diverged): the peer of mechml's `da_sakov2008` divergence study
(docs/da.md).

Run single-threaded:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c 0 \
        python benches/peers/dapper_l96.py --workloads etkf40,letkf1000 --cycles 1000 --reps 3
"""

import argparse
import time

import numpy as np

import dapper.mods as modelling
import dapper.da_methods as da
from dapper.da_methods.ensemble import EnKF_analysis, local_analyses, post_process
from dapper.mods.Lorenz96 import step
from dapper.tools.localization import nd_Id_localization
from dapper.tools.seeding import set_seed


def hmm(nx, cycles, batch):
    tseq = modelling.Chronology(0.05, dko=1, Ko=cycles, BurnIn=0)
    x0 = 8.0 * np.ones(nx)
    x0[0] += 0.01
    # Start the truth (and the ensemble) on the attractor: spin up x0 first.
    for _ in range(1000):
        x0 = step(x0, np.nan, 0.05)
    Dyn = {"M": nx, "model": step, "noise": 0}
    X0 = modelling.GaussRV(mu=x0, C=1.0)
    Obs = modelling.partial_Id_Obs(nx, np.arange(nx))
    Obs["noise"] = 1
    Obs["localizer"] = nd_Id_localization((nx,), (batch,))
    return modelling.HiddenMarkovModel(Dyn, Obs, tseq, X0)


def core_loop(HMM, yy, method, n, infl):
    E = HMM.X0.sample(n)
    for k, ko, t, dt in HMM.tseq.ticker:
        E = HMM.Dyn(E, t - dt, dt)
        if ko is None:
            continue
        Obs = HMM.Obs(ko)
        if method == "etkf":
            E = EnKF_analysis(E, Obs(E), Obs.noise, yy[ko], "Sqrt")
        else:
            batch, taper = Obs.localizer(4.0, "x2y", "GC")
            E, _ = local_analyses(E, Obs(E), Obs.noise.C, yy[ko], batch, taper)
        E = post_process(E, infl, False)
    return E


def divergence(seeds, cycles, infl):
    from dapper.mods.Lorenz96.sakov2008 import HMM as H0

    burn = 1000
    for seed in range(1, seeds + 1):
        for rot in (True, False):
            HMM = H0.copy()
            HMM.tseq = modelling.Chronology(0.05, dko=1, Ko=burn + cycles, BurnIn=0)
            set_seed(seed)
            xx, yy = HMM.simulate()
            E = HMM.X0.sample(24)
            err, spr = [], []
            for k, ko, t, dt in HMM.tseq.ticker:
                E = HMM.Dyn(E, t - dt, dt)
                if ko is None:
                    continue
                Obs = HMM.Obs(ko)
                E = EnKF_analysis(E, Obs(E), Obs.noise, yy[ko], "Sqrt")
                E = post_process(E, infl, rot)
                if ko >= burn:
                    err.append(np.sqrt(np.mean((E.mean(0) - xx[k]) ** 2)))
                    spr.append(np.sqrt(np.mean(np.var(E, axis=0, ddof=1))))
            print(
                f"dapper etkf_rot={rot} seed={seed} infl={infl} cycles={cycles} "
                f"rmse_a={np.mean(err):.4f} spread_a={np.mean(spr):.4f} "
                f"max_err={np.max(err):.3f}",
                flush=True,
            )


def timed(fn):
    c0, w0 = time.thread_time(), time.perf_counter()
    out = fn()
    return out, time.thread_time() - c0, time.perf_counter() - w0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="etkf40,letkf1000")
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--modes", default="core,assimilate")
    ap.add_argument("--divergence", type=int, default=0)
    ap.add_argument("--infl", type=float, default=1.013)
    args = ap.parse_args()
    if args.divergence:
        divergence(args.divergence, args.cycles, args.infl)
        return
    set_seed(3000)
    for w in args.workloads.split(","):
        if w.startswith("etkf"):
            nx, method = int(w.removeprefix("etkf")), "etkf"
        else:
            nx, method = int(w.removeprefix("letkf")), "letkf"
        cycles = args.cycles
        HMM = hmm(nx, cycles, args.batch)
        xx, yy = HMM.simulate()
        for rep in range(args.reps):
            for mode in args.modes.split(","):
                if mode == "core":
                    E, cpu, wall = timed(lambda: core_loop(HMM, yy, method, 40, 1.02))
                    rmse = np.sqrt(np.mean((E.mean(0) - xx[-1]) ** 2))
                else:
                    if method == "etkf":
                        xp = da.EnKF("Sqrt", N=40, infl=1.02)
                    else:
                        xp = da.LETKF(N=40, loc_rad=4.0, infl=1.02)
                    _, cpu, wall = timed(lambda: xp.assimilate(HMM, xx, yy, liveplots=False))
                    rmse = float(np.mean(xp.stats.err.rms.a[1:]))
                print(
                    f"dapper {w} {mode} rep={rep} cycles={cycles} "
                    f"cpu_per_cycle_s={cpu / cycles:.6e} wall_per_cycle_s={wall / cycles:.6e} "
                    f"rmse={rmse:.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
