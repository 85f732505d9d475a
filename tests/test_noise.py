"""GaussianNoise: noise of the given spread in training only, the identity gradient, and in a
SequenceModel nothing at prediction time."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import nn
from rnnkit.models import SequenceModel


def test_noise_in_training_identity_in_eval():
    noise = nn.GaussianNoise(0.5, rng=0)
    x = np.full((200, 500), 3.0)
    y = noise(x)
    assert y.dtype == np.float64
    d = y - x
    assert abs(d.mean()) < 0.01 and d.std() == pytest.approx(0.5, rel=0.01)      # 1e5 draws
    np.testing.assert_array_equal(noise.backward(np.full_like(x, 2.0)), np.full_like(x, 2.0))
    noise.eval()
    np.testing.assert_array_equal(noise(x), x)
    same = nn.GaussianNoise(0.5, rng=0)(x)
    np.testing.assert_array_equal(same, y)                                       # the rng decides
    with pytest.raises(ValueError, match="std must be in"):
        nn.GaussianNoise(-1.0)


def test_sequence_model_noise_only_while_training():
    model = SequenceModel(2, 4, 3, cell="gru", output="mean", input_noise=0.3, rng=0)
    x = np.random.default_rng(1).normal(size=(3, 5, 2)).astype(np.float32)
    a, _ = model(x)
    b, _ = model(x)
    assert not np.array_equal(a, b)
    model.clear_cache()
    model.eval()
    np.testing.assert_array_equal(model(x)[0], model(x)[0])
    plain = SequenceModel(2, 4, 3, cell="gru", output="mean", rng=0).eval()
    np.testing.assert_array_equal(model(x)[0], plain(x)[0])                     # same weights, no noise
