"""Data utilities: padding and masks, minibatches, time-series windows, character vocabularies.

Arrays are time-major ``(T, B, F)`` by default, with ``batch_first`` where relevant.
"""

from rnnkit.data.batching import bucket_by_length, iterate_minibatches
from rnnkit.data.encoding import one_hot
from rnnkit.data.padding import length_mask, pad_sequences, unpad_sequences
from rnnkit.data.streams import split_streams, window_bounds
from rnnkit.data.vocab import CharVocab, batchify, tbptt_windows
from rnnkit.data.windows import make_windows

__all__ = [
    "pad_sequences", "unpad_sequences", "length_mask",
    "iterate_minibatches", "bucket_by_length",
    "make_windows",
    "CharVocab", "batchify", "tbptt_windows", "split_streams", "window_bounds",
    "one_hot",
]
