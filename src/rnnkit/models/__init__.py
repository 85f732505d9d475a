"""Ready-made networks built from :mod:`rnnkit.nn`: what the estimators, the CLI and the demos train.

- :class:`SequenceModel`: (Embedding) -> RNN/LSTM/GRU -> (Dropout) -> Linear, batch-first,
  many-to-many or many-to-one.
- :class:`CharRNN`: a character-level language model (a token-input ``SequenceModel``).
- :class:`Ensemble`: several trained networks whose outputs (or class probabilities) are averaged.
- :class:`ForecastNet` (and :class:`ForecastEnsemble`, their mean): the forecaster's recurrent
  encoder with a multi-step linear head fed with future covariates.
- :class:`Seq2Seq`: encoder-decoder over token ids, with :func:`pack_seq2seq` to carry
  source, lengths and decoder input through :func:`rnnkit.train.fit` as one array;
  :func:`beam_search` decodes it with length-normalised beam search.

Every model registers itself with :func:`rnnkit.serialization.register`, so
:func:`rnnkit.load_model` can rebuild it.
"""

from rnnkit.models.beam import beam_search
from rnnkit.models.char_rnn import CharRNN
from rnnkit.models.ensemble import Ensemble
from rnnkit.models.forecast_net import ForecastEnsemble, ForecastNet
from rnnkit.models.seq2seq import Seq2Seq, pack_seq2seq, seq2seq_data, unpack_seq2seq
from rnnkit.models.sequence_model import SequenceModel

__all__ = ["SequenceModel", "CharRNN", "Seq2Seq", "Ensemble", "ForecastNet", "ForecastEnsemble", "pack_seq2seq",
           "unpack_seq2seq", "seq2seq_data", "beam_search"]
