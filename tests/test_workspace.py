"""The kernels' array pool (rnnkit.kernels._workspace): an array is reused only when
nothing refers to it, views included; small arrays are never pooled."""

from __future__ import annotations

import numpy as np

from rnnkit.kernels import _workspace as workspace

SHAPE = (64, 1024)                      # 256 KB of float32: pooled


def test_free_array_is_reused_and_held_ones_are_not():
    workspace.release()
    a = workspace.empty(SHAPE, np.float32)
    first = id(a)
    b = workspace.empty(SHAPE, np.float32)
    assert b is not a and b.shape == SHAPE and b.dtype == np.float32 and b.flags.c_contiguous
    del a
    c = workspace.empty(SHAPE, np.float32)
    assert id(c) == first
    assert workspace.held_bytes() == 2 * c.nbytes


def test_a_view_keeps_its_base_out_of_reuse():
    workspace.release()
    a = workspace.empty(SHAPE, np.float32)
    a[...] = 1.0
    view = a[3:5]
    del a
    b = workspace.empty(SHAPE, np.float32)
    b[...] = 2.0
    assert (view == 1.0).all()


def test_small_arrays_and_other_dtypes_are_separate():
    workspace.release()
    small = workspace.empty((4, 4), np.float32)
    assert workspace.held_bytes() == 0 and small.shape == (4, 4)
    a = workspace.empty(SHAPE, np.float32)
    del a
    d = workspace.empty(SHAPE, np.float64)
    assert d.dtype == np.float64
    assert workspace.held_bytes() == SHAPE[0] * SHAPE[1] * (4 + 8)


def test_per_shape_cap_and_release():
    workspace.release()
    kept = [workspace.empty(SHAPE, np.float32) for _ in range(workspace.PER_SHAPE + 3)]
    assert workspace.held_bytes() == workspace.PER_SHAPE * kept[0].nbytes
    workspace.release()
    assert workspace.held_bytes() == 0
    kept[0][...] = 3.0                                        # arrays in use stay valid
    assert (kept[0] == 3.0).all()


def test_layer_outputs_are_not_overwritten_by_the_next_call():
    from rnnkit import nn

    rng = np.random.default_rng(0)
    layer = nn.LSTM(8, 64, rng=rng)
    x1 = rng.standard_normal((50, 32, 8)).astype(np.float32)
    x2 = rng.standard_normal((50, 32, 8)).astype(np.float32)
    out1, _ = layer(x1)
    saved = out1.copy()
    out2, _ = layer(x2)
    layer.backward(np.ones_like(out2))
    np.testing.assert_array_equal(out1, saved)
    assert out1 is not out2


def test_the_pool_never_holds_more_than_max_bytes(monkeypatch):
    workspace.release()
    monkeypatch.setattr(workspace, "MAX_BYTES", 3 * 64 * 1024 * 4)          # three SHAPE arrays
    kept = [workspace.empty(SHAPE, np.float32) for _ in range(5)]
    assert workspace.held_bytes() <= workspace.MAX_BYTES
    other = workspace.empty((128, 1024), np.float32)                         # 2 SHAPE arrays' worth
    assert workspace.held_bytes() <= workspace.MAX_BYTES
    del kept, other
    workspace.release()
