"""``rnnkit export DIR --onnx FILE``: the function the command line calls."""

from __future__ import annotations

import os

from rnnkit.errors import FileFormatError

__all__ = ["export_run_dir"]


def export_run_dir(run, onnx_path, *, opset: int | None = None, lengths: bool | None = None,
                   part: str | None = None, verify: bool = True) -> dict:
    """Export what a run saved (``DIR/model.npz``, or that file itself) to ``onnx_path``.

    The file may hold a fitted estimator or a model (:func:`rnnkit.load` reads both). With
    ``verify`` the written file is run in onnxruntime against rnnkit (:func:`rnnkit.export.check`).
    Returns ``{"onnx", "source", "inputs", "outputs", "max_error"}`` (``max_error`` None
    without ``verify``), for the command line to print.

    Example::

        info = export_run_dir("runs/vowels", "vowels.onnx")
        print(f"wrote {info['onnx']}: inputs {info['inputs']}, max error {info['max_error']:.2g}")
    """
    from rnnkit.estimators import load
    from rnnkit.export._api import check, to_onnx
    from rnnkit.export._graph import DEFAULT_OPSET

    source = os.fspath(run)
    if os.path.isdir(source):
        source = os.path.join(source, "model.npz")
    if not os.path.isfile(source):
        raise FileFormatError(f"{source}: no such file (expected a run directory holding model.npz, or the file)")
    obj = load(source)
    proto = to_onnx(obj, onnx_path, opset=DEFAULT_OPSET if opset is None else opset, lengths=lengths, part=part)
    err = check(onnx_path, obj) if verify else None
    return {"onnx": os.fspath(onnx_path), "source": source, "inputs": [i.name for i in proto.graph.input],
            "outputs": [o.name for o in proto.graph.output], "max_error": err}
