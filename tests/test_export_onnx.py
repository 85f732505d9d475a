"""rnnkit.export.to_onnx: the files pass onnx.checker (full check) and run in onnxruntime to
within 1e-5 of rnnkit (whose forward is itself tested against PyTorch), on random inputs and
on the real variable-length JapaneseVowels sequences; batch 1 and larger, with and without
lengths and initial states."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the 'onnx' package is not installed (pip install 'rnnkit[export]')")
ort = pytest.importorskip("onnxruntime", reason="the 'onnxruntime' package is not installed")

from rnnkit import nn  # noqa: E402
from rnnkit._grad_mode import inference_mode  # noqa: E402
from rnnkit.export import ExportCheckError, UnsupportedModuleError, check, to_onnx  # noqa: E402
from rnnkit.models import CharRNN, Seq2Seq, SequenceModel  # noqa: E402

TOL = 1e-5


def run_onnx(path, feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def assert_within(name, got, want, config):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{config}: {name} shape {got.shape} != rnnkit {want.shape}"
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    assert err <= TOL, f"{config}: {name} differs from rnnkit by {err:.3g}"


def export(model, tmp_path, **kw):
    path = tmp_path / "model.onnx"
    proto = to_onnx(model, path, **kw)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path, proto


def lengths_for(rng, B, T):
    lens = rng.integers(1, T + 1, size=B)
    lens[0] = T
    return lens.astype(np.int64)


# -- recurrent layers: a representative grid ------------------------------------------------
# (kind, kwargs): every cell kind and activation, both GRU forms, projection, layers, directions,
# batch_first and the four merge modes, each at least once and most in combination.
GRID = [
    ("RNN", dict()),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True)),
    ("RNN", dict(nonlinearity="sigmoid", bidirectional=True, merge_mode="sum", batch_first=True)),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(reset_after=False)),
    ("GRU", dict(reset_after=False, num_layers=2, bidirectional=True, merge_mode="ave")),
    ("GRU", dict(bidirectional=True, merge_mode="mul", bias=False)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=3, bidirectional=True, merge_mode="concat", dropout=0.3)),
    ("LSTM", dict(bidirectional=True, merge_mode="mul", batch_first=True, num_layers=2)),
    ("LSTM", dict(proj_size=3)),
    ("LSTM", dict(proj_size=3, num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(proj_size=2, bidirectional=True, merge_mode="ave", bias=False)),
]


@pytest.mark.parametrize("kind,kw", GRID, ids=[f"{k}-{'-'.join(f'{a}={b}' for a, b in kw.items())}" for k, kw in GRID])
def test_recurrent_layer_matches_rnnkit(tmp_path, rng, kind, kw):
    layer = getattr(nn, kind)(4, 6, rng=rng, **kw)
    layer.train()                                  # the exporter must use eval mode (dropout off) anyway
    path, _ = export(layer, tmp_path, initial_state=True)
    P = layer.output_size
    LD = layer.num_layers * layer.num_directions
    for B, T, with_lengths, with_state in ((1, 1, False, False), (1, 6, True, True), (5, 7, True, False),
                                           (4, 5, True, True), (3, 4, False, True), (3, 6, "short", False)):
        x = rng.standard_normal((B, T, 4) if layer.batch_first else (T, B, 4)).astype(np.float32)
        lens = lengths_for(rng, B, T) if with_lengths else np.full(B, T, np.int64)
        if with_lengths == "short":                # every sequence shorter than the padded batch, B=1 among them
            lens = rng.integers(1, T, size=B).astype(np.int64)
        scale = np.float32(0.5 if with_state else 0.0)
        h0 = (rng.standard_normal((LD, B, P)) * scale).astype(np.float32)
        c0 = (rng.standard_normal((LD, B, 6)) * scale).astype(np.float32)
        feeds = {"input": x, "lengths": lens, "h0": h0}
        state = h0
        if kind == "LSTM":
            feeds["c0"], state = c0, (h0, c0)
        got = run_onnx(path, feeds)
        with inference_mode(layer):
            out, st = layer(x, state, lengths=lens if with_lengths else None)
        cfg = f"{kind} {kw} B={B} T={T} lengths={with_lengths} state={with_state}"
        assert_within("output", got["output"], out, cfg)
        if kind == "LSTM":
            assert_within("h_n", got["h_n"], st[0], cfg)
            assert_within("c_n", got["c_n"], st[1], cfg)
        else:
            assert_within("h_n", got["h_n"], st, cfg)
        if with_lengths:                           # padded steps are zero, as in rnnkit
            t_axis = 1 if layer.batch_first else 0
            steps = np.arange(T)[:, None] >= lens[None, :]                     # (T, B)
            pad = np.moveaxis(got["output"], t_axis, 0)[steps]
            assert not pad.size or np.all(pad == 0), cfg


def test_graph_without_lengths_and_state(tmp_path, rng):
    layer = nn.GRU(3, 5, num_layers=2, bidirectional=True, rng=rng)
    path, proto = export(layer, tmp_path, lengths=False)
    assert [i.name for i in proto.graph.input] == ["input"]
    x = rng.standard_normal((9, 2, 3)).astype(np.float32)
    with inference_mode(layer):
        out, h_n = layer(x)
    got = run_onnx(path, {"input": x})
    assert_within("output", got["output"], out, "no lengths")
    assert_within("h_n", got["h_n"], h_n, "no lengths")


def test_one_node_per_layer_and_dynamic_axes(tmp_path, rng):
    layer = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, rng=rng)
    _, proto = export(layer, tmp_path)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("LSTM") == 2
    lstm_attrs = [{a.name for a in n.attribute} for n in proto.graph.node if n.op_type == "LSTM"]
    assert all("layout" not in a for a in lstm_attrs)
    dims = [d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims[:2] == ["B", "T"]


def test_gru_linear_before_reset_attribute(tmp_path, rng):
    for reset_after, expected in ((True, 1), (False, 0)):
        _, proto = export(nn.GRU(3, 4, reset_after=reset_after, rng=rng), tmp_path)
        node = next(n for n in proto.graph.node if n.op_type == "GRU")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["linear_before_reset"] == expected


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_cells(tmp_path, rng, kind):
    kw = {"nonlinearity": "relu"} if kind == "RNN" else {"reset_after": False} if kind == "GRU" else {}
    cell = getattr(nn, kind + "Cell")(4, 5, rng=rng, **kw)
    path, _ = export(cell, tmp_path)
    for B in (1, 3):
        x = rng.standard_normal((B, 4)).astype(np.float32)
        h = rng.standard_normal((B, 5)).astype(np.float32)
        c = rng.standard_normal((B, 5)).astype(np.float32)
        feeds = {"input": x, "hx": h}
        with inference_mode(cell):
            if kind == "LSTM":
                feeds["cx"] = c
                want = dict(zip(("h", "c"), cell(x, (h, c))))
            else:
                want = {"h": cell(x, h)}
        got = run_onnx(path, feeds)
        for name in want:
            assert_within(name, got[name], want[name], f"{kind}Cell B={B}")


# -- containers, feed-forward pieces, models ---------------------------------------------------
def _sequential_cases(rng):
    return {
        "gru-laststep-split": nn.Sequential(nn.GRU(3, 6, bidirectional=True, rng=rng),
                                            nn.LastStep(bidirectional_split=True), nn.Linear(12, 2, rng=rng)),
        "linear-lstm-batch-first": nn.Sequential(nn.Linear(3, 5, rng=rng), nn.Tanh(),
                                                 nn.LSTM(5, 4, batch_first=True, rng=rng),
                                                 nn.LastStep(batch_first=True), nn.Dropout(0.5), nn.ReLU(),
                                                 nn.Linear(4, 3, rng=rng), nn.Sigmoid(), nn.Identity()),
        "embedding-rnn": nn.Sequential(nn.Embedding(10, 4, rng=rng), nn.RNN(4, 5, rng=rng), nn.Linear(5, 10, rng=rng)),
        "window-mlp": nn.WindowMLP(6, 2, (8, 4), 3, activation="relu", rng=rng),
        "flatten-mlp": nn.Sequential(nn.Flatten(1, -1), nn.Linear(20, 3, rng=rng)),
    }


@pytest.mark.parametrize("name", list(_sequential_cases(np.random.default_rng(0))))
def test_sequential_and_feed_forward(tmp_path, name):
    rng = np.random.default_rng(1)
    model = _sequential_cases(rng)[name]
    path, proto = export(model, tmp_path)
    takes_lengths = "lengths" in [i.name for i in proto.graph.input]
    for B, T in ((1, 5), (4, 7)):
        if name == "embedding-rnn":
            x = rng.integers(0, 10, size=(T, B)).astype(np.int64)
        elif name == "window-mlp":
            x = rng.standard_normal((B, 6, 2)).astype(np.float32)
        elif name == "flatten-mlp":
            x = rng.standard_normal((B, 4, 5)).astype(np.float32)
        elif name == "linear-lstm-batch-first":
            x = rng.standard_normal((B, T, 3)).astype(np.float32)
        else:
            x = rng.standard_normal((T, B, 3)).astype(np.float32)
        feeds = {"input": x}
        with inference_mode(model):
            if takes_lengths:
                feeds["lengths"] = lengths_for(rng, B, T)
                want = model(x, lengths=feeds["lengths"])
            else:
                want = model(x)
        assert_within("output", run_onnx(path, feeds)["output"], want, f"{name} B={B}")


def test_final_state_module(tmp_path, rng):
    model = nn.FinalState(num_directions=2)
    path, _ = export(model, tmp_path)
    h = rng.standard_normal((4, 3, 5)).astype(np.float32)
    assert_within("output", run_onnx(path, {"input": h})["output"], model(h), "FinalState")


SEQUENCE_MODELS = [
    dict(cell="lstm", output="last", bidirectional=True),
    dict(cell="gru", output="sequence", num_layers=2, dropout=0.2),
    dict(cell="rnn", output="last", nonlinearity="relu", bidirectional=True, merge_mode="mul"),
    dict(cell="lstm", output="last", proj_size=3, bidirectional=True, merge_mode="sum"),
    dict(cell="gru", output="last", num_embeddings=12),
]


@pytest.mark.parametrize("kw", SEQUENCE_MODELS, ids=[str(i) for i in range(len(SEQUENCE_MODELS))])
def test_sequence_model(tmp_path, rng, kw):
    model = SequenceModel(4, 6, 3, rng=rng, **kw)
    path, _ = export(model, tmp_path, initial_state=True)
    L = model.rnn.num_layers * model.rnn.num_directions
    for B, T, with_lengths in ((1, 6, False), (5, 8, True)):
        x = (rng.integers(0, 12, size=(B, T)) if "num_embeddings" in kw else rng.standard_normal((B, T, 4)))
        x = x.astype(np.int64 if "num_embeddings" in kw else np.float32)
        lens = lengths_for(rng, B, T) if with_lengths else np.full(B, T, np.int64)
        h0 = (rng.standard_normal((L, B, model.rnn.output_size)) * 0.5).astype(np.float32)
        c0 = (rng.standard_normal((L, B, 6)) * 0.5).astype(np.float32)
        feeds = {"x": x, "lengths": lens, "h0": h0}
        state = h0
        if model.cell == "lstm":
            feeds["c0"], state = c0, (h0, c0)
        with inference_mode(model):
            y, st = model(x, state, lengths=lens if with_lengths else None)
        got = run_onnx(path, feeds)
        assert_within("y", got["y"], y, f"{kw} B={B}")
        assert_within("h_n", got["h_n"], st[0] if model.cell == "lstm" else st, f"{kw} B={B}")


def test_char_rnn_streams_with_its_state(tmp_path, rng):
    """A CharRNN exported with its state in and out generates as rnnkit does, step by step."""
    model = CharRNN(15, hidden_size=8, num_layers=2, rng=rng)
    path, _ = export(model, tmp_path, initial_state=True, lengths=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids = rng.integers(0, 15, size=(1, 12)).astype(np.int64)
    h = np.zeros((2, 1, 8), np.float32)
    c = np.zeros((2, 1, 8), np.float32)
    state = None
    with inference_mode(model):
        for t in range(12):
            y_ort, h, c = sess.run(["y", "h_n", "c_n"], {"x": ids[:, t:t + 1], "h0": h, "c0": c})
            y, state = model(ids[:, t:t + 1], state)
            assert_within("y", y_ort, y, f"step {t}")
            assert_within("c_n", c, state[1], f"step {t}")


@pytest.mark.parametrize("cell,bidir,layers", [("gru", False, 1), ("lstm", True, 2), ("rnn", True, 1)])
def test_seq2seq_parts(tmp_path, rng, cell, bidir, layers):
    model = Seq2Seq(9, 11, 4, 6, cell=cell, num_layers=layers, bidirectional_encoder=bidir, rng=rng)
    B, Ts, Tt = 4, 7, 5
    src = rng.integers(0, 9, size=(B, Ts)).astype(np.int64)
    tgt = rng.integers(0, 11, size=(B, Tt)).astype(np.int64)
    lens = lengths_for(rng, B, Ts)
    with inference_mode(model):
        logits = model(src, tgt, lengths=lens)
        s0, _ = model.encode(src, lens)
    s0 = s0 if isinstance(s0, tuple) else (s0,)
    path, _ = export(model, tmp_path, part="forward")
    assert_within("logits", run_onnx(path, {"src": src, "tgt_in": tgt, "lengths": lens})["logits"], logits, cell)
    path, _ = export(model, tmp_path, part="encoder")
    got = run_onnx(path, {"src": src, "lengths": lens})
    for name, want in zip(("h0", "c0"), s0):
        assert_within(name, got[name], want, cell)
    path, _ = export(model, tmp_path, part="decoder")
    feeds = {"tgt_in": tgt, **dict(zip(("h0", "c0"), s0))}
    assert_within("logits", run_onnx(path, feeds)["logits"], logits, cell + " decoder")


def test_seq2seq_greedy_loop_stops_and_pads(tmp_path, rng):
    model = Seq2Seq(9, 8, 4, 6, cell="gru", rng=rng)
    model.head.bias.data[model.eos_id] += 1.2        # EOS wins for some rows after some steps
    path, _ = export(model, tmp_path, part="greedy")
    src = rng.integers(0, 9, size=(6, 7)).astype(np.int64)
    lens = lengths_for(rng, 6, 7)
    for max_len in (1, 4, 15):
        want = model.greedy_decode(src, lens, max_len=max_len)
        got = run_onnx(path, {"src": src, "lengths": lens, "max_len": np.array(max_len, np.int64)})["ids"]
        np.testing.assert_array_equal(got, want, err_msg=f"max_len={max_len}")
    assert (want == model.pad_id).any() and (want == model.eos_id).any()    # the case exercised stopping


# -- real inputs -------------------------------------------------------------------------------
def _japanese_vowels(limit=24):
    """The first rows of the UEA JapaneseVowels test split: 12 channels, 7-26 steps, (B, T, 12) + lengths."""
    from rnnkit.datasets import load_uea

    try:
        test = load_uea("JapaneseVowels", "test")
    except ModuleNotFoundError as err:
        pytest.skip(f"the archive files are not installed (aeon or sktime): {err}")
    X, lens = test.padded(dtype=np.float32)
    return X[:limit, :lens[:limit].max()], lens[:limit].astype(np.int64)


def test_real_variable_length_sequences(tmp_path, rng):
    x, lens = _japanese_vowels()
    assert lens.min() < lens.max()
    for kw in (dict(cell="lstm", bidirectional=True, num_layers=2), dict(cell="gru", proj_size=0, merge_mode="ave",
                                                                         bidirectional=True)):
        model = SequenceModel(12, 16, 9, output="last", rng=rng, **kw)
        path, _ = export(model, tmp_path)
        with inference_mode(model):
            y, _ = model(x, lengths=lens)
        assert_within("y", run_onnx(path, {"x": x, "lengths": lens})["y"], y, f"JapaneseVowels {kw}")


# -- check(), options and errors ---------------------------------------------------------------
def test_check_passes_and_catches_a_wrong_file(tmp_path, rng):
    model = SequenceModel(3, 6, 2, cell="gru", output="last", bidirectional=True, rng=rng)
    path = tmp_path / "m.onnx"
    to_onnx(model, path)
    assert 0 <= check(path, model) <= TOL
    other = SequenceModel(3, 6, 2, cell="gru", output="last", bidirectional=True, rng=rng)
    with pytest.raises(ExportCheckError, match="output 'y' differs"):
        check(path, other)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    assert check(path, model, inputs={"x": x, "lengths": np.array([4, 2])}) <= TOL
    with pytest.raises(ValueError, match="inputs lack"):
        check(path, model, inputs={"x": x})


def test_check_seq2seq_and_estimator_free_models(tmp_path, rng):
    model = Seq2Seq(7, 7, 3, 5, cell="lstm", bidirectional_encoder=True, rng=rng)
    for part in ("forward", "encoder", "decoder", "greedy"):
        to_onnx(model, tmp_path / f"{part}.onnx", part=part)
        assert check(tmp_path / f"{part}.onnx", model) <= TOL


def test_opsets(tmp_path, rng):
    model = SequenceModel(3, 5, 2, cell="lstm", proj_size=2, output="last", bidirectional=True, rng=rng)
    for opset in (14, 18, 21):
        to_onnx(model, tmp_path / "m.onnx", opset=opset)
        assert check(tmp_path / "m.onnx", model) <= TOL


def test_float64_model_exports_in_float32(tmp_path, rng):
    model = nn.GRU(3, 4, dtype=np.float64, rng=rng)
    to_onnx(model, tmp_path / "m.onnx")
    assert check(tmp_path / "m.onnx", model) <= TOL


def test_errors_name_the_argument_or_part(tmp_path, rng):
    with pytest.raises(ValueError, match="opset"):
        to_onnx(nn.GRU(2, 3), tmp_path / "m.onnx", opset=9)
    with pytest.raises(TypeError, match="model_or_estimator"):
        to_onnx("not a model", tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="part must be one of"):
        to_onnx(Seq2Seq(5, 5, 2, 3), tmp_path / "m.onnx", part="beam")
    with pytest.raises(ValueError, match="takes no lengths"):
        to_onnx(nn.Linear(2, 3), tmp_path / "m.onnx", lengths=True)
    with pytest.raises(ValueError, match="part applies to a Seq2Seq"):
        to_onnx(nn.GRU(2, 3), tmp_path / "m.onnx", part="encoder")

    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(UnsupportedModuleError, match=r"model\.1 \(.*Custom\)"):
        to_onnx(nn.Sequential(nn.Linear(2, 2), Custom()), tmp_path / "m.onnx")
    with pytest.raises(UnsupportedModuleError, match="MSELoss"):
        to_onnx(nn.MSELoss(), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()          # nothing half-written


def test_export_run_dir(tmp_path, rng):
    import rnnkit
    from rnnkit.export import export_run_dir

    model = SequenceModel(3, 5, 2, cell="lstm", output="last", rng=rng)
    run = tmp_path / "run"
    run.mkdir()
    rnnkit.save_model(model, run / "model.npz")
    info = export_run_dir(run, tmp_path / "m.onnx")
    assert info["inputs"] == ["x", "lengths"] and info["outputs"] == ["y", "h_n", "c_n"]
    assert 0 <= info["max_error"] <= TOL
    with pytest.raises(rnnkit.FileFormatError, match="model.npz"):
        export_run_dir(tmp_path / "nowhere", tmp_path / "m.onnx")
