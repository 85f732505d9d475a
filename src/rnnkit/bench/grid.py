"""The benchmark grid of BENCHMARKS.md, FLOP counts and targets.

A training step's matrix work is ``3 * 2*T*B*(I+H)*G*H`` FLOPs (the forward input and
recurrent products, twice that in backward); inference is a third of it. (In general: 3 * 2*T*B
times the size of the kind's weight matrices, from its record.) Dividing by the machine's
measured GEMM rate gives the fastest possible time (the roofline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rnnkit.kernels import KINDS

CELLS = tuple(KINDS)                            # every registered cell kind: RNN, GRU, LSTM
SMALL_ROW_TRAIN_TARGETS = {"LSTM": 1.3}         # BENCHMARKS.md: S and M training targets (2.0 otherwise)


@dataclass(frozen=True)
class Row:
    name: str
    T: int
    B: int
    I: int
    H: int


ROWS = {
    "S": Row("S", 50, 16, 16, 64),
    "M": Row("M", 100, 32, 32, 128),
    "L": Row("L", 100, 64, 128, 256),
    "XL": Row("XL", 100, 64, 256, 512),
}
QUICK_ROWS = {"Q": Row("Q", 8, 4, 8, 16)}     # --quick: a tiny grid that checks the machinery
STREAM = {"I": 128, "H": 128, "steps": 1000}  # LSTMCell at B=1, state carried


def _matrix_entries(cell: str, r: Row) -> int:
    """Entries of the kind's weight matrices ((I + H) * G * H by default); 1-D weights are
    elementwise work and not counted."""
    shapes = KINDS[cell].parameter_shapes(r.I, r.H, r.H)
    return sum(math.prod(s) for name, s in shapes.items() if name.startswith("weight") and len(s) == 2)


def train_flops(cell: str, r: Row) -> float:
    return 3.0 * 2 * r.T * r.B * _matrix_entries(cell, r)


def infer_flops(cell: str, r: Row) -> float:
    return train_flops(cell, r) / 3.0


def train_target(cell: str, row: str) -> float:
    """Minimum ratio PyTorch time / rnnkit time for a training step (BENCHMARKS.md)."""
    if row in ("S", "M"):
        return SMALL_ROW_TRAIN_TARGETS.get(cell, 2.0)
    return 1.0


INFER_TARGET = 1.0
STREAM_TARGET = 3.0
XL_GEMM_FRACTION_TARGET = 0.8
EQUALITY_TOLERANCE = 1e-5
