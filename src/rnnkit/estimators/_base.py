"""What every estimator shares: scikit-learn's parameter protocol, the fitted check, saving.

scikit-learn's conventions (https://scikit-learn.org/stable/developers/develop.html), which
``sklearn.base.clone``, ``GridSearchCV`` and ``Pipeline`` rely on:

- every hyper-parameter is a keyword argument of ``__init__`` stored unchanged under its own
  name; ``__init__`` validates nothing (``fit`` does), so ``set_params`` then ``fit`` behaves
  as a fresh construction;
- what ``fit`` learns ends with an underscore (``model_``, ``classes_``, ``history_``);
- ``fit`` returns ``self``.

Saving: ``est.save(path)`` writes one file holding the class, the parameters, the fitted
state (scalers, labels, vocabulary: whatever :meth:`BaseEstimator._fitted_state` returns) and
the network's configuration and weights; :func:`rnnkit.load` rebuilds the estimator, which
then predicts exactly as the saved one did.

Example::

    est = RNNClassifier(hidden_size=32)
    est.get_params()["hidden_size"]          # 32
    est.set_params(hidden_size=64)           # returns est
"""

from __future__ import annotations

import inspect

from rnnkit.errors import NotFittedError

__all__ = ["BaseEstimator", "check_is_fitted"]


class BaseEstimator:
    """Base class: ``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature,
    ``save`` to one file; subclasses implement ``fit`` and their prediction methods.

    A subclass that can be saved defines ``_fitted_state() -> dict`` (JSON-able values and
    ndarrays, without the network) and ``_set_fitted_state(state)``; the network itself is
    ``self.model_`` (an :class:`rnnkit.nn.Module`, saved by configuration and weights).
    """

    # -- the parameter protocol -----------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        names = []
        for name, p in sig.parameters.items():
            if name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs (scikit-learn convention)")
            names.append(name)
        return sorted(names)

    def _store(self, args: dict) -> None:
        """``__init__``'s job: keep every argument unchanged under its own name (``self._store(locals())``)."""
        for name in self._param_names():
            setattr(self, name, args[name])

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments ``{name: value}`` (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> BaseEstimator:
        """Set constructor arguments by name; unknown names raise ``ValueError``. Returns ``self``.

        The new values take effect at the next ``fit``.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; valid parameters: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name in self._param_names():
            value = getattr(self, name, None)
            default = sig.parameters[name].default
            try:
                same = value is default or bool(value == default)
            except Exception:       # arrays and other values without a plain ==
                same = False
            if not same:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- fitted state -----------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "model_", None) is not None

    def _fitted_state(self) -> dict:
        """What ``fit`` learned beyond the network's weights (JSON-able values, ndarrays)."""
        return {}

    def _set_fitted_state(self, state: dict) -> None:
        """Inverse of :meth:`_fitted_state`, called by :func:`rnnkit.load`."""

    def save(self, path) -> None:
        """Write the fitted estimator to ``path`` (one file, atomic, no pickle).

        Load it back with :func:`rnnkit.load` (or ``type(est).load(path)``).
        """
        from rnnkit.estimators._persist import save_estimator

        save_estimator(self, path)

    @classmethod
    def load(cls, path) -> BaseEstimator:
        """The estimator saved at ``path``; a file of another estimator class is a ``FileFormatError``."""
        from rnnkit.estimators._persist import load_estimator

        return load_estimator(path, expected=cls)


def check_is_fitted(est: BaseEstimator, what: str = "this method") -> None:
    """Raise :class:`~rnnkit.errors.NotFittedError` unless ``est`` has been fitted."""
    if not est.__sklearn_is_fitted__():
        raise NotFittedError(f"{type(est).__name__} is not fitted yet: call fit before {what}")
