"""Generate text from a character-level model trained with ``rnnkit train --task stdlib_text``.

One-to-many: the prime text sets the state, then each sampled character is fed back in::

    p(c_{t+1} | c_{<=t}) = softmax(logits_t / temperature)
"""

from __future__ import annotations

from rnnkit._checks import check_float_range, check_int
from rnnkit.data import CharVocab
from rnnkit.serialization import load_model

__all__ = ["sample_text"]


def sample_text(model_path: str, *, length: int = 300, prime: str = "def ", temperature: float = 0.8,
                seed: int = 0) -> str:
    """Return ``prime`` followed by ``length`` sampled characters."""
    length = check_int("length", length, 1)
    temperature = check_float_range("temperature", temperature, 1e-3, 100.0)
    model, meta = load_model(model_path, return_metadata=True)
    if not isinstance(meta, dict) or not meta.get("vocab"):
        raise ValueError(f"{model_path}: not a character model (no vocabulary in its metadata)")
    vocab = CharVocab.from_json(meta["vocab"])
    unknown = sorted({c for c in prime if c not in vocab})
    if not prime or unknown:
        raise ValueError(f"prime must be non-empty text in the model's vocabulary; unknown characters: {unknown}")
    ids = model.generate(vocab.encode(prime), length, temperature=temperature, rng=seed)
    return prime + vocab.decode(ids)
