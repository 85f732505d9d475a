"""The run directory through the command line: reuse rules (--overwrite, --resume, the lock),
what config.json keeps, DIR or DIR/model.npz, files saved from Python, repeatable runs,
--param, the built-in tasks' reports, export."""

from __future__ import annotations

import inspect
import json
import os

import numpy as np
import pytest

import rnnkit
from test_cli_files import TINY, needs, run, run_json, write_series, write_wide_classes


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_runs")
    X, y = write_wide_classes(d / "classes.csv")
    write_series(d / "sales.csv")
    return d, X, y


def _train(path, out, *extra):
    return run_json("train", "--task", "classify", "--data", path, "--out", out, *TINY, *extra)


@needs("RNNClassifier")
def test_another_runs_directory_is_refused_unless_overwrite(data, tmp_path):
    d, X, y = data
    rd = tmp_path / "run"
    first = _train(d / "classes.csv", rd)
    before = {n: (rd / n).read_bytes() for n in os.listdir(rd)}
    c, _, err = run("train", "--task", "classify", "--data", d / "classes.csv", "--out", rd, *TINY)
    assert c == 2 and "already holds a run; pass --overwrite" in err
    assert {n: (rd / n).read_bytes() for n in os.listdir(rd)} == before
    second = _train(d / "classes.csv", rd, "--overwrite", "--seed", 5)
    assert second["files"] == first["files"] and not (rd / ".previous-run").exists()
    assert json.loads((rd / "config.json").read_text())["params"]["random_state"] == 5
    (tmp_path / "afile").write_text("x")
    c, _, err = run("train", "--task", "classify", "--data", d / "classes.csv", "--out", tmp_path / "afile")
    assert c == 2 and "is a file, not a directory" in err


@needs("RNNClassifier")
def test_a_locked_directory_is_refused_at_once(data, tmp_path):
    from rnnkit.io import file_lock

    d, _, _ = data
    rd = tmp_path / "run"
    os.mkdir(rd)
    with file_lock(rd / "train", "a test"):
        c, _, err = run("train", "--task", "classify", "--data", d / "classes.csv", "--out", rd, *TINY)
    assert c == 2 and err.count("\n") == 1 and "another process" in err and "train.lock" in err
    assert sorted(os.listdir(rd)) == ["train.lock"]


@needs("RNNClassifier")
def test_same_seed_same_model_and_the_config_keeps_what_was_asked(data, tmp_path):
    d, X, _ = data
    a = _train(d / "classes.csv", tmp_path / "a", "--param", "pooling=mean", "--param", "head_layers=(6,)")
    b = _train(d / "classes.csv", tmp_path / "b", "--param", "pooling=mean", "--param", "head_layers=(6,)")
    ea, eb = rnnkit.load(a["files"]["model"]), rnnkit.load(b["files"]["model"])
    assert ea.pooling == "mean" and tuple(ea.head_layers) == (6,) and ea.random_state == 0
    np.testing.assert_array_equal(ea.predict_proba(X), eb.predict_proba(X))          # bit for bit
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["data"] == str(d / "classes.csv") and cfg["options"] == {}
    assert cfg["command"].startswith("rnnkit train --task classify --data ")
    assert "verbose" not in cfg["params"] and cfg["params"]["hidden_size"] == 4


@needs("RNNClassifier")
def test_dir_and_dir_model_npz_name_the_same_run(data, tmp_path):
    d, _, _ = data
    rd = tmp_path / "run"
    _train(d / "classes.csv", rd)
    a = run("predict", rd, "--data", d / "classes.csv")
    b = run("predict", rd / "model.npz", "--data", d / "classes.csv")
    assert a[0] == b[0] == 0 and a[1] == b[1]
    assert run_json("evaluate", rd, "--data", d / "classes.csv") == run_json("evaluate", rd / "model.npz",
                                                                              "--data", d / "classes.csv")
    assert run_json("report", rd / "model.npz")["report"] == str(rd / "report.html")


@needs("RNNClassifier")
def test_an_estimator_saved_from_python_works_without_a_config(data, tmp_path):
    from rnnkit.estimators import RNNClassifier

    d, X, y = data
    est = RNNClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    est.save(tmp_path / "mine.npz")
    code, out, err = run("predict", tmp_path / "mine.npz", "--data", d / "classes.csv")
    assert code == 0, err
    assert [row.split(",")[1] for row in out.splitlines()[1:]] == est.predict(X).tolist()
    assert run_json("evaluate", tmp_path / "mine.npz", "--data", d / "classes.csv")["accuracy"] == \
        pytest.approx(est.score(X, y))


@needs("RNNClassifier")
def test_resume_reads_the_saved_settings(data, tmp_path):
    from rnnkit.estimators import RNNClassifier

    d, _, _ = data
    rd = tmp_path / "run"
    _train(d / "classes.csv", rd)
    c, _, err = run("train", "--out", rd, "--resume", "--hidden-size", 9)
    assert c == 2 and "--resume keeps the saved settings" in err and "hidden_size" in err
    c, _, err = run("train", "--out", rd, "--resume", "--data", d / "sales.csv")
    assert c == 2 and "do not pass another one" in err
    takes = inspect.signature(RNNClassifier.fit).parameters
    if "checkpoint" in takes:                                      # the estimator checkpoints every epoch
        assert (rd / "checkpoint.npz").exists()
        s = run_json("train", "--out", rd, "--resume", "--max-epochs", 3)   # no other flag repeated
        assert s["epochs"] == 3 and [e["epoch"] for e in json.loads((rd / "history.json").read_text())["epochs"]] \
            == [1, 2, 3]
    else:
        c, _, err = run("train", "--out", rd, "--resume", "--max-epochs", 3)
        assert c == 2 and "RNNClassifier.fit takes no checkpoint" in err and "--overwrite" in err


def test_builtin_task_runs_have_the_report_and_gradient_flow(tmp_path):
    rd = tmp_path / "add"
    s = run_json("train", "--task", "adding_problem", "--cell", "rnn", "--hidden-size", 6, "--epochs", 2, "--n", 100,
                 "--out", rd, "--no-progress", "--report", "--param", "clip=0.5")
    assert s["task"] == "adding_problem" and os.path.isfile(s["files"]["report"])
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["kind"] == "generated" and cfg["settings"]["clip"] == 0.5 and cfg["settings"]["epochs"] == 2
    ev = json.loads((rd / "evaluation.json").read_text())
    (norms,) = ev["gradient_flow"].values()
    T = rnnkit.datasets.adding_problem(n=1).X.shape[0]
    assert len(norms) == T and norms[0] < norms[-1]            # the tanh RNN's gradient fades backwards
    res = run_json("evaluate", rd, "--n", 50)
    assert res["fresh_data"] == {"n": 50, "seed": 12345} and res["rmse"] == pytest.approx(np.sqrt(res["loss"]))
    c, _, err = run("train", "--task", "adding_problem", "--out", rd, "--param", "nosuch=1")
    assert c == 2 and "no setting 'nosuch'" in err


def test_old_run_directories_still_predict(tmp_path):
    """rnnkit 0.1 wrote config.json as the bare TrainConfig and no summary."""
    rd = tmp_path / "old"
    run_json("train", "--task", "parity", "--hidden-size", 3, "--epochs", 1, "--n", 40, "--out", rd, "--no-progress")
    cfg = json.loads((rd / "config.json").read_text())["settings"]
    (rd / "config.json").write_text(json.dumps(cfg))
    assert "accuracy" in run_json("predict", rd, "--n", 20)


@needs("RNNClassifier")
def test_export_writes_a_verified_onnx_file(data, tmp_path):
    pytest.importorskip("onnx", reason="export needs onnx")
    pytest.importorskip("onnxruntime", reason="the export check needs onnxruntime")
    d, _, _ = data
    rd = tmp_path / "run"
    _train(d / "classes.csv", rd)
    info = run_json("export", rd, "--onnx", tmp_path / "m.onnx")
    assert os.path.getsize(tmp_path / "m.onnx") > 1000 and info["max_error"] < 1e-4
    assert info["inputs"][0] == "X"


@needs("RNNClassifier")
def test_max_time_stops_at_the_best_epoch_so_far(data, tmp_path):
    d, _, _ = data
    s = _train(d / "classes.csv", tmp_path / "run", "--max-epochs", 100000, "--max-time", 0.5, "--patience", 100000)
    assert s["stopped_by"] == "max_time" and s["epochs"] < 100000
    est = rnnkit.load(s["files"]["model"])
    assert est.max_time == 0.5 and 1 <= est.best_epoch_ <= s["epochs"]
