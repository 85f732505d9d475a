"""The tasks ``rnnkit train --task NAME --data FILE`` knows, one record each.

==========  ================  ==============================  ==============================================
task        estimator         --data                          held out for the report (evaluation.json)
==========  ================  ==============================  ==============================================
forecast    RNNForecaster     CSV/Parquet series, or a        the last --holdout steps (default --horizon):
                              packaged name (airline)         forecast, intervals, naive/seasonal/drift
classify    RNNClassifier     .ts, wide/long .csv, .npz       --test, else the validation part: confusion
regress     RNNRegressor      .ts, wide/long .csv, .npz       --test, else the validation part: truth/pred
tag         RNNTagger         long .csv, .npz, .py source     --test, else the validation part: per-tag
generate    CharLM            a text file or a folder         a sample, bits/char (validation text)
seq2seq     RNNSeq2Seq        CSV/TSV of source,target        --test, else the validation part: examples
==========  ================  ==============================  ==============================================

Each record says how to read the file, fit, build the held-out evaluation, run the network
once on a training batch (the gradient-flow picture), what ``predict`` writes and what
``evaluate`` measures; the commands read the record, never the task's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rnnkit.apps import task_forecast, task_sequences, task_text

__all__ = ["TaskSpec", "TaskOptions", "TASK_SPECS", "spec_of", "spec_for_estimator", "estimator_class"]


@dataclass(frozen=True)
class TaskOptions:
    """The task options of a run (saved in config.json, so predict/evaluate read files alike)."""

    target: str | None = None           # the label / value / target column
    source: str | None = None           # seq2seq: the source column
    date_column: str | None = None      # forecast: the time column
    id_column: str | None = None        # long CSV: the sequence id column
    time_column: str | None = None      # long CSV: the step order column
    holdout: int | None = None          # forecast: steps held out at the end (None: the horizon)
    impute: str | None = None           # None, 'linear' or 'ffill'
    coverage: float = 0.9               # forecast intervals
    suffixes: tuple | None = None       # generate: file endings read from a folder
    prime: str = ""                     # generate: the report's sample starts with it


@dataclass(frozen=True)
class TaskSpec:
    """How one task runs (see the module docstring)."""

    name: str
    estimator: str                                  # class name in rnnkit.estimators
    doc: str                                        # one line: `rnnkit tasks`, --help
    data: str                                       # what --data takes
    load: Callable                                  # (path, opts, role) -> data; role 'train'/'test'/'predict'
    fit: Callable                                   # (est, data, opts, fit_kw) -> None
    held_out: Callable                              # (est, data, test, opts) -> {"on", "metrics", "entries"}
    probe: Callable                                 # (est, data, opts): one forward on a training batch
    evaluate: Callable                              # (est, data, opts, args) -> JSON metrics with baselines
    predict: Callable | None = None                 # (est, data, opts, args) -> (header, rows)
    sample: Callable | None = None                  # (est, args) -> text
    options: frozenset = field(default_factory=frozenset)   # task options that apply
    uses_test: bool = True                          # takes --test FILE
    check_test: Callable | None = None              # (train, test): refuse before training what cannot work
    check: Callable | None = None                   # (est, data, opts): the same, for the data and settings


TASK_SPECS: dict[str, TaskSpec] = {s.name: s for s in (
    TaskSpec("forecast", "RNNForecaster", "forecast a series (one or more numeric columns) with intervals",
             "a CSV/TSV/Parquet series with a time column, or a packaged series name (airline, lynx, ...)",
             task_forecast.load, task_forecast.fit, task_forecast.held_out, task_forecast.probe,
             task_forecast.evaluate, task_forecast.predict,
             options=frozenset({"target", "date_column", "holdout", "impute", "coverage"}), uses_test=False,
             check=task_forecast.check),
    TaskSpec("classify", "RNNClassifier", "one label per sequence (variable lengths, any labels)",
             "a .ts file, a wide or long CSV, an .npz (X, y, lengths), or an installed UCR/UEA problem by name "
             "(JapaneseVowels: its TRAIN split; as --test or for predict/evaluate: its TEST split)",
             task_sequences.load_classify, task_sequences.fit, task_sequences.held_out_classify,
             task_sequences.probe, task_sequences.evaluate_classify, task_sequences.predict_classify,
             options=frozenset({"target", "id_column", "time_column", "impute"}),
             check_test=task_sequences.check_test_labels),
    TaskSpec("regress", "RNNRegressor", "one number per sequence",
             "a .ts regression file, a wide or long CSV with numeric targets, an .npz, or an installed "
             "regression archive problem by name (its TRAIN split; --test NAME: its TEST split)",
             task_sequences.load_regress, task_sequences.fit, task_sequences.held_out_regress,
             task_sequences.probe, task_sequences.evaluate_regress, task_sequences.predict_regress,
             options=frozenset({"target", "id_column", "time_column", "impute"})),
    TaskSpec("tag", "RNNTagger", "one label per time step (frame labelling, tagging)",
             "a long CSV (id, channels, tag per row), an .npz (X, y per step), or Python source (.py or a "
             "folder: each character tagged by its token kind)",
             task_sequences.load_tag, task_sequences.fit, task_sequences.held_out_tag, task_sequences.probe,
             task_sequences.evaluate_tag, task_sequences.predict_tag,
             options=frozenset({"target", "id_column", "time_column", "impute"}),
             check_test=task_sequences.check_test_labels),
    TaskSpec("generate", "CharLM", "a character-level language model: bits per character, sampling",
             "a text file or a folder of text files (--suffixes picks the file endings)",
             task_text.load_text_source, task_text.fit_charlm, task_text.held_out_charlm, task_text.probe_charlm,
             task_text.evaluate_charlm, sample=task_text.sample_charlm,
             options=frozenset({"suffixes", "prime"}), uses_test=False),
    TaskSpec("seq2seq", "RNNSeq2Seq", "rewrite one sequence into another (encoder-decoder, beam search)",
             "a CSV/TSV of pairs: columns source,target (or input,output; or the first two columns)",
             task_text.load_pairs, task_text.fit_seq2seq, task_text.held_out_seq2seq, task_text.probe_seq2seq,
             task_text.evaluate_seq2seq, task_text.predict_seq2seq,
             options=frozenset({"target", "source"}), check_test=task_text.check_test_pairs),
)}


def spec_of(task: str) -> TaskSpec:
    if task not in TASK_SPECS:
        raise ValueError(f"unknown task {task!r}: the tasks on files are {sorted(TASK_SPECS)}")
    return TASK_SPECS[task]


def estimator_class(spec: TaskSpec):
    """The estimator class of ``spec`` (a ValueError when this rnnkit lacks it)."""
    import rnnkit.estimators as estimators

    cls = getattr(estimators, spec.estimator, None)
    if cls is None:
        raise ValueError(f"--task {spec.name} needs rnnkit.estimators.{spec.estimator}, which this installation "
                         "of rnnkit does not have")
    return cls


def available_class(spec: TaskSpec):
    """The estimator class, or None when missing (for help texts)."""
    try:
        return estimator_class(spec)
    except ValueError:
        return None


def spec_for_estimator(est) -> TaskSpec | None:
    """The task whose estimator ``est`` is (a model file without its config.json)."""
    for spec in TASK_SPECS.values():
        if type(est).__name__ == spec.estimator:
            return spec
    return None
