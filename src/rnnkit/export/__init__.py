"""ONNX export without torch: ``to_onnx(model_or_estimator, path)`` and ``check(path, model)``.

Recurrent layers become ONNX's own ``RNN`` / ``GRU`` / ``LSTM`` nodes (one per layer, both
directions in one node), with dynamic time and batch axes and ``sequence_lens`` from an int64
``lengths`` input; ``proj_size`` LSTMs become a ``Scan``; Seq2Seq's greedy decode a ``Loop``.
A fitted estimator is exported with its scaler, target scaling, softmax and labels folded in
(see :class:`ExportSpec`). Needs the optional packages ``onnx`` (to write) and ``onnxruntime`` (for :func:`check`):
``pip install 'rnnkit[export]'``.

Example::

    import numpy as np
    from rnnkit.models import SequenceModel
    from rnnkit.export import to_onnx, check

    model = SequenceModel(3, 16, 2, cell="lstm", bidirectional=True, output="last", rng=0)
    to_onnx(model, "model.onnx")                  # inputs x (B, T, 3), lengths (B,)
    check("model.onnx", model)                    # largest difference from rnnkit, ~1e-7

    import onnxruntime as ort
    sess = ort.InferenceSession("model.onnx")
    y, h_n, c_n = sess.run(None, {"x": np.zeros((1, 20, 3), np.float32), "lengths": np.array([20])})
"""

from rnnkit.export._api import ExportCheckError, check, to_onnx
from rnnkit.export._estimators import ExportSpec
from rnnkit.export._modules import UnsupportedModuleError
from rnnkit.export._run_dir import export_run_dir

__all__ = ["to_onnx", "check", "ExportSpec", "ExportCheckError", "UnsupportedModuleError", "export_run_dir"]
