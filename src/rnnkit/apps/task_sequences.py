"""``--task classify | regress | tag``: labelled sequences from a file into RNNClassifier,
RNNRegressor or RNNTagger.

The report's evaluation is on ``--test FILE`` when given, else on the estimator's own
validation part (the examples it held out for early stopping; with ``refit=True`` it was
trained on them too, and the report says so). Baselines are computed on the same examples:
the most frequent class (tag) of them, or their mean for regression (R^2 = 0).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Labelled", "load_classify", "load_regress", "load_tag", "fit", "probe", "held_out_classify",
           "held_out_regress", "held_out_tag", "evaluate_classify", "evaluate_regress", "evaluate_tag",
           "predict_classify", "predict_regress", "predict_tag", "check_test_labels", "confusion"]

_PROBE_BATCH = 32


@dataclass(frozen=True)
class Labelled:
    """Sequences (``(T_i, C)`` arrays, or strings for Python source) and their labels."""

    X: list
    y: object            # (N,) labels, (N,) float targets, a list of per-step label arrays, or None
    path: str
    name: str
    text: bool = False   # X holds strings (one token per character)


def _missing(X, path: str, impute: str | None) -> list:
    """``X`` with NaN filled (``impute``), or a ValueError naming the first positions."""
    bad = [(i, int(t), int(c)) for i, x in enumerate(X) for t, c in np.argwhere(np.isnan(x))[:5]][:5]
    if not bad:
        return X
    if impute is None:
        total = sum(int(np.isnan(x).sum()) for x in X)
        where = ", ".join(f"sequence {i} step {t} channel {c}" for i, t, c in bad)
        raise ValueError(f"{path}: {total} missing value(s) (NaN), at {where} (counting from 0); pass --impute "
                         "linear or --impute ffill to fill them")
    from rnnkit.estimators._forecast_input import impute_missing

    out = []
    for i, x in enumerate(X):
        if np.isnan(x).any():
            if np.isnan(x).all(axis=0).any():
                c = int(np.flatnonzero(np.isnan(x).all(axis=0))[0])
                raise ValueError(f"{path}: sequence {i} has no value at all in channel {c}: nothing to impute from")
            x = impute_missing(x, impute)
        out.append(x)
    return out


def _labelled(d, opts, role: str, what: str) -> Labelled:
    if role != "predict" and d.y is None:
        raise ValueError(f"{d.path}: no labels ({what}); name the label column with --target")
    return Labelled(X=_missing(d.X, d.path, opts.impute), y=d.y, path=d.path, name=d.name)


def _archive_name(path) -> str | None:
    """``path`` when it is no file but looks like an archive problem's name (``JapaneseVowels``)."""
    p = os.fspath(path)
    if os.path.exists(p) or os.sep in p or "." in os.path.basename(p) or not p:
        return None
    return p


def _read_sequences(path, opts, role: str, task: str):
    """A file through ``load_sequences``, or an installed archive problem by name: its TRAIN
    split for ``--data``, its TEST split for ``--test`` and for predict/evaluate."""
    from rnnkit.datasets import load_archive, load_sequences

    name = _archive_name(path)
    if name is not None:
        if any(v is not None for v in (opts.target, opts.id_column, opts.time_column)):
            raise ValueError(f"--data {name}: an archive problem names its labels itself; --target, --id-column and "
                             "--time-column are for CSV files")
        try:
            d = load_archive(name, "train" if role == "train" else "test",
                             kind="regression" if task == "regression" else None)
        except ValueError as err:
            raise ValueError(f"{name}: no such file, and not an installed archive problem ({err})") from None
        if role != "predict" and d.task != task:
            raise ValueError(f"{name}: the archive problem holds {d.task or 'no labels'}, not {task}")
        return d
    return load_sequences(path, target=opts.target, task=None if role == "predict" else task,
                          id_column=opts.id_column, time_column=opts.time_column)


def load_classify(path, opts, role: str) -> Labelled:
    d = _read_sequences(path, opts, role, "classification")
    data = _labelled(d, opts, role, "class labels")
    if role == "train" and len(d.class_labels) < 2:
        raise ValueError(f"{d.path}: every sequence has the label {d.class_labels[0]!r}: a classifier needs at "
                         "least two classes")
    return data


def load_regress(path, opts, role: str) -> Labelled:
    d = _read_sequences(path, opts, role, "regression")
    return _labelled(d, opts, role, "regression targets")


def _python_tags(path) -> Labelled:
    from rnnkit.datasets import python_token_tags
    from rnnkit.datasets._files import MAX_ELEMENTS

    tt = python_token_tags(n_chars=MAX_ELEMENTS, paths=[path])
    names = np.array(tt.tag_names)
    return Labelled(X=list(tt.sequences), y=[names[t] for t in tt.tags], path=os.fspath(path),
                    name=os.path.basename(os.path.normpath(path)), text=True)


def load_tag(path, opts, role: str) -> Labelled:
    from rnnkit.datasets import load_tagged

    p = os.fspath(path)
    if os.path.isdir(p) or p.endswith(".py"):
        return _python_tags(p)
    d = load_tagged(p, target=opts.target, id_column=opts.id_column, time_column=opts.time_column)
    data = _labelled(d, opts, role, "per-step tags")
    if role == "train" and len(d.class_labels) < 2:
        raise ValueError(f"{d.path}: every step has the tag {d.class_labels[0]!r}: a tagger needs at least two")
    return data


def _flat(y) -> np.ndarray:
    return np.concatenate([np.asarray(t) for t in y]) if isinstance(y, list) else np.asarray(y)


def check_test_labels(train: Labelled, test: Labelled) -> None:
    """Refuse labels of ``test`` that the training file never has (before any training)."""
    known = set(_flat(train.y).tolist())
    unseen = sorted({str(v) for v in _flat(test.y).tolist() if v not in known})
    if unseen:
        raise ValueError(f"{test.path}: labels never seen in the training data {train.path}: {unseen[:10]} "
                         f"(known: {sorted(map(str, known))[:20]})")


def _check_known(est, data: Labelled) -> None:
    known = set(est.classes_.tolist())
    unseen = sorted({str(v) for v in _flat(data.y).tolist() if v not in known})
    if unseen:
        raise ValueError(f"{data.path}: labels the model never saw in training: {unseen[:10]} "
                         f"(it knows {sorted(map(str, known))[:20]})")


def fit(est, data: Labelled, opts, fit_kw: dict) -> None:
    est.fit(data.X, data.y, **fit_kw)


def probe(est, data: Labelled, opts) -> None:
    est.predict(data.X[:min(len(data.X), getattr(est, "batch_size", _PROBE_BATCH))])


def _validation_part(est, data: Labelled, stratified: bool) -> np.ndarray:
    """Indices of the examples ``est.fit`` held out for validation (``validation_indices_`` when
    the estimator records them, else the same split drawn again from its seed)."""
    idx = getattr(est, "validation_indices_", None)
    if idx is not None:
        return np.asarray(idx, np.int64)
    from rnnkit.estimators._labels import as_label_array, encode_labels
    from rnnkit.estimators._rnn_base import seeds_from
    from rnnkit.estimators._split import random_split, stratified_split

    rng = np.random.default_rng(seeds_from(est.random_state, 3)[2])
    if stratified:
        ids = encode_labels(as_label_array(data.y), est.classes_)
        return stratified_split(ids, est.validation_fraction, rng)[1]
    return random_split(len(data.X), est.validation_fraction, rng)[1]


def _part(est, data: Labelled, test: Labelled | None, stratified: bool):
    """``(X, y, description)`` of the examples the report evaluates on."""
    if test is not None:
        return test.X, test.y, f"--test {test.path} ({len(test.X)} sequences)"
    idx = _validation_part(est, data, stratified)
    if idx.size == 0:
        return data.X, data.y, f"the training data ({len(data.X)} sequences: there is no validation part)"
    y = [data.y[i] for i in idx] if isinstance(data.y, list) else np.asarray(data.y)[idx]
    note = "; refit=True also trained on them" if getattr(est, "refit", False) else ", not trained on"
    return [data.X[i] for i in idx], y, f"the validation part ({idx.size} of {len(data.X)} sequences{note})"


def confusion(true, pred, classes) -> np.ndarray:
    """Counts ``(K, K)``: row = true label, column = predicted, in ``classes`` order."""
    index = {c: k for k, c in enumerate(np.asarray(classes).tolist())}
    t = np.array([index[v] for v in np.asarray(true).tolist()], np.int64)
    p = np.array([index[v] for v in np.asarray(pred).tolist()], np.int64)
    K = len(index)
    return np.bincount(t * K + p, minlength=K * K).reshape(K, K)


def _majority_accuracy(true) -> float:
    _, counts = np.unique(np.asarray(true), return_counts=True)
    return float(counts.max() / counts.sum())


def _labels_report(est, true, pred, on: str, unit: str) -> dict:
    classes = est.classes_
    acc = float(np.mean(np.asarray(true) == np.asarray(pred)))
    base = _majority_accuracy(true)
    entry = {"kind": "confusion", "classes": [str(c) for c in classes.tolist()],
             "matrix": confusion(true, pred, classes).tolist(), "accuracy": acc, "on": on}
    metrics = {"accuracy": acc, f"majority_{unit}_accuracy": base, "n": int(np.asarray(true).size)}
    return {"on": on, "metrics": metrics, "entries": [entry]}


def held_out_classify(est, data, test, opts) -> dict:
    X, y, on = _part(est, data, test, stratified=True)
    return _labels_report(est, np.asarray(y), est.predict(X), on, "class")


def held_out_tag(est, data, test, opts) -> dict:
    X, y, on = _part(est, data, test, stratified=False)
    return _labels_report(est, _flat(y), _flat(est.predict(X)), on, "tag")


def _regression_metrics(true, pred) -> dict:
    t, p = np.asarray(true, np.float64).ravel(), np.asarray(pred, np.float64).ravel()
    err = p - t
    ss_tot = float(((t - t.mean()) ** 2).sum())
    r2 = 1.0 - float((err ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))), "r2": r2,
            "mean_baseline_rmse": float(t.std()), "n": int(t.size)}


def held_out_regress(est, data, test, opts) -> dict:
    X, y, on = _part(est, data, test, stratified=False)
    pred = est.predict(X)
    entry = {"kind": "scatter", "truth": np.asarray(y, np.float64).ravel().tolist(),
             "pred": np.asarray(pred, np.float64).ravel().tolist(), "title": f"on {on}"}
    return {"on": on, "metrics": _regression_metrics(y, pred), "entries": [entry]}


def _need_labels(data: Labelled) -> None:
    if data.y is None:
        raise ValueError(f"{data.path}: no labels to evaluate against (name the label column with --target)")


def evaluate_classify(est, data, opts, args) -> dict:
    _need_labels(data)
    _check_known(est, data)
    rep = _labels_report(est, np.asarray(data.y), est.predict(data.X), data.path, "class")
    entry = rep["entries"][0]
    return {"task": "classify", "data": data.path, **rep["metrics"],
            "confusion_matrix": {"classes": entry["classes"], "matrix": entry["matrix"]}}


def evaluate_tag(est, data, opts, args) -> dict:
    _need_labels(data)
    _check_known(est, data)
    rep = _labels_report(est, _flat(data.y), _flat(est.predict(data.X)), data.path, "tag")
    entry = rep["entries"][0]
    return {"task": "tag", "data": data.path, **rep["metrics"],
            "confusion_matrix": {"classes": entry["classes"], "matrix": entry["matrix"]}}


def evaluate_regress(est, data, opts, args) -> dict:
    _need_labels(data)
    return {"task": "regress", "data": data.path, **_regression_metrics(data.y, est.predict(data.X))}


def predict_classify(est, data, opts, args):
    proba = est.predict_proba(data.X)                                    # (N, K)
    classes = [str(c) for c in est.classes_.tolist()]
    best = proba.argmax(axis=1)
    rows = [[i, classes[k], float(p[k]), *map(float, p)] for i, (k, p) in enumerate(zip(best, proba))]
    return ["sequence", "label", "probability", *(f"p_{c}" for c in classes)], rows


def predict_regress(est, data, opts, args):
    pred = np.asarray(est.predict(data.X), np.float64).reshape(len(data.X), -1)
    cols = ["prediction"] if pred.shape[1] == 1 else [f"prediction_{k}" for k in range(pred.shape[1])]
    return ["sequence", *cols], [[i, *map(float, row)] for i, row in enumerate(pred)]


def predict_tag(est, data, opts, args):
    rows = []
    for i, tags in enumerate(est.predict(data.X)):
        for t, tag in enumerate(tags.tolist()):
            rows.append([i, t, data.X[i][t], str(tag)] if data.text else [i, t, str(tag)])
    return (["sequence", "step", "char", "tag"] if data.text else ["sequence", "step", "tag"]), rows
