"""Sequence tasks with known answers, generated on the spot or read from the stdlib's sources.

Every task takes sizes and ``seed=`` / ``rng=`` and returns numpy arrays with a description
(``SequenceDataset``, or ``TextCorpus`` for text), time-major ``(T, N, ...)`` by default:

=====================  =========================================  ==============================
task                   mapping                                    exercises
=====================  =========================================  ==============================
sine_wave              forecasting                                smooth dynamics, noise floor
adding_problem         many-to-one regression                     long-range memory
copy_task              many-to-many synchronous                   long-range memory
delayed_recall         many-to-many synchronous                   short-term buffer
parity, counting       many-to-one classification                 state over the whole sequence
sequence_labelling     many-to-many synchronous                   running state (XOR, depth)
reverse_sequence,      seq2seq (different lengths)                encoder-decoder
sort_digits
sentiment_like         many-to-one, variable length               word order (negation)
stdlib_text            one-to-many generation                     char-level language model
=====================  =========================================  ==============================

``get(name, **kw)`` builds a task by name; ``available()`` lists the names.

Real data, read from files (nothing is downloaded):

- ``load_ts``: a UCR/UEA ``.ts`` file; ``load_uea`` / ``load_ucr`` / ``load_archive``: the archive
  problems the aeon and sktime wheels ship (``list_archives()``).
- ``load_sequences``: labelled sequences from ``.ts``, wide or long ``.csv``, or ``.npz``;
  ``load_tagged``: one label per step (long ``.csv``, ``.npz``); ``load_pairs``: string pairs.
- ``load_series``: a CSV or Parquet series, or a packaged one by name (``list_series()``).
- ``load_mnist1d``: MNIST-1D through the optional ``mnist1d`` package.
- ``load_text``: a text file, a folder of them, or a list (``stdlib_text`` stays the built-in corpus).
- ``python_token_tags``: Python source with each character tagged by its token kind (tagging).
- ``date_pairs``: real calendar dates written in one format and in another (seq2seq).
"""

from rnnkit.datasets._base import IGNORE_INDEX, MAPPINGS, SequenceDataset, TextCorpus
from rnnkit.datasets.archives import list_archives, load_archive, load_ucr, load_uea
from rnnkit.datasets.classification import counting, parity
from rnnkit.datasets.code_tags import TAG_NAMES, TaggedText, python_token_tags, tag_python
from rnnkit.datasets.csv_series import PACKAGED_SERIES, TimeSeries, list_series, load_series
from rnnkit.datasets.date_pairs import DATE_FORMATS, TextPairs, date_pairs, format_date
from rnnkit.datasets.labelling import sequence_labelling
from rnnkit.datasets.memory import adding_problem, copy_task, delayed_recall
from rnnkit.datasets.mnist1d import load_mnist1d
from rnnkit.datasets.registry import available, get
from rnnkit.datasets.sentiment import SENTIMENT_WORDS, sentiment_like
from rnnkit.datasets.seq2seq import reverse_sequence, sort_digits
from rnnkit.datasets.sequence_data import SequenceData
from rnnkit.datasets.sequence_files import load_sequences
from rnnkit.datasets.series import sine_wave
from rnnkit.datasets.tagged_files import load_pairs, load_tagged
from rnnkit.datasets.text import stdlib_files, stdlib_text
from rnnkit.datasets.text_files import load_text
from rnnkit.datasets.ts_format import load_ts, read_ts_header

__all__ = [
    "SequenceDataset", "TextCorpus", "IGNORE_INDEX", "MAPPINGS",
    "sine_wave", "adding_problem", "copy_task", "delayed_recall", "parity", "counting",
    "sequence_labelling", "reverse_sequence", "sort_digits", "stdlib_text", "stdlib_files",
    "sentiment_like", "SENTIMENT_WORDS", "get", "available",
    "SequenceData", "load_ts", "read_ts_header", "load_uea", "load_ucr", "load_archive", "list_archives",
    "load_mnist1d", "TimeSeries", "load_series", "list_series", "PACKAGED_SERIES",
    "load_sequences", "load_text", "TaggedText", "python_token_tags", "tag_python", "TAG_NAMES",
    "TextPairs", "date_pairs", "format_date", "DATE_FORMATS", "load_tagged", "load_pairs",
]
