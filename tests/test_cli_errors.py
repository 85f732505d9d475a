"""Bad input through the command line: one line ``rnnkit <command>: error: ...`` on stderr,
exit 2, no traceback, nothing written (and nothing saved before lost) -- in-process through
``rnnkit.cli.main`` and, for a handful, through a real ``python -m rnnkit.cli`` subprocess."""

from __future__ import annotations

import json
import os

import pytest

import rnnkit
from test_cli_files import (
    TINY,
    needs,
    run,
    run_json,
    write_pairs,
    write_series,
    write_tagged,
    write_wide_classes,
)


def _one_line(err: str, command: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"rnnkit {command}: error: "), err
    assert "Traceback" not in err
    return err


def _refused(*argv, command="train", code=2) -> str:
    c, out, err = run(*argv)
    assert c == code, (c, err)
    return _one_line(err, command)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_bad")
    write_series(d / "sales.csv")
    write_wide_classes(d / "classes.csv")
    write_tagged(d / "tags.csv")
    write_pairs(d / "pairs.csv")
    return d


@pytest.fixture(scope="module")
def classify_run(files):
    rd = files / "run_classify"
    run_json("train", "--task", "classify", "--data", files / "classes.csv", "--out", rd, *TINY)
    return rd


def _nothing_written(path) -> None:
    assert not os.path.exists(path), sorted(os.listdir(path))


# -- files -----------------------------------------------------------------------------------
@needs("RNNClassifier", "RNNForecaster")
def test_missing_and_unreadable_files(tmp_path, files):
    err = _refused("train", "--task", "classify", "--data", tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert "nope.csv: no such file" in err
    err = _refused("train", "--task", "forecast", "--data", tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert "nope.csv" in err
    err = _refused("train", "--task", "classify", "--data", tmp_path, "--out", tmp_path / "o")
    assert "is a directory" in err
    (tmp_path / "bin.csv").write_bytes(b"label,a\nx,\xff\xfe\x00\n")
    err = _refused("train", "--task", "classify", "--data", tmp_path / "bin.csv", "--out", tmp_path / "o")
    assert "bin.csv" in err
    _refused("predict", tmp_path / "nowhere", command="predict")
    (tmp_path / "notamodel.npz").write_bytes(b"not an archive")
    err = _refused("evaluate", tmp_path / "notamodel.npz", command="evaluate")
    assert "notamodel.npz" in err
    _nothing_written(tmp_path / "o")


@needs("RNNForecaster", "RNNTagger")
def test_wrong_columns_non_numbers_and_ragged_rows(tmp_path, files):
    err = _refused("train", "--task", "forecast", "--data", files / "sales.csv", "--target", "profit",
                   "--out", tmp_path / "o")
    assert "'profit'" in err and "sales" in err
    (tmp_path / "text.csv").write_text("month,sales\n2010-01,1\n2010-02,lots\n")
    err = _refused("train", "--task", "forecast", "--data", tmp_path / "text.csv", "--out", tmp_path / "o")
    assert "line 3" in err and "'lots' is not a number" in err
    (tmp_path / "ragged.csv").write_text("month,sales\n2010-01,1\n2010-02,2,7\n")
    err = _refused("train", "--task", "forecast", "--data", tmp_path / "ragged.csv", "--out", tmp_path / "o")
    assert "line 3" in err and "ragged" in err
    (tmp_path / "ragged_long.csv").write_text("id,x,tag\n1,0.5,a\n1,0.2\n")
    err = _refused("train", "--task", "tag", "--data", tmp_path / "ragged_long.csv", "--out", tmp_path / "o")
    assert "line 3" in err
    _nothing_written(tmp_path / "o")


@needs("RNNForecaster")
def test_a_series_shorter_than_lags_plus_horizon(tmp_path):
    write_series(tmp_path / "short.csv", T=20)
    err = _refused("train", "--task", "forecast", "--data", tmp_path / "short.csv", "--horizon", 6,
                   "--out", tmp_path / "o")
    assert "20 steps" in err and "lags + horizon = 12 + 6 = 18" in err and "14 left to train on" in err
    _nothing_written(tmp_path / "o")


@needs("RNNClassifier", "RNNTagger")
def test_a_single_class_and_a_single_tag(tmp_path):
    (tmp_path / "one.csv").write_text("label,a,b\nx,1,2\nx,3,4\nx,5,6\n")
    err = _refused("train", "--task", "classify", "--data", tmp_path / "one.csv", "--out", tmp_path / "o")
    assert "every sequence has the label 'x'" in err and "two classes" in err
    (tmp_path / "onetag.csv").write_text("id,x,tag\n1,0.5,a\n1,0.7,a\n2,0.1,a\n")
    err = _refused("train", "--task", "tag", "--data", tmp_path / "onetag.csv", "--out", tmp_path / "o")
    assert "every step has the tag 'a'" in err
    _nothing_written(tmp_path / "o")


@needs("RNNClassifier", "RNNSeq2Seq")
def test_labels_never_seen_in_training(tmp_path, files, classify_run):
    (tmp_path / "test.csv").write_text("label,a,b,c\nup,1,2,3\nsideways,1,1,1\n")
    err = _refused("train", "--task", "classify", "--data", files / "classes.csv", "--test", tmp_path / "test.csv",
                   "--out", tmp_path / "o")
    assert "labels never seen in the training data" in err and "sideways" in err
    _nothing_written(tmp_path / "o")
    err = _refused("evaluate", classify_run, "--data", tmp_path / "test.csv", command="evaluate")
    assert "never saw" in err and "sideways" in err
    (tmp_path / "t.csv").write_text("source,target\n5 Marchx 2001,2001-03-05\n")
    err = _refused("train", "--task", "seq2seq", "--data", files / "pairs.csv", "--test", tmp_path / "t.csv",
                   "--out", tmp_path / "o")
    assert "line 2" in err and "never seen" in err and "'x'" in err


@needs("RNNForecaster", "RNNClassifier")
def test_nan_is_reported_with_its_positions_and_imputed_only_when_asked(tmp_path):
    (tmp_path / "gaps.csv").write_text("month,sales\n" + "".join(
        f"{2010 + i // 12}-{i % 12 + 1:02d},{'' if i in (5, 9) else 100 + i}\n" for i in range(60)))
    err = _refused("train", "--task", "forecast", "--data", tmp_path / "gaps.csv", "--horizon", 3,
                   "--out", tmp_path / "o")
    assert "2 missing value(s): line 7 column 'sales', line 11 column 'sales'" in err and "--impute" in err
    _nothing_written(tmp_path / "o")
    s = run_json("train", "--task", "forecast", "--data", tmp_path / "gaps.csv", "--horizon", 3, "--impute",
                 "linear", "--out", tmp_path / "o", *TINY)
    assert rnnkit.load(s["files"]["model"]).impute == "linear"
    (tmp_path / "nan.csv").write_text("label,a,b,c\nx,1,nan,3\ny,1,2,3\nx,4,5,6\ny,?,1,2\n")
    err = _refused("train", "--task", "classify", "--data", tmp_path / "nan.csv", "--out", tmp_path / "p")
    assert "2 missing value(s) (NaN), at sequence 0 step 1 channel 0, sequence 3 step 0 channel 0" in err
    _nothing_written(tmp_path / "p")


@needs("CharLM")
def test_an_empty_text_file_and_an_empty_folder(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    err = _refused("train", "--task", "generate", "--data", tmp_path / "empty.txt", "--out", tmp_path / "o")
    assert "empty.txt: the file is empty" in err
    (tmp_path / "blank.txt").write_text("\n\n   \n")
    err = _refused("train", "--task", "generate", "--data", tmp_path / "blank.txt", "--out", tmp_path / "o")
    assert "blank.txt: the file is empty (only whitespace)" in err
    os.mkdir(tmp_path / "nothing")
    _refused("train", "--task", "generate", "--data", tmp_path / "nothing", "--out", tmp_path / "o")
    _nothing_written(tmp_path / "o")


# -- runs of another task ----------------------------------------------------------------------
@needs("RNNClassifier")
def test_a_model_file_of_another_task(tmp_path, files, classify_run):
    err = _refused("sample", classify_run, command="sample")
    assert "holds a classify run" in err and "--task generate" in err
    cfg = json.loads((classify_run / "config.json").read_text())
    other = tmp_path / "other"
    os.mkdir(other)
    (other / "model.npz").write_bytes((classify_run / "model.npz").read_bytes())
    (other / "config.json").write_text(json.dumps({**cfg, "task": "forecast", "estimator": "RNNForecaster"}))
    err = _refused("predict", other, command="predict")
    assert "RNNClassifier" in err and "--task forecast" in err
    gen = tmp_path / "gen"
    run_json("train", "--task", "parity", "--hidden-size", 3, "--epochs", 1, "--n", 40, "--out", gen, "--no-progress")
    err = _refused("predict", gen, "--data", files / "classes.csv", command="predict")
    assert "built-in task" in err and "fresh data" in err
    err = _refused("sample", gen, command="sample")
    assert "vocabulary" in err


# -- settings ---------------------------------------------------------------------------------
@needs("RNNForecaster", "RNNClassifier")
def test_horizon_zero_and_other_out_of_range_settings(tmp_path, files):
    out = tmp_path / "o"
    assert "horizon must be >= 1, got 0" in _refused("train", "--task", "forecast", "--data", files / "sales.csv",
                                                     "--horizon", 0, "--out", out)
    assert "--holdout must be >= 0" in _refused("train", "--task", "forecast", "--data", files / "sales.csv",
                                                "--holdout", -1, "--out", out)
    assert "--coverage" in _refused("train", "--task", "forecast", "--data", files / "sales.csv", "--coverage", 1.5,
                                    "--out", out)
    assert "--impute must be linear or ffill" in _refused("train", "--task", "forecast", "--data",
                                                          files / "sales.csv", "--impute", "mean", "--out", out)
    assert "dropout" in _refused("train", "--task", "classify", "--data", files / "classes.csv", "--dropout", 2,
                                 "--out", out)
    _nothing_written(out)


@pytest.mark.parametrize("argv, words", [
    (["--hidden-size", 10**9], "hidden_size=1000000000 is beyond the limit"),
    (["--num-layers", 10**6], "num_layers=1000000 is beyond the limit"),
    (["--hidden-size", 8000, "--num-layers", 8], "recurrent weights, more than the limit"),
    (["--batch-size", 10**9], "batch_size=1000000000 is beyond the limit"),
    (["--param", "head_layers=(64, 100000000)"], "head_layers=100000000 is beyond the limit"),
    (["--embedding-dim", 0], "embedding_dim must be >= 1"),
])
@needs("RNNClassifier")
def test_absurd_sizes_are_refused_before_allocating(tmp_path, files, argv, words):
    assert words in _refused("train", "--task", "classify", "--data", files / "classes.csv", *argv,
                             "--out", tmp_path / "o")
    _nothing_written(tmp_path / "o")


@needs("RNNClassifier", "RNNForecaster")
def test_flags_that_do_not_fit_the_task_and_bad_params(tmp_path, files):
    out = tmp_path / "o"
    cls = files / "classes.csv"
    assert "--lags does not apply to --task classify (RNNClassifier has no parameter 'lags')" in _refused(
        "train", "--task", "classify", "--data", cls, "--lags", 3, "--out", out)
    assert "--arch applies to the built-in generated tasks only" in _refused(
        "train", "--task", "classify", "--data", cls, "--arch", "window_mlp", "--out", out)
    assert "--date-column does not apply to --task classify" in _refused(
        "train", "--task", "classify", "--data", cls, "--date-column", "d", "--out", out)
    assert "--test does not apply to --task forecast" in _refused(
        "train", "--task", "forecast", "--data", files / "sales.csv", "--test", cls, "--out", out)
    assert "has no parameter 'pool'" in _refused("train", "--task", "classify", "--data", cls, "--param", "pool=mean",
                                                 "--out", out)
    assert "--param expects NAME=VALUE" in _refused("train", "--task", "classify", "--data", cls, "--param", "x",
                                                    "--out", out)
    assert "must be an integer, got 'lots'" in _refused("train", "--task", "classify", "--data", cls, "--param",
                                                         "hidden_size=lots", "--out", out)
    assert "set twice" in _refused("train", "--task", "classify", "--data", cls, "--hidden-size", 3, "--param",
                                   "hidden_size=4", "--out", out)
    assert "needs --data" in _refused("train", "--task", "classify", "--out", out)
    assert "--task is required" in _refused("train", "--out", out)
    assert "invalid choice" in _refused("train", "--task", "clasify", "--out", out)
    assert "invalid int value" in _refused("train", "--task", "classify", "--hidden-size", "big", "--out", out)
    _nothing_written(out)


def test_arch_and_task_combinations_that_do_not_fit(tmp_path):
    out = tmp_path / "o"
    assert "window_mlp" in _refused("train", "--task", "sentiment_like", "--arch", "window_mlp", "--out", out)
    assert "--data does not apply to the built-in task parity" in _refused(
        "train", "--task", "parity", "--data", "x.csv", "--out", out)
    assert "--lags does not apply to the built-in task parity" in _refused(
        "train", "--task", "parity", "--lags", 3, "--out", out)
    assert "arch" in _refused("train", "--task", "parity", "--arch", "transformer", "--out", out)
    _nothing_written(out)


@needs("RNNClassifier")
def test_use_commands_refuse_bad_options(tmp_path, files, classify_run):
    assert "--horizon must be >= 1, got 0" in _refused("predict", classify_run, "--horizon", 0, command="predict")
    assert "--length must be >= 1" in _refused("sample", classify_run, "--length", 0, command="sample")
    (tmp_path / "d").mkdir()
    assert "is a directory" in _refused("predict", classify_run, "--data", files / "classes.csv", "--out",
                                        tmp_path / "d", command="predict")
    assert "no config.json" in _refused("report", tmp_path / "d", command="report")


# -- failures during training keep what was saved ----------------------------------------------------
def _fail_fit(monkeypatch, exc):
    from rnnkit.estimators import RNNClassifier

    def fit(self, X, y, lengths=None, **kw):
        raise exc

    monkeypatch.setattr(RNNClassifier, "fit", fit)


@needs("RNNClassifier")
def test_memory_error_during_training(tmp_path, files, monkeypatch):
    _fail_fit(monkeypatch, MemoryError())
    err = _refused("train", "--task", "classify", "--data", files / "classes.csv", "--out", tmp_path / "o")
    assert "out of memory" in err and "--hidden-size" in err
    _nothing_written(tmp_path / "o")


@needs("RNNClassifier")
def test_non_finite_training_says_which_step_and_what_to_try(tmp_path, files, monkeypatch):
    from rnnkit.train import NonFiniteError

    _fail_fit(monkeypatch, NonFiniteError("the loss is nan", step=17, epoch=2, name="loss"))
    err = _refused("train", "--task", "classify", "--data", files / "classes.csv", "--lr", 5, "--out", tmp_path / "o")
    assert "training diverged (epoch 2, step 17)" in err and "smaller --lr (it was 5.0)" in err
    _nothing_written(tmp_path / "o")


@needs("RNNClassifier")
def test_ctrl_c_exits_130_and_keeps_the_run_it_replaces(tmp_path, files, monkeypatch):
    rd = tmp_path / "o"
    first = run_json("train", "--task", "classify", "--data", files / "classes.csv", "--out", rd, *TINY)
    before = (rd / "model.npz").read_bytes()
    _fail_fit(monkeypatch, KeyboardInterrupt())
    c, _, err = run("train", "--task", "classify", "--data", files / "classes.csv", "--out", rd, "--overwrite", *TINY)
    assert c == 130 and err.count("\n") == 1 and err.startswith("rnnkit train: interrupted: ")
    assert "no checkpoint was written" in err
    assert (rd / "model.npz").read_bytes() == before                  # the replaced run came back
    assert json.loads((rd / "summary.json").read_text()) == first
    assert not (rd / ".previous-run").exists()


@needs("RNNClassifier")
def test_an_error_in_fit_restores_the_run_it_was_to_replace(tmp_path, files, monkeypatch):
    rd = tmp_path / "o"
    run_json("train", "--task", "classify", "--data", files / "classes.csv", "--out", rd, *TINY)
    names = sorted(os.listdir(rd))
    _fail_fit(monkeypatch, ValueError("X holds a sequence the estimator refuses"))
    err = _refused("train", "--task", "classify", "--data", files / "classes.csv", "--out", rd, "--overwrite")
    assert "refuses" in err
    assert sorted(os.listdir(rd)) == names


def test_bad_backend_is_one_line(monkeypatch):
    monkeypatch.setenv("RNNKIT_BACKEND", "cuda")
    err = _refused("tasks", command="tasks")
    assert "RNNKIT_BACKEND must be one of numpy, numba, got 'cuda'" in err


def test_internal_errors_are_one_line_exit_1(monkeypatch, capsys):
    import rnnkit.cli as cli

    def broken(args):
        raise KeyError("oops")

    monkeypatch.setattr(cli, "_tasks", broken)
    c, _, err = run("tasks")
    assert c == 1 and err.count("\n") == 1 and "internal error: KeyError" in err and "RNNKIT_DEBUG" in err


def test_bench_usage_errors_exit_2():
    c, _, err = run("bench", "--rows", "Z")
    assert c == 2 and _one_line(err, "bench") and "--rows expects" in err
    c, _, err = run("bench", "--repeat", 0)
    assert c == 2 and "--repeat must be >= 1" in err


def test_every_flag_states_its_default():
    import argparse

    from rnnkit.apps.cli_args import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        for a in parser._actions:
            if a.option_strings and not a.required and not isinstance(a, (argparse._HelpAction,
                                                                           argparse._StoreTrueAction)):
                assert "default" in (a.help or ""), (name, a.option_strings)


@needs("RNNForecaster", "RNNClassifier")
def test_help_exits_0(capsys):
    c, out, _ = run("train", "--help")
    text = " ".join(out.split())
    assert c == 0 and "default by task: forecast 32, classify 64" in text and "adding_problem" in text
