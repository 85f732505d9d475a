"""The vector width of the compiled kernels, chosen once per process before anything compiles.

    512 bits (16 float32)   when Numba's compile target has AVX-512F (``avx512f``)
    256 bits (8 float32)    otherwise
    RNNKIT_SIMD=256|512     overrides the choice (512 needs AVX-512F in the target)

The width decides two things: the packed GEMM microkernel (``_gemm``: 16-float vectors and
32-column panels at 512, 8-float vectors and 16-column panels at 256), and the width LLVM's loop
vectoriser uses for the gate loops and ``_vmath`` (it picks the widest the target offers). To run
at 256 on an AVX-512 machine, Numba's compile target is narrowed: the AVX-512 features (and the
AVX10/AMX ones that imply them) are switched off in ``numba.core.config.CPU_FEATURES`` and
Numba's CPU target is created right away with them, so the whole process compiles as on an
AVX2 machine (this includes the caller's own Numba functions; ``NUMBA_CPU_FEATURES`` does the
same from outside). That works only before Numba has compiled anything in the process: when its
target already exists with AVX-512, ``RNNKIT_SIMD=256`` is refused with a ``ValueError``.

Numba's on-disk cache keys each entry on the target's CPU name and feature string, and the width
here is a function of that feature string alone, so code cached at one width is never loaded at
the other: both widths' entries live side by side in the same cache files.

    >>> from rnnkit.kernels.fast import _simd
    >>> _simd.BITS in (256, 512), _simd.LANES == _simd.BITS // 32
    (True, True)
    >>> _simd.choose("256", "+avx2,+fma,+avx512f")
    (256, 'RNNKIT_SIMD')
    >>> _simd.choose(None, "+avx2,+fma,-avx512f")
    (256, 'CPU')
"""

from __future__ import annotations

import os

__all__ = ["ENV", "BITS", "LANES", "SOURCE", "choose", "narrowed", "target_features"]

ENV = "RNNKIT_SIMD"
_WIDE = ("avx512", "avx10", "amx-avx512", "evex512")     # features that are or imply 512-bit vectors


def _has_avx512f(features: str) -> bool:
    return "+avx512f" in features.split(",")


def target_features() -> str:
    """The feature string Numba compiles for: its CPU target's if it exists already, else the one
    it will use (``NUMBA_CPU_FEATURES`` or the host's, as LLVM reports them)."""
    from numba.core import config
    from numba.core.registry import cpu_target

    if "_toplevel_target_context" in cpu_target.__dict__:
        return cpu_target.target_context.codegen().magic_tuple()[2]
    if config.CPU_FEATURES is not None:
        return config.CPU_FEATURES
    import llvmlite.binding as ll

    return ll.get_host_cpu_features().flatten()


def choose(value: str | None, features: str) -> tuple[int, str]:
    """(bits, where the choice came from: ``'CPU'`` or ``'RNNKIT_SIMD'``) for the variable's
    value (None when unset) and Numba's target ``features``."""
    wide = _has_avx512f(features)
    if value is None or value.strip() == "":
        return (512 if wide else 256), "CPU"
    if value.strip() not in ("256", "512"):
        raise ValueError(f"{ENV} must be 256 or 512 (the vector width in bits), got {value!r}")
    bits = int(value)
    if bits == 512 and not wide:
        raise ValueError(f"{ENV}=512 needs a CPU (Numba target) with AVX-512F (avx512f), and this one has none: "
                         f"unset {ENV} or set it to 256")
    return bits, ENV


def narrowed(features: str) -> str:
    """``features`` with every AVX-512 (and AVX10/AMX-AVX512) feature switched off."""
    out = []
    for f in features.split(","):
        if f[:1] == "+" and f[1:].startswith(_WIDE):
            f = "-" + f[1:]
        out.append(f)
    return ",".join(out)


def _configure() -> tuple[int, str]:
    from numba.core import config
    from numba.core.registry import cpu_target

    features = target_features()
    bits, source = choose(os.environ.get(ENV), features)
    if bits == 256 and _has_avx512f(features):
        if "_toplevel_target_context" in cpu_target.__dict__:
            raise ValueError(f"{ENV}=256 must be set before Numba compiles anything in the process: its CPU "
                             "target already exists with AVX-512 (import rnnkit first, or set NUMBA_CPU_FEATURES "
                             "without the avx512 features)")
        config.CPU_FEATURES = narrowed(features)
        cpu_target.target_context                     # noqa: B018  (created now, with the narrowed features)
    return bits, source


BITS, SOURCE = _configure()
LANES = BITS // 32                                    # float32 lanes per vector
