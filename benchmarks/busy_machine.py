"""The row split on a busy machine: rnnkit's default against its serial kernels, with a CPU hog.

A hog (a busy-loop process pinned to one core with ``os.sched_setaffinity``) holds one core
while a fixed set of workloads runs, each in a fresh subprocess, in these modes:

- ``default``: the environment as a user has it (the row split with its load guard);
- ``serial``:  ``RNNKIT_POOL=0 OPENBLAS_NUM_THREADS=1`` (the serial kernels, one BLAS thread);
- ``unguarded`` (with ``--unguarded``): the row split that never falls back (the behaviour
  before the load guard: the guard replaced by one that never sees a loss);
- ``idle``: ``default`` without the hog.

Workloads: LSTM and GRU train (forward + full backward) and infer at the grid's S and M sizes
(``BENCHMARKS.md``), repeated a fixed number of times; ``fit`` of a small model (one LSTM
layer, H=64, batch 32, like mnist1d); the demo's adding-problem part
(``rnnkit.apps.demo.memory_race``: RNN, LSTM, GRU, H=32). Each workload is timed ``--repeats``
times in its subprocess after a warm-up; the minimum wall time is kept with its process CPU
time. Printed: wall and CPU seconds per mode, and ``default / serial`` under the hog (the
target is <= 1.10) and ``idle / serial``. The machine is shared: say the load average
(printed) beside the figures.

Run from the repository root::

    PYTHONPATH=src python3 benchmarks/busy_machine.py --quick          # a couple of minutes
    PYTHONPATH=src python3 benchmarks/busy_machine.py --unguarded      # also the old behaviour
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

GRID = {"S": (50, 16, 16, 64), "M": (100, 32, 32, 128)}        # T, B, I, H
SERIAL_ENV = {"RNNKIT_POOL": "0", "OPENBLAS_NUM_THREADS": "1"}


def _layer_work(kind: str, size: str, train: bool, reps: int):
    import rnnkit
    from rnnkit import nn

    T, B, I, H = GRID[size]
    layer = getattr(nn, kind)(I, H, rng=0)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
    d_out = np.ones((T, B, H), np.float32)

    def work():
        with rnnkit.set_grad_enabled(train):
            for _ in range(reps):
                layer(x)
                if train:
                    layer.backward(d_out)
    return work


def _fit_work(quick: bool):
    from rnnkit import optim
    from rnnkit.models import SequenceModel
    from rnnkit.train import fit

    rng = np.random.default_rng(0)
    n, T = (256, 40) if quick else (1024, 40)
    X = rng.standard_normal((n, T, 1)).astype(np.float32)
    y = rng.integers(0, 10, n)

    def work():
        model = SequenceModel(1, 64, 10, cell="lstm", output="last", rng=0)
        fit(model, (X, y), loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=1e-3), epochs=1,
            batch_size=32, rng=0, progress=False)
    return work


def _adding_work(quick: bool):
    from rnnkit.apps.demo import memory_race

    epochs, n, T = (2, 300, 20) if quick else (12, 2000, 50)
    return lambda: memory_race(epochs, n, T, seed=0)


def workloads(quick: bool) -> dict:
    reps = 5 if quick else 20
    w = {}
    for kind in ("LSTM", "GRU"):
        for size in ("S", "M"):
            for train in (True, False):
                w[f"{kind.lower()}_{'train' if train else 'infer'}_{size}"] = (
                    lambda kind=kind, size=size, train=train: _layer_work(kind, size, train, reps))
    w["fit_small"] = lambda: _fit_work(quick)
    w["adding_problem"] = lambda: _adding_work(quick)
    return w


def child(name: str, quick: bool, repeats: int, unguarded: bool) -> dict:
    """Time workload ``name`` in this process: the minimum wall time of ``repeats`` runs
    after a warm-up, with that run's process CPU time."""
    if unguarded:
        from rnnkit.kernels.fast import _load, _pool
        _pool._guard = _load.LoadGuard(keep_gain=0.0, drop_gain=0.0)
    work = workloads(quick)[name]()
    work()                                                              # warm-up (compiled code cached)
    best = None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        work()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if best is None or wall < best[0]:
            best = (wall, cpu)
    return {"wall": best[0], "cpu": best[1]}


def _hog(core: int) -> subprocess.Popen:
    code = f"import os\nos.sched_setaffinity(0, {{{core}}})\nwhile True:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def _run_child(name: str, mode: str, args) -> dict:
    env = dict(os.environ)
    if mode == "serial":
        env.update(SERIAL_ENV)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, "--repeats", str(args.repeats)]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--guard-off"] if mode == "unguarded" else []
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(f"workload {name} ({mode}) failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small budgets: a couple of minutes")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per workload (default 3, --quick 2)")
    ap.add_argument("--only", default=None, help="comma-separated workload names (default all)")
    ap.add_argument("--unguarded", action="store_true", help="also time the row split without its load guard")
    ap.add_argument("--no-idle", action="store_true", help="skip the runs without the hog")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--guard-off", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 3
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.child:
        print(json.dumps(child(args.child, args.quick, args.repeats, args.guard_off)))
        return 0
    names = list(workloads(args.quick))
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            ap.error(f"--only: unknown workloads {unknown}; known: {names}")
        names = wanted
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        ap.error(f"needs at least two cores, this process may use {cores}")
    hog_modes = ["default", "serial"] + (["unguarded"] if args.unguarded else [])
    print(f"# busy_machine: {'quick' if args.quick else 'full'}, repeats {args.repeats}, cores {cores}, "
          f"hog on core {cores[-1]}, load average at start {os.getloadavg()}")
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')!r} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '')!r}")
    results = {n: {} for n in names}
    hog = _hog(cores[-1])
    try:
        time.sleep(0.2)
        for n in names:
            for mode in hog_modes:
                results[n][mode] = _run_child(n, mode, args)
    finally:
        hog.kill()
        hog.wait()
    if not args.no_idle:
        for n in names:
            results[n]["idle"] = _run_child(n, "default", args)
    modes = hog_modes + ([] if args.no_idle else ["idle"])
    head = f"{'workload':16s}" + "".join(f" {m + ' wall/cpu s':>22s}" for m in modes) + f" {'default/serial':>15s}"
    head += "" if args.no_idle else f" {'idle/serial':>12s}"
    print(head)
    worst = 0.0
    for n in names:
        r = results[n]
        row = f"{n:16s}" + "".join(f" {r[m]['wall']:11.3f}/{r[m]['cpu']:<10.3f}" for m in modes)
        ratio = r["default"]["wall"] / r["serial"]["wall"]
        worst = max(worst, ratio)
        row += f" {ratio:15.2f}"
        row += "" if args.no_idle else f" {r['idle']['wall'] / r['serial']['wall']:12.2f}"
        print(row)
    print(f"# worst default/serial under the hog: {worst:.2f} (target <= 1.10); load average at end "
          f"{os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
