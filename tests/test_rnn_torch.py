"""rnnkit's RNN/LSTM/GRU layers against PyTorch (the oracle): same weights, same inputs.

Compares outputs, final states, dx, the initial-state gradients and every parameter
gradient over the grid kind x layers x bidirectional x batch_first x bias x
{full batch, variable lengths (torch: packed sequences), unbatched} x dtype.
Targets: 3e-5 relative in float32, 1e-10 in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import RTOL, assert_results_close, random_problem, rnnkit_run, seed_of, torch_reference
from rnnkit import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported:UserWarning")

T, B, I, H, P = 6, 4, 3, 5, 2
LENGTHS = np.array([6, 2, 1, 4])           # unsorted, with the full length and length 1

KINDS = {
    "rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "gru": ("GRU", {}),
    "lstm": ("LSTM", {}),
    "lstm_proj": ("LSTM", {"proj_size": P}),
}
DTYPES = {"f32": np.float32, "f64": np.float64}


def make_layer(kind_id, dtype, seed, **kw):
    kind, extra = KINDS[kind_id]
    return getattr(nn, kind)(I, H, dtype=dtype, rng=seed, **extra, **kw), kind


def compare(kind_id, dtype_id, num_layers, bidirectional, batch_first, bias, batching, with_state=True,
            with_d_state=True):
    dtype = DTYPES[dtype_id]
    config = (f"{kind_id} L={num_layers} bidir={bidirectional} batch_first={batch_first} bias={bias} "
              f"{batching} {dtype_id} state={with_state} d_state={with_d_state} backend={rnnkit.get_backend()}")
    seed = seed_of(kind_id, dtype_id, num_layers, bidirectional, batch_first, bias, batching)
    layer, kind = make_layer(kind_id, dtype, seed, num_layers=num_layers, bidirectional=bidirectional,
                             batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(seed)
    x, state, d_out, d_state = random_problem(layer, T, B, rng, unbatched=batching == "unbatched",
                                              with_state=with_state)
    if not with_d_state:
        d_state = None
    lengths = LENGTHS if batching == "lengths" else None
    ours = rnnkit_run(layer, x, state, lengths, d_out, d_state)
    ref = torch_reference(kind, layer, x, state, lengths, d_out, d_state, batch_first)
    assert_results_close(ours, ref, RTOL[np.dtype(dtype)], config)
    if lengths is not None:   # padded steps: zero output and zero input gradient
        for b, n in enumerate(lengths):
            pad_out = ours["out"][b, n:] if batch_first else ours["out"][n:, b]
            pad_dx = ours["dx"][b, n:] if batch_first else ours["dx"][n:, b]
            assert not pad_out.any() and not pad_dx.any(), f"padded steps not zero [{config}]"


@pytest.mark.parametrize("dtype_id", list(DTYPES))
@pytest.mark.parametrize("batching", ["full", "lengths", "unbatched"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tbi", "bti"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("num_layers", [1, 2, 3], ids=["L1", "L2", "L3"])
@pytest.mark.parametrize("kind_id", list(KINDS))
def test_layer_matches_torch(kind_id, num_layers, bidirectional, batch_first, bias, batching, dtype_id):
    compare(kind_id, dtype_id, num_layers, bidirectional, batch_first, bias, batching)


@pytest.mark.parametrize("kind_id", list(KINDS))
@pytest.mark.parametrize("with_state,with_d_state", [(False, True), (True, False), (False, False)])
@pytest.mark.parametrize("batching", ["full", "lengths"])
def test_omitted_state_and_state_gradient(kind_id, with_state, with_d_state, batching):
    """state=None means zeros; d_state=None means no gradient arrives at the final state."""
    compare(kind_id, "f64", 2, True, False, True, batching, with_state, with_d_state)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("kind_id", list(KINDS))
@pytest.mark.parametrize("dtype_id", list(DTYPES))
def test_every_backend_matches_torch(backend, kind_id, dtype_id):
    """The grid runs on the default backend; here each available backend on a rich config."""
    rnnkit.set_backend(backend)
    compare(kind_id, dtype_id, 2, True, True, True, "lengths")
    compare(kind_id, dtype_id, 2, True, False, False, "unbatched")


@pytest.mark.parametrize("kind_id", ["rnn_tanh", "gru", "lstm_proj"])
def test_lengths_equal_to_T_and_list_input(kind_id):
    """Lengths all equal to T (nothing masked) and lengths given as a list, a torch tensor."""
    layer, kind = make_layer(kind_id, np.float64, 3, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(4)
    x, state, d_out, d_state = random_problem(layer, T, B, rng)
    for lengths in ([T] * B, torch.tensor([T, 3, 5, 1])):
        ours = rnnkit_run(layer, x, state, lengths, d_out, d_state)
        ref = torch_reference(kind, layer, x, state, np.asarray(lengths), d_out, d_state, False)
        assert_results_close(ours, ref, RTOL[np.dtype(np.float64)], f"{kind_id} lengths={lengths}")


def test_float32_layer_on_float64_data_matches_torch_float32():
    """float64 input to a float32 layer is cast; the result is float32 and equals torch's."""
    layer, kind = make_layer("lstm", np.float32, 5)
    rng = np.random.default_rng(6)
    x, state, d_out, d_state = random_problem(layer, T, B, rng, dtype=np.float64)
    ours = rnnkit_run(layer, x, state, None, d_out, d_state)
    assert ours["out"].dtype == np.float32 and ours["dx"].dtype == np.float32
    assert all(g.dtype == np.float32 for g in ours["grads"].values())
    f32 = (x.astype(np.float32), tuple(s.astype(np.float32) for s in state))
    ref = torch_reference(kind, layer, *f32, None, d_out.astype(np.float32),
                          tuple(d.astype(np.float32) for d in d_state), False)
    assert_results_close(ours, ref, RTOL[np.dtype(np.float32)], "float64 data, float32 layer")


def test_long_sequence_larger_sizes_float32():
    """One bigger case (T=40, H=16) so accumulated float32 error over many steps is covered."""
    layer = nn.LSTM(8, 16, num_layers=2, bidirectional=True, rng=7)
    rng = np.random.default_rng(8)
    x, state, d_out, d_state = random_problem(layer, 40, 3, rng)
    ours = rnnkit_run(layer, x, state, np.array([40, 17, 33]), d_out, d_state)
    ref = torch_reference("LSTM", layer, x, state, np.array([40, 17, 33]), d_out, d_state, False)
    assert_results_close(ours, ref, RTOL[np.dtype(np.float32)], "LSTM T=40 H=16 float32")


def test_torch_tensors_accepted_as_arguments():
    """x, states, lengths and gradients may be CPU torch tensors; results equal the NumPy path."""
    layer = nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=np.float64, rng=9)
    rng = np.random.default_rng(10)
    x, state, d_out, d_state = random_problem(layer, T, B, rng)
    ref = rnnkit_run(layer, x, state, LENGTHS, d_out, d_state)
    tt = torch.from_numpy
    ours = rnnkit_run(layer, tt(x), (tt(state[0]), tt(state[1])), tt(LENGTHS), tt(d_out),
                      (tt(d_state[0]), tt(d_state[1])))
    assert isinstance(ours["out"], np.ndarray)
    assert_results_close(ours, ref, 0.0, "torch tensors as arguments")


@pytest.mark.parametrize("batch_first", [False, True], ids=["tbi", "bti"])
@pytest.mark.parametrize("kind_id", list(KINDS) + ["rnn_relu_nobias"])
def test_row_split_path_matches_torch(kind_id, batch_first):
    """Shapes big enough for the float32 row split over OpenBLAS's threads (B * H >= 512; the
    grid above is too small for it): 2 layers, bidirectional, unsorted lengths, states and
    state gradients; outputs and every gradient against PyTorch."""
    from rnnkit.kernels.fast import _pool

    Bs, Hs = 17, 64
    if rnnkit.get_backend() != "numba" or _pool.split_threads(np.float32, Bs, Hs) < 2:
        pytest.skip("the float32 row split is not used here (numpy backend or one OpenBLAS thread)")
    if kind_id == "rnn_relu_nobias":
        kind, extra = "RNN", {"nonlinearity": "relu", "bias": False}
    else:
        kind, extra = KINDS[kind_id]
    layer = getattr(nn, kind)(12, Hs, num_layers=2, bidirectional=True, batch_first=batch_first, rng=3, **extra)
    rng = np.random.default_rng(seed_of("row_split", kind_id, batch_first))
    x, state, d_out, d_state = random_problem(layer, 9, Bs, rng)
    lengths = rng.integers(1, 10, Bs)
    lengths[0] = 9
    ours = rnnkit_run(layer, x, state, lengths, d_out, d_state)
    ref = torch_reference(kind, layer, x, state, lengths, d_out, d_state, batch_first)
    assert_results_close(ours, ref, RTOL[np.dtype(np.float32)], f"row split {kind_id} batch_first={batch_first}")
