"""Bad input and interruptions through a real ``python -m rnnkit.cli`` process: one line on
stderr, exit 2 (130 for Ctrl-C), a closed pipe ends quietly, a second run on a locked
directory is refused, and an interrupted run resumes from its checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from test_cli_files import SRC, needs, subprocess_cli, write_series, write_wide_classes


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_subprocess")
    write_series(d / "sales.csv")
    write_wide_classes(d / "classes.csv")
    return d


def _nothing_written(path) -> None:
    assert not os.path.exists(path), sorted(os.listdir(path))


@needs("RNNClassifier", "RNNForecaster")
def test_subprocess_errors_are_one_line(tmp_path, files):
    for argv, words in [
        (["train", "--task", "classify", "--data", tmp_path / "nope.csv", "--out", tmp_path / "o"], "no such file"),
        (["train", "--task", "forecast", "--data", files / "sales.csv", "--horizon", 0, "--out", tmp_path / "o"],
         "horizon must be >= 1"),
        (["train", "--task", "classify", "--data", files / "classes.csv", "--hidden-size", 10**9, "--out",
          tmp_path / "o"], "beyond the limit"),
        (["bench", "--cells", "TRANSFORMER"], "--cells expects"),
        (["predict", tmp_path], "no model.npz"),
    ]:
        p = subprocess_cli(*argv)
        assert p.returncode == 2, (argv, p.stderr)
        assert p.stderr.count("\n") == 1 and "error: " in p.stderr and words in p.stderr, p.stderr
    _nothing_written(tmp_path / "o")


def test_subprocess_broken_pipe_is_quiet():
    env = dict(os.environ, PYTHONPATH=SRC)
    p = subprocess.run(f"{sys.executable} -m rnnkit.cli tasks | head -1", shell=True, capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.stdout.startswith("tasks on your files") and p.stdout.count("\n") == 1
    assert p.stderr == ""


def test_subprocess_bad_backend_is_one_line():
    p = subprocess_cli("tasks", env={"RNNKIT_BACKEND": "cuda"})
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "RNNKIT_BACKEND" in p.stderr


def _wait_for(path, proc, seconds=120.0) -> None:
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "no checkpoint in time"
        time.sleep(0.05)


def test_subprocess_lock_refuses_a_second_run_and_ctrl_c_keeps_the_checkpoint(tmp_path):
    rd = tmp_path / "add"
    env = dict(os.environ, PYTHONPATH=SRC)
    argv = [sys.executable, "-m", "rnnkit.cli", "train", "--task", "adding_problem", "--hidden-size", "4", "--n", "400",
            "--epochs", "100000", "--out", str(rd), "--no-progress"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_for(rd / "checkpoint.npz", proc)
        second = subprocess_cli("train", "--task", "adding_problem", "--out", rd, "--overwrite")
        assert second.returncode == 2 and second.stderr.count("\n") == 1
        assert "another process" in second.stderr and f"pid {proc.pid}" in second.stderr
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and "interrupted" in err and f"rnnkit train --out {rd} --resume" in err
    from rnnkit.serialization import read_npz
    from rnnkit.train.checkpoint import CHECKPOINT_FORMAT

    k = read_npz(rd / "checkpoint.npz", CHECKPOINT_FORMAT)[0]["epoch"]       # epochs done when stopped
    assert k >= 1 and not (rd / "model.npz").exists()
    p = subprocess_cli("train", "--out", rd, "--resume", "--epochs", k + 1)   # the saved settings, one more epoch
    assert p.returncode == 0, p.stderr
    assert [e["epoch"] for e in json.loads((rd / "history.json").read_text())["epochs"]] == list(range(1, k + 2))
    assert json.loads(p.stdout)["epoch"] == k + 1
