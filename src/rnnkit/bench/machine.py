"""What the results were measured on: CPU, cores, library versions, BLAS, environment."""

from __future__ import annotations

import datetime
import os
import platform


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _width(has_512: bool, has_256: bool) -> int:
    return 512 if has_512 else 256 if has_256 else 128


def simd() -> dict:
    """The vector widths in play: the CPU's (``/proc/cpuinfo`` flags), Numba's compile target
    (what LLVM vectorises the compiled loops for) and the kernels' (``kernels.fast._simd``: the
    packed GEMM microkernel's vectors and the target the gate loops compile for), with where that
    choice came from: ``'CPU'`` or ``'RNNKIT_SIMD'``."""
    import llvmlite.binding as ll
    from numba import config

    from rnnkit.kernels.fast import _simd
    from rnnkit.kernels.fast._gemm import VECTOR_BITS

    flags = _cpu_flags()
    feats = {f[1:] for f in _simd.target_features().split(",") if f.startswith("+")}
    return {
        "cpu_flags": sorted(f for f in flags if f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl")),
        "cpu_bits": _width("avx512f" in flags, "avx2" in flags) if flags else None,
        "numba_target": config.CPU_NAME or ll.get_host_cpu_name(),
        "numba_bits": _width("avx512f" in feats, "avx2" in feats),
        "gemm_bits": VECTOR_BITS,
        "kernel_bits": _simd.BITS,
        "kernel_bits_from": _simd.SOURCE,
    }


def openblas() -> dict:
    """The OpenBLAS core type: the environment's request and the kernel NumPy's OpenBLAS runs."""
    info = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE") or "unset",
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE") or "unset", "core": None, "config": None}
    try:
        from threadpoolctl import threadpool_info

        cores = [d.get("architecture") for d in threadpool_info() if d.get("internal_api") == "openblas"]
        info["core"] = cores[0] if cores else None
    except ImportError:
        pass
    try:
        import numpy as np

        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["config"] = blas.get("openblas configuration")
    except (TypeError, KeyError, AttributeError):
        pass
    return info


def header(info: dict) -> str:
    """One line on the vector widths and the OpenBLAS core type, for the printed report."""
    s, b = info["simd"], info["openblas"]
    cpu = "?" if s["cpu_bits"] is None else s["cpu_bits"]
    chosen = "chosen from the CPU" if s["kernel_bits_from"] == "CPU" else f"RNNKIT_SIMD={s['kernel_bits']}"
    return (f"SIMD: CPU {cpu}-bit ({' '.join(s['cpu_flags']) or 'no AVX flags'}), kernels {s['kernel_bits']}-bit "
            f"({chosen}), Numba target {s['numba_target']} {s['numba_bits']}-bit, packed GEMM {s['gemm_bits']}-bit; "
            f"OpenBLAS core type {b['OPENBLAS_CORETYPE']} (running {b['core'] or '?'}; "
            f"L2_SIZE {b['OPENBLAS_L2_SIZE']}; build: {b['config'] or '?'})")


def describe(torch_module=None) -> dict:
    import numba
    import numpy as np

    from rnnkit.kernels.fast._blas import BLAS_LIBRARY
    from rnnkit.kernels.fast._pool import threads_for

    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": getattr(torch_module, "__version__", None),
        "torch_threads": torch_module.get_num_threads() if torch_module is not None else None,
        "rnnkit_blas": BLAS_LIBRARY,
        "rnnkit_row_split_threads": threads_for(64, 64 * 512),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "simd": simd(),
        "openblas": openblas(),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for d in threadpool_info()
        ]
    except ImportError:
        info["blas"] = None
    return info
