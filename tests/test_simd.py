"""The vector width of the compiled kernels (rnnkit.kernels.fast._simd) and the packed GEMM
microkernel at each width the machine can run.

In this process the kernels run at the width the CPU gives (or RNNKIT_SIMD says); the other
width, when the CPU can run it, is tested in child processes: the microkernel, the compiled ==
float64-reference kernel tests in float32, the row-split (packed GEMM) tests and the PyTorch
oracle tests, all under ``RNNKIT_SIMD=<other>``; and processes switching the variable back and
forth get correct results both ways (the on-disk cache never hands one width's code to the
other: a 16-column-panel kernel on 32-column panels would give wrong products).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _gemm, _simd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, os.pardir, "src")
WIDE = _simd._has_avx512f(_simd.target_features()) or _simd.BITS == 512
WIDTHS = (256, 512) if WIDE else (256,)


def _child_env(bits=None, **extra):
    env = dict(os.environ)
    env.pop(_simd.ENV, None)
    if bits is not None:
        env[_simd.ENV] = str(bits)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.abspath(SRC), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _python(code, bits=None, **extra):
    return subprocess.run([sys.executable, "-c", code], env=_child_env(bits, **extra), capture_output=True,
                          text=True, timeout=600)


# ---- the choice -------------------------------------------------------------------------------

def test_choice_from_the_cpu_features():
    assert _simd.choose(None, "+sse2,+avx2,+fma,+avx512f,+avx512bw") == (512, "CPU")
    assert _simd.choose(None, "+sse2,+avx2,+fma,-avx512f") == (256, "CPU")
    assert _simd.choose("", "+avx2,+avx512f") == (512, "CPU")                   # empty = unset
    assert _simd.choose("256", "+avx2,+avx512f") == (256, "RNNKIT_SIMD")
    assert _simd.choose(" 512 ", "+avx2,+avx512f") == (512, "RNNKIT_SIMD")


@pytest.mark.parametrize("value", ["128", "1024", "avx512", "512-bit", "x"])
def test_a_bad_value_names_the_variable(value):
    with pytest.raises(ValueError, match=r"RNNKIT_SIMD must be 256 or 512.*" + repr(value).replace("-", r"\-")):
        _simd.choose(value, "+avx2,+avx512f")


def test_512_without_avx512f_is_an_error():
    with pytest.raises(ValueError, match=r"RNNKIT_SIMD=512 needs .*avx512f"):
        _simd.choose("512", "+avx2,+fma,-avx512f")


def test_narrowed_switches_off_every_avx512_feature_only():
    feats = "+avx2,+fma,+avx512f,+avx512bw,+avx512vl,+avx10.1,-amx-avx512,+amx-tile,+evex512,+avxvnni"
    out = _simd.narrowed(feats).split(",")
    assert out == ["+avx2", "+fma", "-avx512f", "-avx512bw", "-avx512vl", "-avx10.1", "-amx-avx512", "+amx-tile",
                   "-evex512", "+avxvnni"]
    assert _simd.choose(None, ",".join(out)) == (256, "CPU")


def test_this_process_width_and_panel():
    assert _simd.BITS in WIDTHS and _gemm.VECTOR_BITS == _simd.BITS
    assert _gemm.PANEL == 2 * _simd.LANES == _simd.BITS // 16
    want_source = "RNNKIT_SIMD" if os.environ.get(_simd.ENV, "").strip() else "CPU"
    assert _simd.SOURCE == want_source


def test_import_with_a_bad_value_fails_naming_the_variable():
    r = _python("import rnnkit.kernels.fast", bits="wide")
    assert r.returncode != 0
    assert "ValueError: RNNKIT_SIMD must be 256 or 512 (the vector width in bits), got 'wide'" in r.stderr


def test_512_on_a_target_without_avx512f_fails_at_import():
    features = _simd.narrowed(_simd.target_features())         # what Numba would see on an AVX2 CPU
    r = _python("import rnnkit.kernels.fast", bits=512, NUMBA_CPU_FEATURES=features)
    assert r.returncode != 0
    assert "RNNKIT_SIMD=512 needs a CPU (Numba target) with AVX-512F" in r.stderr
    ok = _python("from rnnkit.kernels.fast import _simd; print(_simd.BITS, _simd.SOURCE)",
                 NUMBA_CPU_FEATURES=features)                    # unset: 256 from the CPU, no error
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["256", "CPU"]


# ---- the microkernel against NumPy, at this process's width ---------------------------------


@pytest.mark.parametrize("M", [*range(1, 14), 25, 32])
def test_microkernel_equals_numpy_on_odd_shapes(M):
    """M = 1..13 (every row count of the kernel, and splits into several row blocks), N not a
    multiple of 16 or 32 (a partial last panel), K = 1; nothing is written past column N."""
    rng = np.random.default_rng(M)
    for N in (1, 7, 15, 16, 17, 31, 32, 33, 47, 50, 64, 65):
        for K in (1, 2, 37):
            A = rng.standard_normal((M, K + 2)).astype(np.float32)[:, 1:K + 1]       # a row stride != K
            W = rng.standard_normal((K, N)).astype(np.float32)
            C = np.full((M, N + 5), 7.0, np.float32)
            _gemm.gemm_packed(A, _gemm.pack(W), C, N)
            want = A.astype(np.float64) @ W.astype(np.float64)
            np.testing.assert_allclose(C[:, :N], want, rtol=1e-5, atol=1e-5 * np.sqrt(K), err_msg=f"{M, N, K}")
            assert (C[:, N:] == 7.0).all(), (M, N, K)


@pytest.mark.parametrize("K1,K2", [(1, 1), (5, 3), (0, 9), (16, 33)])
def test_two_source_microkernel_equals_numpy(K1, K2):
    rng = np.random.default_rng(K1 * 100 + K2)
    for M, N in ((1, 3), (6, 40), (7, 33), (13, 64)):
        A1 = rng.standard_normal((M, K1)).astype(np.float32)
        A2 = rng.standard_normal((M, K2)).astype(np.float32)
        W = rng.standard_normal((K1 + K2, N)).astype(np.float32)
        C = np.full((M, N + 1), 7.0, np.float32)
        _gemm.gemm_packed2(A1, A2, _gemm.pack(W), C, N)
        want = np.concatenate([A1, A2], axis=1).astype(np.float64) @ W.astype(np.float64)
        np.testing.assert_allclose(C[:, :N], want, rtol=1e-5, atol=1e-5 * np.sqrt(K1 + K2), err_msg=f"{M, N}")
        assert (C[:, N] == 7.0).all()


def test_pack_layout_has_panel_columns():
    W = np.arange(3 * 37, dtype=np.float32).reshape(3, 37)
    Wp = _gemm.pack(W)
    P = _gemm.PANEL
    assert Wp.shape == (-(-37 // P), 3, P)
    for p in range(Wp.shape[0]):
        cols = W[:, p * P:(p + 1) * P]
        np.testing.assert_array_equal(Wp[p, :, :cols.shape[1]], cols)
        assert not Wp[p, :, cols.shape[1]:].any()


# ---- the other width, in child processes ----------------------------------------------------

OTHER = [b for b in WIDTHS if b != _simd.BITS]

CHILD_TESTS = [
    "tests/test_simd.py::test_this_process_width_and_panel",
    "tests/test_simd.py::test_microkernel_equals_numpy_on_odd_shapes",
    "tests/test_simd.py::test_two_source_microkernel_equals_numpy",
    "tests/test_fast_kernels.py::test_fast_equals_reference",
    "tests/test_fast_kernels.py::test_simd_math_accuracy",
    "tests/test_pool.py::test_row_split_lstm_equals_reference",
    "tests/test_pool_rnn_gru.py",
    "tests/test_rnn_torch.py::test_row_split_path_matches_torch",
    "tests/test_rnn_torch.py::test_every_backend_matches_torch",
    "tests/test_rnn_torch.py::test_long_sequence_larger_sizes_float32",
]


@pytest.mark.skipif(not OTHER, reason="this CPU runs one vector width only (no avx512f): nothing else to force")
@pytest.mark.parametrize("bits", OTHER)
def test_kernel_tests_pass_at_the_other_width(bits):
    """The compiled == float64 reference tests (float32 cases), the row-split tests (which run
    the microkernel) and PyTorch oracle tests, in a child process with RNNKIT_SIMD=<bits>."""
    root = os.path.join(HERE, os.pardir)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                        "-k", "not float64", *CHILD_TESTS], cwd=root, env=_child_env(bits), capture_output=True,
                       text=True, timeout=900)
    tail = (r.stdout + r.stderr)[-3000:]
    assert r.returncode == 0, tail
    assert " passed" in r.stdout and " failed" not in r.stdout and " error" not in r.stdout, tail


_SWITCH = """
import json, numpy as np
from rnnkit.kernels.fast import _gemm, _simd
from rnnkit.kernels import implementation, get_kind
import os, sys
sys.path.insert(0, {tests!r})
from kernel_cases import problem, run
os.environ["RNNKIT_POOL"] = "1"
rng = np.random.default_rng(3)
A = rng.standard_normal((9, 20)).astype(np.float32); W = rng.standard_normal((20, 70)).astype(np.float32)
C = np.empty((9, 70), np.float32)
_gemm.gemm_packed(A, _gemm.pack(W), C, 70)
errs = {{"gemm": float(np.abs(C - A.astype(np.float64) @ W).max())}}
for kind in ("LSTM", "GRU", "RNN"):
    p = problem(kind, 3, 33, 5, 40, rng, recurrent=0.15)
    want = run(p, "numpy", False)
    got = run(p.astype(np.float32), "numba", False)
    errs[kind] = max(float(np.abs(got[k] - want[k]).max() / max(1.0, np.abs(want[k]).max())) for k in want
                     if want[k] is not None)
print(json.dumps({{"bits": _simd.BITS, "panel": _gemm.PANEL, "errs": errs}}))
"""


@pytest.mark.skipif(not OTHER, reason="this CPU runs one vector width only (no avx512f): nothing to switch")
def test_switching_the_width_between_processes_gives_correct_results_both_ways():
    """256, 512, 256, 512 in turn: each process loads (or compiles) code of its own width from
    the shared on-disk cache and its products and row-split LSTM/GRU/RNN (forward and backward,
    B = 33 over two threads) equal the float64 reference."""
    code = _SWITCH.format(tests=HERE)
    for bits in (256, 512, 256, 512):
        r = _python(code, bits=bits)
        assert r.returncode == 0, r.stderr[-3000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out["bits"] == bits and out["panel"] == bits // 16, out
        assert out["errs"]["gemm"] <= 1e-4, out
        for kind in ("LSTM", "GRU", "RNN"):
            assert out["errs"][kind] <= 1e-5, (bits, out)


# ---- rnnkit bench's header --------------------------------------------------------------------

def test_bench_header_names_the_width_and_its_source():
    from rnnkit.bench import machine

    s = machine.simd()
    assert s["kernel_bits"] == s["gemm_bits"] == _simd.BITS and s["kernel_bits_from"] == _simd.SOURCE
    assert s["numba_bits"] == _simd.BITS                     # the target the gate loops compile for
    line = machine.header({"simd": s, "openblas": machine.openblas()})
    chosen = "chosen from the CPU" if _simd.SOURCE == "CPU" else f"RNNKIT_SIMD={_simd.BITS}"
    assert line.startswith("SIMD: CPU ") and f", kernels {_simd.BITS}-bit ({chosen}), Numba target " in line


@pytest.mark.skipif(not OTHER, reason="this CPU runs one vector width only (no avx512f): nothing to force")
def test_bench_header_in_a_process_with_the_variable_set():
    bits = OTHER[0]
    r = _python("from rnnkit.bench import machine; s = machine.simd(); "
                "print(machine.header({'simd': s, 'openblas': machine.openblas()}))", bits=bits)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f", kernels {bits}-bit (RNNKIT_SIMD={bits}), Numba target " in r.stdout, r.stdout
    assert f"-bit, packed GEMM {bits}-bit;" in r.stdout
