"""Soak test: train with the command line, kill -9 at random moments, resume, check, repeat.

Not part of the unit suite. One cycle starts ``python -m rnnkit.cli train ... --out DIR``
(with ``--resume`` once a checkpoint exists), sleeps a random time, sends SIGKILL if the run
is still going, and then checks the checkpoint:

- it loads (``read_archive`` and ``load_checkpoint_model``) and no half-written file is seen;
- its epoch never goes back, and its history holds exactly the epochs 1..epoch;
- the next run resumes from it (exit code 0 at the end, or killed again).

After ``--kills`` kills the last run is left to finish; its model must be bitwise the model of
an uninterrupted run of the same command (resuming loses nothing and changes nothing), and
no temporary file may remain. Prints the figures as JSON; exit code 1 if any check failed.

    python benchmarks/soak.py --kills 30 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, os.pardir, "src")
sys.path.insert(0, SRC)

from rnnkit.io import load_model, read_archive  # noqa: E402
from rnnkit.train import load_checkpoint_model  # noqa: E402

TRAIN = ["--task", "parity", "--cell", "gru", "--hidden-size", "32", "--n", "1500", "--batch-size", "16",
         "--seed", "3", "--no-progress"]


def _command(out: str, epochs: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "rnnkit.cli", "train", *TRAIN, "--epochs", str(epochs), "--out", out]
    return cmd + (["--resume"] if resume else [])


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _weights(path: str) -> dict[str, np.ndarray]:
    return {n: p.data for n, p in load_model(path).named_parameters()}


def _check_checkpoint(path: str, last_epoch: int) -> tuple[int, str | None]:
    """``(epoch, problem or None)`` of the checkpoint at ``path``."""
    try:
        meta, _ = read_archive(path, "rnnkit.checkpoint")
        load_checkpoint_model(path)
    except (ValueError, OSError) as err:
        return last_epoch, f"checkpoint does not load: {err}"
    epoch = int(meta["epoch"])
    if epoch < last_epoch:
        return epoch, f"checkpoint went back from epoch {last_epoch} to {epoch}"
    numbers = [e.get("epoch") for e in meta["history"]["epochs"]]
    if numbers != list(range(1, epoch + 1)):
        return epoch, f"history epochs {numbers} at checkpoint epoch {epoch}"
    return epoch, None


def soak(kills: int, epochs: int, seed: int, min_s: float, max_s: float, work: str) -> dict:
    rng = np.random.default_rng(seed)
    env = _env()
    ref_dir, out = os.path.join(work, "reference"), os.path.join(work, "soaked")
    subprocess.run(_command(ref_dir, epochs, False), env=env, check=True, capture_output=True)
    ckpt = os.path.join(out, "checkpoint.npz")
    figures = {"runs": 0, "kills": 0, "resumes": 0, "failures": 0, "killed_before_first_checkpoint": 0}
    problems: list[str] = []
    last_epoch = 0
    t0 = time.perf_counter()
    while True:
        resume = os.path.exists(ckpt)
        proc = subprocess.Popen(_command(out, epochs, resume), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        figures["runs"] += 1
        figures["resumes"] += resume
        killing = figures["kills"] < kills
        try:
            _, err = proc.communicate(timeout=float(rng.uniform(min_s, max_s)) if killing else 600)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            figures["kills"] += 1
            if not os.path.exists(ckpt):
                figures["killed_before_first_checkpoint"] += 1
                continue
            last_epoch, problem = _check_checkpoint(ckpt, last_epoch)
            if problem:
                problems.append(problem)
            continue
        if proc.returncode != 0:
            problems.append(f"run {figures['runs']} exited {proc.returncode}: {err.strip()[-300:]}")
            break
        last_epoch, problem = _check_checkpoint(ckpt, last_epoch)
        if problem:
            problems.append(problem)
        if not killing:
            break
    ref, got = _weights(os.path.join(ref_dir, "model.npz")), _weights(os.path.join(out, "model.npz"))
    for name, w in ref.items():
        if got[name].tobytes() != w.tobytes():
            problems.append(f"the resumed model differs from the uninterrupted one in {name}")
    if last_epoch != epochs:
        problems.append(f"the last checkpoint is at epoch {last_epoch}, not {epochs}")
    leftovers = [n for n in os.listdir(out) if n.startswith(".tmp-")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    figures["failures"] = len(problems)
    figures["problems"] = problems
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    return figures


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=30, help="SIGKILLs before the last run is left to finish")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-seconds", type=float, default=0.5, help="shortest time before a kill")
    p.add_argument("--max-seconds", type=float, default=6.0, help="longest time before a kill")
    p.add_argument("--dir", default=None, help="working directory (default: a new temporary one)")
    args = p.parse_args(argv)
    work = args.dir or tempfile.mkdtemp(prefix="rnnkit-soak-")
    figures = soak(args.kills, args.epochs, args.seed, args.min_seconds, args.max_seconds, work)
    print(json.dumps({"command": "python benchmarks/soak.py " + " ".join(argv or sys.argv[1:]), **figures}, indent=2))
    return 1 if figures["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
