"""``to_onnx`` (write the file) and ``check`` (run it in onnxruntime against rnnkit)."""

from __future__ import annotations

import os

import numpy as np

from rnnkit.export._graph import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, Graph
from rnnkit.export._signatures import signature_for
from rnnkit.io import write_bytes_atomic
from rnnkit.nn.module import Module

__all__ = ["to_onnx", "check", "ExportCheckError"]

_META_PART = "rnnkit.part"


class ExportCheckError(ValueError):
    """The exported file does not compute what rnnkit computes (to the tolerance)."""


def _signature(obj, lengths, initial_state, part):
    from rnnkit.estimators._base import BaseEstimator

    if isinstance(obj, BaseEstimator):
        from rnnkit.export._estimators import EstimatorSignature

        return EstimatorSignature(obj, lengths, initial_state, part)
    if not isinstance(obj, Module):
        raise TypeError(f"model_or_estimator must be an rnnkit module or a fitted rnnkit estimator, "
                        f"got {type(obj).__name__}")
    return signature_for(obj, lengths, initial_state, part)


def to_onnx(model_or_estimator, path, *, opset: int = DEFAULT_OPSET, lengths: bool | None = None,
            initial_state: bool = False, part: str | None = None):
    """Write ``model_or_estimator`` as an ONNX file at ``path``; returns the ``onnx.ModelProto``.

    Args:
        model_or_estimator: an rnnkit module (a layer, cell, Sequential, SequenceModel, CharRNN,
            Seq2Seq, ...) or a fitted estimator; exported in eval mode, weights as float32.
        path: the file to write (atomically).
        opset: ONNX opset, 14 to 21 (default 17).
        lengths: add the int64 input ``lengths (B,)`` (each sequence's real steps; padded steps
            give zeros, final states are each sequence's last real step). Default: yes for
            everything that takes lengths; ``False`` for a graph of full-length batches only.
        initial_state: add the initial-state inputs ``h0`` (and ``c0``) (recurrent layers and
            SequenceModel; cells always have them).
        part: for a Seq2Seq, ``'forward'`` (default: teacher forcing), ``'encoder'``,
            ``'decoder'`` or ``'greedy'`` (the whole greedy decode as a Loop).

    The time and batch axes are dynamic. Input and output names and shapes are in
    :mod:`rnnkit.export` 's docstring and in the file's ``doc_string``. A part with no ONNX
    form raises ``TypeError`` naming it (its path in the model and its class).

    Example::

        model = SequenceModel(3, 16, 2, cell="gru", output="last", rng=0)
        to_onnx(model, "model.onnx")                 # inputs x (B, T, 3), lengths (B,); outputs y, h_n
        check("model.onnx", model)                   # max error vs rnnkit, raises above 1e-5
    """
    import onnx

    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be an integer in [{MIN_OPSET}, {MAX_OPSET}], got {opset!r}")
    if lengths is not None and not isinstance(lengths, bool):
        raise TypeError(f"lengths must be None or a bool, got {lengths!r}")
    if not isinstance(initial_state, bool):
        raise TypeError(f"initial_state must be a bool, got {initial_state!r}")
    sig = _signature(model_or_estimator, lengths, initial_state, part)
    g = Graph(opset, name=type(model_or_estimator).__name__)
    sig.build(g)
    model = g.model(doc=_describe(g, model_or_estimator))
    meta = {"rnnkit.class": type(model_or_estimator).__name__, _META_PART: sig.part or ""}
    from rnnkit import __version__

    meta["rnnkit.version"] = __version__
    onnx.helper.set_model_props(model, meta)
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    onnx.checker.check_model(model, full_check=True)
    write_bytes_atomic(os.fspath(path), model.SerializeToString())
    return model


def _describe(g, obj) -> str:
    def one(v):
        t = v.type.tensor_type
        dims = [d.dim_param or str(d.dim_value) for d in t.shape.dim] if t.HasField("shape") else ["?"]
        return f"{v.name} ({', '.join(dims)})"

    return (f"rnnkit {type(obj).__name__}: inputs " + ", ".join(one(v) for v in g.inputs)
            + "; outputs " + ", ".join(v.name for v in g.outputs))


def _props(model) -> dict:
    return {p.key: p.value for p in model.metadata_props}


def check(path, model, inputs=None, *, tol: float = 1e-5, seed: int = 0) -> float:
    """Run the ONNX file at ``path`` in onnxruntime and ``model`` in rnnkit on the same inputs.

    ``inputs``: a dict ``{input name: array}`` (or a list of such dicts); by default a batch
    of one full sequence and padded batches of three and four with random lengths (when the
    file takes lengths), random values from ``seed``. Returns the largest absolute difference
    over every output; raises :class:`ExportCheckError` naming the output when some element
    differs by more than ``tol * (1 + |rnnkit's value|)``, or when integer outputs (token ids)
    differ at all.

    Example::

        err = check("model.onnx", model)        # e.g. 2.4e-07
    """
    import onnx
    import onnxruntime

    path = os.fspath(path)
    proto = onnx.load(path)
    names = {i.name for i in proto.graph.input}
    part = _props(proto).get(_META_PART) or None
    sig = _signature(model, "lengths" in names, any(n in names for n in ("h0", "hx")), part)
    sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    if inputs is None:
        rng = np.random.default_rng(seed)
        feed_sets = [sig.feeds(rng, 1, 5, True), sig.feeds(rng, 3, 7, False), sig.feeds(rng, 4, 6, False)]
    else:
        feed_sets = [inputs] if isinstance(inputs, dict) else list(inputs)
    outputs = [o.name for o in sess.get_outputs()]
    worst = 0.0
    for feeds in feed_sets:
        missing = sorted(names - set(feeds))
        if missing:
            raise ValueError(f"inputs lack {missing} (the file {path} takes {sorted(names)})")
        got = sess.run(outputs, {k: v for k, v in feeds.items() if k in names})
        ref = sig.reference(feeds)
        for name, a in zip(outputs, got):
            b = np.asarray(ref[name])
            if a.shape != b.shape:
                raise ExportCheckError(f"{path}: output {name!r} has shape {a.shape}, rnnkit gives {b.shape}")
            if b.dtype.kind not in "f":                       # token ids, labels: exactly equal
                bad = int((a.astype(str) != b.astype(str)).sum()) if b.dtype.kind in "OUS" else int((a != b).sum())
                if bad:
                    raise ExportCheckError(f"{path}: output {name!r} differs from rnnkit in {bad} of {b.size} entries")
                continue
            diff = np.abs(a.astype(np.float64) - b)
            err = float(diff.max()) if diff.size else 0.0
            if not np.all(diff <= tol * (1 + np.abs(b))):
                raise ExportCheckError(f"{path}: output {name!r} differs from rnnkit by up to {err:.3g} "
                                       f"(tolerance {tol:g}, batch of {b.shape[0] if b.ndim else 1})")
            worst = max(worst, err)
    return worst
