"""Damaged files: every flipped byte and every truncation is a FileFormatError, nothing else.

In the current layout the SHA-256 covers every byte, so each damaged copy must be refused.
A version 1 ``.npz`` has bytes zip does not check (times, the local headers' copies of the
sizes), so a damaged copy is either refused or loads to exactly the saved model.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnkit
from file_helpers import write_v1
from rnnkit import nn
from rnnkit.errors import FileFormatError
from rnnkit.io import model_state, pack


def _small_model():
    return nn.Sequential(nn.Linear(2, 2, rng=0), nn.Tanh())


def _weights(model):
    return [p.data.copy() for p in model.parameters()]


@pytest.fixture(scope="module")
def v2_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("v2") / "m.rnnkit"
    rnnkit.save_model(_small_model(), path, metadata={"labels": np.array(["a", "b"])})
    return path.read_bytes()


@pytest.fixture(scope="module")
def v1_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("v1") / "m.npz"
    arrays = {}
    meta = {"format": "rnnkit.model", "version": 1, "model": model_state(_small_model(), arrays, "param/"),
            "metadata": pack({"n": 1}, arrays)}
    write_v1(path, meta, arrays)
    return path.read_bytes()


def _refused(path, data: bytes) -> FileFormatError:
    path.write_bytes(data)
    with pytest.raises(FileFormatError) as err:
        rnnkit.load_model(path)
    assert str(path) in str(err.value)
    return err.value


def test_every_flipped_byte_is_refused(tmp_path, v2_bytes):
    path = tmp_path / "f.rnnkit"
    for i in range(len(v2_bytes)):
        data = bytearray(v2_bytes)
        data[i] ^= 0xFF
        _refused(path, bytes(data))


def test_every_truncation_is_refused(tmp_path, v2_bytes):
    path = tmp_path / "t.rnnkit"
    for n in range(len(v2_bytes)):
        _refused(path, v2_bytes[:n])
    path.write_bytes(v2_bytes + b"\0")                # and a byte too many
    with pytest.raises(FileFormatError, match="cover"):
        rnnkit.load_model(path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_damage_is_refused(tmp_path, v2_bytes, data):
    raw = bytearray(v2_bytes)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
    if raw == v2_bytes:                               # two flips of one bit undo each other
        return
    _refused(tmp_path / "r.rnnkit", bytes(raw))


def _refused_or_exact(path, data: bytes, expected) -> bool:
    path.write_bytes(data)
    try:
        model = rnnkit.load_model(path)
    except FileFormatError as err:
        assert str(path) in str(err)
        return True
    for got, want in zip(_weights(model), expected):
        np.testing.assert_array_equal(got, want)
    return False


def test_version1_every_flipped_byte_is_refused_or_harmless(tmp_path, v1_bytes):
    path, expected = tmp_path / "f.npz", _weights(_small_model())
    refused = sum(_refused_or_exact(path, v1_bytes[:i] + bytes([v1_bytes[i] ^ 0xFF]) + v1_bytes[i + 1:], expected)
                  for i in range(len(v1_bytes)))
    assert refused > 0.8 * len(v1_bytes)              # zip's CRC-32 and the .npy headers catch most


def test_version1_every_truncation_is_refused(tmp_path, v1_bytes):
    path = tmp_path / "t.npz"
    for n in range(len(v1_bytes)):
        _refused(path, v1_bytes[:n])
