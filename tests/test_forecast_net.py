"""ForecastNet / ForecastEnsemble against PyTorch: outputs, input gradients, every parameter gradient."""

import numpy as np
import pytest

import rnnkit
from rnnkit.models.forecast_net import ForecastEnsemble, ForecastNet

torch = pytest.importorskip("torch", reason="PyTorch (optional) is the oracle")


def _torch_forward(net, x, cell):
    """The same network in torch: RNN over the window, h_n[-1] concat future covariates, Linear."""
    layers = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    rnn = layers(net.input_size, net.hidden_size, num_layers=net.rnn.num_layers, batch_first=True).double()
    head = torch.nn.Linear(net.head.in_features, net.head.out_features).double()
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(getattr(net.rnn, name).data))
        head.weight.copy_(torch.from_numpy(net.head.weight.data))
        head.bias.copy_(torch.from_numpy(net.head.bias.data))
    xt = torch.from_numpy(x).requires_grad_(True)
    W, K, Fu = net.window, net.n_steps, net.n_future
    _, state = rnn(xt[:, :W])
    h = (state[0] if cell == "lstm" else state)[-1]
    feat = torch.cat([h, xt[:, W:, net.input_size - Fu:].reshape(x.shape[0], K * Fu)], 1) if Fu else h
    return xt, head(feat), rnn, head


@pytest.mark.parametrize("cell,n_future,num_layers", [("lstm", 0, 1), ("lstm", 2, 2), ("gru", 1, 1), ("rnn", 0, 1)])
def test_forecast_net_matches_torch(cell, n_future, num_layers):
    net = ForecastNet(4, 5, window=6, n_steps=3, n_targets=2, n_future=n_future, cell=cell, num_layers=num_layers,
                      dtype=np.float64, rng=0)
    g = np.random.default_rng(1)
    x = g.normal(size=(7, net.input_steps, 4))
    d = g.normal(size=(7, 6))
    y = net(x)
    dx = net.backward(d)
    xt, yt, rnn, head = _torch_forward(net, x, cell)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    yt.backward(torch.from_numpy(d))
    expected_dx = xt.grad.numpy().copy()
    if n_future:                                     # torch reads only the future columns of the horizon rows
        assert np.all(dx[:, 6:, :4 - n_future] == 0)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-9, atol=1e-12, err_msg="dx")
    for name, p in rnn.named_parameters():
        np.testing.assert_allclose(getattr(net.rnn, name).grad, p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(net.head.weight.grad, head.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(net.head.bias.grad, head.bias.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_forecast_net_checks_shapes():
    net = ForecastNet(3, 4, window=5, n_steps=2, n_future=1, rng=0)
    with pytest.raises(ValueError, match=r"x expected shape \(B, 7, 3\)"):
        net(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="must hold n_targets"):
        ForecastNet(1, 4, window=5, n_targets=1, n_future=1)


def test_ensemble_is_the_mean_and_backpropagates_a_share_to_each_member():
    ens = ForecastEnsemble(3, 2, 4, window=5, n_steps=2, dtype=np.float64, rng=0)
    x = np.random.default_rng(2).normal(size=(3, 5, 2))
    y = ens(x)
    with rnnkit.no_grad():
        outs = [m(x) for m in ens.members]
    np.testing.assert_allclose(y, np.mean(outs, axis=0), rtol=1e-12)
    d = np.ones_like(y)
    dx = ens.backward(d)
    solo = ForecastEnsemble(3, 2, 4, window=5, n_steps=2, dtype=np.float64, rng=0)   # same weights
    total = 0
    for m in solo.members:
        m(x)
        total = total + m.backward(d / 3)
    np.testing.assert_allclose(dx, total, rtol=1e-12)
    for (n, p), (_, q) in zip(ens.named_parameters(), solo.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, err_msg=n)


def test_saved_and_loaded_like_every_model(tmp_path):
    ens = ForecastEnsemble(2, 3, 4, window=5, n_steps=2, n_targets=1, n_future=1, rng=0)
    rnnkit.save_model(ens, tmp_path / "e.npz")
    back = rnnkit.load_model(tmp_path / "e.npz")
    x = np.random.default_rng(3).normal(size=(2, 7, 3)).astype(np.float32)
    with rnnkit.no_grad():
        np.testing.assert_array_equal(back(x), ens(x))
