"""The estimator base: scikit-learn's parameter protocol, the fitted check, one-file saving."""

import numpy as np
import pytest

import rnnkit
from rnnkit.errors import FileFormatError, NotFittedError
from rnnkit.estimators import BaseEstimator, FitSettings, KeepBest, register_estimator, train_network
from rnnkit.models import SequenceModel
from rnnkit.train import predict


@register_estimator
class _Summer(BaseEstimator):
    """A minimal estimator: a GRU regressing the sum of its inputs, with a fitted offset."""

    def __init__(self, hidden_size=8, max_epochs=3, lr=1e-2, random_state=0):
        self.hidden_size = hidden_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.random_state = random_state

    def fit(self, X, y):
        self.offset_ = float(np.mean(y))
        self.model_ = SequenceModel(X.shape[2], self.hidden_size, 1, cell="gru", output="last",
                                    rng=self.random_state)
        self.history_, self.keep_ = train_network(
            self.model_, (X, y - self.offset_), val_data=(X[:8], y[:8] - self.offset_),
            settings=FitSettings.from_estimator(self), loss="mse", rng=self.random_state)
        return self

    def _fitted_state(self):
        return {"offset": self.offset_}

    def _set_fitted_state(self, state):
        self.offset_ = state["offset"]

    def predict(self, X):
        return predict(self.model_, X)[:, 0] + self.offset_


def _data(n=40):
    g = np.random.default_rng(0)
    X = g.normal(size=(n, 5, 2)).astype(np.float32)
    return X, X.sum(axis=(1, 2))[:, None].astype(np.float32)


def test_get_set_params_and_repr():
    est = _Summer(hidden_size=4)
    assert est.get_params() == {"hidden_size": 4, "lr": 1e-2, "max_epochs": 3, "random_state": 0}
    assert est.set_params(lr=0.5) is est and est.lr == 0.5
    assert repr(est) == "_Summer(hidden_size=4, lr=0.5)"
    with pytest.raises(ValueError, match="no parameter 'hiden_size'"):
        est.set_params(hiden_size=3)


def test_not_fitted_is_a_clear_error(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted yet: call fit before save"):
        _Summer().save(tmp_path / "x.npz")
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_save_load_predicts_the_same(tmp_path):
    X, y = _data()
    est = _Summer().fit(X, y)
    path = tmp_path / "est.npz"
    est.save(path)
    back = rnnkit.load(path)
    assert type(back) is _Summer and back.get_params() == est.get_params()
    assert back.offset_ == est.offset_
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert type(_Summer.load(path)) is _Summer


def test_load_refuses_another_class_and_plain_files(tmp_path):
    X, y = _data()
    path = tmp_path / "est.npz"
    _Summer().fit(X, y).save(path)

    @register_estimator
    class _Other(BaseEstimator):
        def __init__(self, a=1):
            self.a = a

    with pytest.raises(FileFormatError, match="holds a _Summer, not a _Other"):
        _Other.load(path)
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(FileFormatError):
        rnnkit.load(tmp_path / "plain.npy")


def test_rnnkit_load_also_reads_bare_models(tmp_path):
    model = SequenceModel(2, 3, 1, rng=0)
    rnnkit.save_model(model, tmp_path / "m.npz")
    back = rnnkit.load(tmp_path / "m.npz")
    assert type(back) is SequenceModel
    for (n, p), (_, q) in zip(model.named_parameters(), back.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_keep_best_restores_the_best_epoch():
    X, y = _data()
    est = _Summer(max_epochs=6, lr=0.05).fit(X, y)
    keep: KeepBest = est.keep_
    val = est.history_.history["val_loss"]
    assert keep.best_epoch == int(np.argmin(val)) + 1
    Xv, yv = X[:8], y[:8] - est.offset_
    pred = predict(est.model_, Xv)
    assert np.mean((pred - yv) ** 2) == pytest.approx(min(val), rel=1e-5)


def test_fit_settings_are_checked():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        FitSettings(batch_size=0).validate()
    with pytest.raises(TypeError, match="max_epochs must be an integer"):
        FitSettings(max_epochs=2.5).validate()


def test_train_network_resumes_a_checkpointed_run_exactly(tmp_path):
    X, y = _data()
    settings = FitSettings(max_epochs=4, lr=0.05, patience=10)

    def run(epochs, resume):
        model = SequenceModel(2, 6, 1, cell="gru", output="last", rng=0)
        s = FitSettings(**{**settings.__dict__, "max_epochs": epochs})
        hist, keep = train_network(model, (X, y), val_data=(X[:8], y[:8]), settings=s, loss="mse", rng=0,
                                   checkpoint=tmp_path / "ckpt.npz", resume=resume)
        return model, hist, keep

    full_model, full_hist, full_keep = run(4, False)
    run(2, False)                                  # a run cut after epoch 2 ...
    model, hist, keep = run(4, True)               # ... and continued from its checkpoint
    assert hist.history["val_loss"] == full_hist.history["val_loss"]
    assert keep.best_epoch == full_keep.best_epoch
    for (n, p), (_, q) in zip(model.named_parameters(), full_model.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        train_network(SequenceModel(2, 3, 1, rng=0), (X, y), settings=settings, loss="mse", resume=True)


@pytest.mark.parametrize("name", ["RNNClassifier", "RNNRegressor", "RNNTagger", "RNNForecaster", "CharLM",
                                  "RNNSeq2Seq"])
def test_absurd_sizes_are_refused_before_anything_is_allocated(name):
    import rnnkit.estimators as E

    est = getattr(E, name)(hidden_size=10**9)
    data = {"RNNForecaster": (np.arange(60.0),), "CharLM": ("abc" * 50,),
            "RNNSeq2Seq": (["ab", "cd"] * 5, ["ba", "dc"] * 5), "RNNTagger": (["ab", "cd"] * 5, ["xy", "yx"] * 5)}
    args = data.get(name, ([np.zeros((4, 2))] * 10, [0, 1] * 5))
    with pytest.raises(ValueError, match="hidden_size=1000000000 is beyond the limit"):
        est.fit(*args)
