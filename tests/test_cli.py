"""The command line: train -> predict -> sample round trips, resume, errors, the demo."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.serialization import load_model


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_then_predict_adding_problem(tmp_path, capsys):
    out = tmp_path / "add"
    code, stdout, _ = _run(capsys, "train", "--task", "adding_problem", "--cell", "gru", "--hidden-size", "8",
                           "--epochs", "2", "--n", "200", "--out", str(out), "--no-progress")
    assert code == 0
    final = json.loads(stdout)
    assert np.isfinite(final["loss"]) and np.isfinite(final["val_loss"])
    for name in ("model.npz", "checkpoint.npz", "history.json", "config.json"):
        assert (out / name).exists(), name
    hist = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in hist["epochs"]] == [1, 2]
    code, stdout, _ = _run(capsys, "predict", str(out / "model.npz"), "--n", "50")
    assert code == 0
    res = json.loads(stdout)
    assert set(res) >= {"loss", "rmse"}
    assert res["rmse"] == pytest.approx(np.sqrt(res["loss"]), rel=1e-5)   # MSE loss vs RMSE metric


def test_resume_continues_to_more_epochs(tmp_path, capsys):
    out = tmp_path / "par"
    args = ["train", "--task", "parity", "--cell", "rnn", "--hidden-size", "6", "--n", "100", "--out", str(out),
            "--no-progress"]
    assert _run(capsys, *args, "--epochs", "1")[0] == 0
    assert _run(capsys, *args, "--epochs", "3", "--resume")[0] == 0
    hist = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in hist["epochs"]] == [1, 2, 3]


def test_sequence_labelling_uses_per_step_head(tmp_path, capsys):
    out = tmp_path / "lab"
    code, stdout, _ = _run(capsys, "train", "--task", "sequence_labelling", "--cell", "lstm", "--hidden-size", "8",
                           "--epochs", "1", "--n", "64", "--out", str(out), "--no-progress")
    assert code == 0
    model = load_model(str(out / "model.npz"))
    assert model.output == "sequence"
    assert 0.0 <= json.loads(stdout)["accuracy"] <= 1.0


def test_text_train_and_sample(tmp_path, capsys):
    out = tmp_path / "txt"
    code, _, _ = _run(capsys, "train", "--task", "stdlib_text", "--hidden-size", "16", "--num-layers", "1",
                      "--epochs", "1", "--text-chars", "3000", "--tbptt-k", "16", "--batch-size", "4",
                      "--out", str(out), "--no-progress")
    assert code == 0
    code, stdout, _ = _run(capsys, "sample", str(out / "model.npz"), "--prime", "def ", "--length", "40")
    assert code == 0
    text = stdout.rstrip("\n")
    assert text.startswith("def ") and len(text) == 44
    code, stdout, _ = _run(capsys, "predict", str(out / "model.npz"), "--n", "2000")
    assert code == 0 and json.loads(stdout)["bpc"] > 0


def test_errors_exit_2_with_message(tmp_path, capsys):
    code, _, err = _run(capsys, "train", "--task", "parity", "--hidden-size", "0", "--out", str(tmp_path / "x"))
    assert code == 2 and "hidden_size" in err
    code, _, err = _run(capsys, "train", "--task", "parity", "--resume", "--out", str(tmp_path / "nothing"))
    assert code == 2 and "checkpoint" in err
    code, _, err = _run(capsys, "predict", str(tmp_path / "missing.npz"))
    assert code == 2
    code, _, err = _run(capsys, "train", "--task", "no_such_task", "--out", str(tmp_path))   # usage: one line, 2
    assert code == 2 and err.startswith("rnnkit train: error: argument --task: invalid choice") and err.count("\n") == 1


def test_sample_rejects_non_text_model(tmp_path, capsys):
    out = tmp_path / "add"
    assert _run(capsys, "train", "--task", "adding_problem", "--hidden-size", "4", "--epochs", "1", "--n", "50",
                "--out", str(out), "--no-progress")[0] == 0
    code, _, err = _run(capsys, "sample", str(out / "model.npz"))
    assert code == 2 and "vocabulary" in err


def test_tasks_lists_every_dataset(capsys):
    from rnnkit import datasets
    code, out, _ = _run(capsys, "tasks")
    assert code == 0
    for name in datasets.available():
        assert name in out


def test_demo_quick_writes_report(tmp_path, capsys):
    code, out, _ = _run(capsys, "demo", "--quick", "--out", str(tmp_path))
    assert code == 0
    rep = json.loads((tmp_path / "demo.json").read_text())
    assert os.path.getsize(tmp_path / "gradient_flow.png") > 1000
    # the gated cells keep far more gradient over 30 steps than the sigmoid RNN
    ratio = rep["gradient_ratio"]
    assert ratio["LSTM"] > 1e3 * ratio["RNN sigmoid"]
    assert {r["cell"] for r in rep["adding_problem"]} == {"RNN", "LSTM", "GRU"}
    if rep["torch_max_abs_diff"] is not None:
        assert max(rep["torch_max_abs_diff"].values()) < 1e-4


def test_window_mlp_baseline_on_sine_wave(tmp_path, capsys):
    out = tmp_path / "mlp"
    code, stdout, _ = _run(capsys, "train", "--task", "sine_wave", "--arch", "window_mlp", "--hidden-size", "16",
                           "--epochs", "2", "--n", "200", "--out", str(out), "--no-progress")
    assert code == 0
    assert type(load_model(str(out / "model.npz"))).__name__ == "WindowMLP"
    code, stdout, _ = _run(capsys, "predict", str(out / "model.npz"), "--n", "100")
    assert code == 0 and json.loads(stdout)["rmse"] > 0
    code, _, err = _run(capsys, "train", "--task", "sentiment_like", "--arch", "window_mlp",
                        "--out", str(tmp_path / "bad"))
    assert code == 2 and "window_mlp" in err
