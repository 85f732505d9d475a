"""`rnnkit bench --quick` runs end to end on a tiny grid and writes valid JSON and Markdown.

No timing assertions: only that the machinery runs and reports what it claims to.
"""

from __future__ import annotations

import json

import pytest

from rnnkit.bench import main


def test_bench_quick_writes_results(tmp_path, capsys):
    code = main(["--quick", "--cells", "GRU,LSTM", "--out", str(tmp_path), "--no-stream"])
    assert code == 0
    data = json.loads((tmp_path / "latest.json").read_text())
    assert [(r["cell"], r["row"]) for r in data["rows"]] == [("GRU", "Q"), ("LSTM", "Q")]
    for r in data["rows"]:
        assert r["train"]["rnnkit_s"] > 0 and r["infer"]["rnnkit_s"] > 0
        assert r["memory"]["rnnkit_bytes"] > 0
        assert 0 < r["train"]["roofline_fraction"]
    m = data["machine"]
    for key in ("cpu", "cores", "numpy", "numba", "date", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "blas"):
        assert key in m
    assert data["gemm_gflops_before"] > 0 and data["gemm_gflops_after"] > 0
    md = (tmp_path / "latest.md").read_text()
    assert "| GRU | Q |" in md and "| LSTM | Q |" in md
    assert "GRU" in capsys.readouterr().out


def test_every_registered_kind_has_a_bench_layer():
    from rnnkit.bench.grid import CELLS, ROWS
    from rnnkit.bench.runners import make_rnnkit

    assert len(CELLS) >= 9
    for kind in CELLS:
        layer, x = make_rnnkit(kind, ROWS["S"])
        assert layer.mode == kind and x.shape[-1] == layer.input_size


def test_bench_quick_agrees_with_torch(tmp_path):
    pytest.importorskip("torch")
    main(["--quick", "--cells", "LSTM", "--out", str(tmp_path), "--no-stream"])
    row = json.loads((tmp_path / "latest.json").read_text())["rows"][0]
    assert row["train"]["torch_s"] > 0 and row["train"]["ratio"] > 0
    assert row["agreement"]["max_abs_diff_output"] < 1e-5
    assert row["agreement"]["max_rel_diff_grad"] < 1e-5
    assert row["memory"]["torch_bytes"] > 0


def test_bench_without_torch(tmp_path):
    assert main(["--quick", "--cells", "RNN", "--out", str(tmp_path), "--no-torch"]) == 0
    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["rows"][0]["train"]["torch_s"] is None
    assert data["stream"]["rnnkit_s"] > 0 and data["stream"]["torch_s"] is None


def test_bench_rejects_bad_arguments(tmp_path):
    with pytest.raises(SystemExit, match="--rows"):
        main(["--quick", "--rows", "ZZ", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--repeat"):
        main(["--repeat", "0", "--out", str(tmp_path)])


def test_bench_writes_nothing_without_save(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--quick", "--cells", "RNN", "--no-torch", "--no-jax", "--no-stream"]) == 0
    assert list(tmp_path.iterdir()) == []
    assert "nothing written" in capsys.readouterr().out


def test_bench_header_and_stacked_rows(tmp_path, capsys):
    main(["--quick", "--cells", "GRU,LSTM", "--out", str(tmp_path), "--no-stream", "--no-jax"])
    out = capsys.readouterr().out
    assert "SIMD: CPU" in out and "OpenBLAS core type" in out
    assert "profiler_start" not in out
    data = json.loads((tmp_path / "latest.json").read_text())
    m = data["machine"]
    assert m["simd"]["gemm_bits"] == m["simd"]["kernel_bits"] in (256, 512)
    assert m["simd"]["numba_bits"] in (128, 256, 512)
    assert m["openblas"]["OPENBLAS_CORETYPE"] != ""
    assert [(r["cell"], r["row"]) for r in data["stacked"]] == [("LSTM", "2x bi Q"), ("GRU", "2x bi Q")]
    for r in data["stacked"]:
        assert max(r["lengths"]) == r["T"] and min(r["lengths"]) >= r["T"] // 4
        if r.get("agreement"):
            assert r["agreement"]["max_abs_diff_output"] < 1e-5 and r["agreement"]["max_rel_diff_grad"] < 1e-5


def test_bench_jax_peer_when_installed(tmp_path):
    pytest.importorskip("jax", reason="jax is not installed")
    main(["--quick", "--cells", "LSTM", "--out", str(tmp_path), "--no-stream", "--no-stacked", "--no-torch"])
    row = json.loads((tmp_path / "latest.json").read_text())["rows"][0]
    assert row["train"]["jax_s"] > 0 and row["train"]["best_peer"] == "jax"


def test_bench_unknown_option_is_one_line():
    with pytest.raises(SystemExit, match="^rnnkit bench: unrecognized arguments: --bogus$"):
        main(["--bogus"])
