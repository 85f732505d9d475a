"""The registered cell kinds: one line per kind (its record lives in ``kernels/<kind>_ref.py``).

Adding a kind is a new reference module with its :class:`~rnnkit.kernels.CellKind`, a new
compiled module (``kernels/fast/<kind>.py``) named by the record's ``compiled``, and one line
in ``_RECORDS`` below (see ``docs/kernels.md``).
"""

from __future__ import annotations

from rnnkit.kernels import (
    gru_ref,
    indrnn_ref,
    lngru_ref,
    lnlstm_ref,
    lstm_ref,
    mingru_ref,
    minlstm_ref,
    peephole_ref,
    rnn_ref,
    sru_ref,
)
from rnnkit.kernels._kind import CellKind

__all__ = ["KINDS", "get_kind"]

_RECORDS = (
    rnn_ref.RNN,
    gru_ref.GRU,
    lstm_ref.LSTM,
    indrnn_ref.INDRNN,
    mingru_ref.MINGRU,
    minlstm_ref.MINLSTM,
    lnlstm_ref.LNLSTM, lngru_ref.LNGRU,
    sru_ref.SRU,
    peephole_ref.PEEPHOLE_LSTM,
)

KINDS: dict[str, CellKind] = {k.name: k for k in _RECORDS}


def get_kind(name) -> CellKind:
    """The record of the kind called ``name`` ('RNN', 'GRU', 'LSTM'); a record passes through."""
    if isinstance(name, CellKind):
        return name
    kind = KINDS.get(name)
    if kind is None:
        raise ValueError(f"cell kind must be one of {tuple(KINDS)}, got {name!r}")
    return kind
