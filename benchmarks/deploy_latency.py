"""Deployment latency: one prediction for one short sequence, through rnnkit and through the ONNX file.

    PYTHONPATH=src python3 benchmarks/deploy_latency.py [--reps 300] [--threads 1]

For each network (a classifier and a forecaster of typical small sizes) it exports the ONNX file
(rnnkit.export.to_onnx), checks it against rnnkit, then times one call at batch 1:

- rnnkit: ``model(x, lengths=...)`` in eval mode under ``no_grad`` (what ``predict`` runs per batch);
- onnxruntime: ``session.run`` on the exported file (CPU provider, ``--threads`` intra-op threads).

Warm-up first; the median and the minimum of ``--reps`` calls are printed in milliseconds. The
machines here are shared: the figures are noisy (take the minimum as the steadier one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from rnnkit import no_grad
from rnnkit.export import check, to_onnx
from rnnkit.models import SequenceModel


def _times(fn, reps: int) -> tuple[float, float]:
    for _ in range(max(10, reps // 10)):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out) * 1e3, min(out) * 1e3


CASES = [
    # name, SequenceModel(input_size, hidden, outputs, **kw), T
    ("classifier: GRU H=64 bidirectional, last state, 12 ch, T=30, 5 classes",
     (12, 64, 5), dict(cell="gru", bidirectional=True, output="last"), 30),
    ("forecaster: LSTM H=32, 1 ch, window T=24, 1 step", (1, 32, 1), dict(cell="lstm", output="last"), 24),
    ("tagger: LSTM H=64 bidirectional, 2 layers, 8 ch, T=40, 4 tags",
     (8, 64, 4), dict(cell="lstm", num_layers=2, bidirectional=True, output="sequence"), 40),
]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (default 1)")
    args = ap.parse_args(argv)
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    rng = np.random.default_rng(0)
    print(f"{'network':72s} {'rnnkit ms (median / min)':>26s} {'onnxruntime ms (median / min)':>31s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, sizes, kw, T in CASES:
            model = SequenceModel(*sizes, rng=0, **kw).eval()
            path = os.path.join(tmp, "model.onnx")
            to_onnx(model, path)
            check(path, model)
            sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            x = rng.standard_normal((1, T, sizes[0])).astype(np.float32)
            lens = np.array([T], np.int64)
            feeds = {"x": x, "lengths": lens}

            def run_rnnkit(model=model, x=x, lens=lens):
                with no_grad():
                    return model(x, lengths=lens)

            def run_ort(sess=sess, feeds=feeds):
                return sess.run(["y"], feeds)

            rk = _times(run_rnnkit, args.reps)
            ox = _times(run_ort, args.reps)
            print(f"{name:72s} {rk[0]:12.3f} / {rk[1]:7.3f}     {ox[0]:14.3f} / {ox[1]:7.3f}")


if __name__ == "__main__":
    main()
