"""Reference PyTorch modules that libanoma runs (``import anoma.torch``
imports torch; ``import anoma`` does not).

Each module takes windows [batch, T, features] (float32, batch first) and is
trained as usual; ``anoma.from_torch(module, window=T)`` then runs it in C.
The recurrent cell is "lstm", "gru" or "rnn" (Elman, tanh); ``num_layers``
stacks cells as nn.LSTM does; dropout between layers is ignored at
inference, as in ``module.eval()``.

- SequenceAutoencoder (LSTMAutoencoder, GRUAutoencoder, RNNAutoencoder):
  encoder -> its last state repeated T times -> decoder -> Linear per step;
  returns [batch, T, features]; mode "reconstruction".
- Forecaster (LSTMForecaster, GRUForecaster, RNNForecaster): encoder's last
  state -> Linear to the next ``horizon`` points; returns
  [batch, horizon, features]; mode "forecast".
- Classifier (GRUClassifier, LSTMClassifier, RNNClassifier): encoder's last
  state -> Linear -> sigmoid; returns [batch, 1], the probability that the
  window is anomalous; mode "classification".

DenseAutoencoder works on rows instead: [batch, features] in and out,
Linear layers with an activation between them; ``anoma.from_torch(module)``
gives an ``anoma.Autoencoder`` (detector "autoencoder").
"""
import numpy as np
import torch
from torch import nn

__all__ = ["SequenceAutoencoder", "Forecaster", "Classifier", "LSTMAutoencoder",
           "GRUAutoencoder", "RNNAutoencoder", "LSTMForecaster", "GRUForecaster",
           "RNNForecaster", "GRUClassifier", "LSTMClassifier", "RNNClassifier",
           "DenseAutoencoder"]

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _cell(cell, n_in, hidden, num_layers):
    if cell not in _CELLS:
        raise ValueError("cell must be one of %s; got %r" % (", ".join(_CELLS), cell))
    return _CELLS[cell](n_in, hidden, num_layers, batch_first=True)


def _array(t):
    return t.detach().cpu().numpy().astype(np.float32)


def _recurrent_layers(kind, rnn, last_state):
    """The layer records of a stacked nn.LSTM/GRU/RNN: every layer returns
    all steps, except the top one when only its last state is used."""
    if getattr(rnn, "bidirectional", False) or getattr(rnn, "proj_size", 0):
        raise ValueError("bidirectional and projected recurrent layers are not supported")
    if kind == "rnn" and rnn.nonlinearity != "tanh":
        raise ValueError("only the tanh RNN is supported")
    layers = []
    for k in range(rnn.num_layers):
        n_in = rnn.input_size if k == 0 else rnn.hidden_size
        g = {"lstm": 4, "gru": 3, "rnn": 1}[kind] * rnn.hidden_size
        zeros = np.zeros(g, dtype=np.float32)
        layers.append({
            "kind": kind, "in": n_in, "out": rnn.hidden_size,
            "sequences": not (last_state and k == rnn.num_layers - 1),
            "weight_ih": _array(getattr(rnn, "weight_ih_l%d" % k)),
            "weight_hh": _array(getattr(rnn, "weight_hh_l%d" % k)),
            "bias_ih": _array(getattr(rnn, "bias_ih_l%d" % k)) if rnn.bias else zeros,
            "bias_hh": _array(getattr(rnn, "bias_hh_l%d" % k)) if rnn.bias else zeros,
        })
    return layers


def _linear(layer):
    bias = layer.bias if layer.bias is not None else torch.zeros(layer.out_features)
    return {"kind": "linear", "in": layer.in_features, "out": layer.out_features,
            "weight": _array(layer.weight), "bias": _array(bias)}


class SequenceAutoencoder(nn.Module):
    """Encoder-decoder reconstructing its input window."""

    def __init__(self, n_features, hidden_size, num_layers=1, cell="lstm"):
        super().__init__()
        self.cell = cell
        self.encoder = _cell(cell, n_features, hidden_size, num_layers)
        self.decoder = _cell(cell, hidden_size, hidden_size, num_layers)
        self.output = nn.Linear(hidden_size, n_features)

    def forward(self, x):
        encoded, _ = self.encoder(x)
        repeated = encoded[:, -1:, :].expand(-1, x.shape[1], -1)
        decoded, _ = self.decoder(repeated)
        return self.output(decoded)

    def anoma_graph(self, window):
        h = self.encoder.hidden_size
        return {"mode": "reconstruction", "n_features": self.encoder.input_size,
                "layers": _recurrent_layers(self.cell, self.encoder, True)
                + [{"kind": "repeat", "in": h, "out": h, "count": int(window)}]
                + _recurrent_layers(self.cell, self.decoder, False)
                + [_linear(self.output)]}


class Forecaster(nn.Module):
    """Predicts the ``horizon`` points after the window."""

    def __init__(self, n_features, hidden_size, num_layers=1, horizon=1, cell="lstm"):
        super().__init__()
        self.cell, self.n_features, self.horizon = cell, n_features, horizon
        self.encoder = _cell(cell, n_features, hidden_size, num_layers)
        self.output = nn.Linear(hidden_size, horizon * n_features)

    def forward(self, x):
        encoded, _ = self.encoder(x)
        return self.output(encoded[:, -1, :]).view(-1, self.horizon, self.n_features)

    def anoma_graph(self, window):
        return {"mode": "forecast", "n_features": self.n_features, "horizon": self.horizon,
                "layers": _recurrent_layers(self.cell, self.encoder, True)
                + [_linear(self.output)]}


class Classifier(nn.Module):
    """The probability that a window is anomalous (train on labelled windows)."""

    def __init__(self, n_features, hidden_size, num_layers=1, cell="gru"):
        super().__init__()
        self.cell = cell
        self.encoder = _cell(cell, n_features, hidden_size, num_layers)
        self.output = nn.Linear(hidden_size, 1)

    def forward(self, x):
        encoded, _ = self.encoder(x)
        return torch.sigmoid(self.output(encoded[:, -1, :]))

    def anoma_graph(self, window):
        return {"mode": "classification", "n_features": self.encoder.input_size,
                "layers": _recurrent_layers(self.cell, self.encoder, True)
                + [_linear(self.output),
                   {"kind": "activation", "in": 1, "out": 1, "activation": "sigmoid"}]}


class LSTMAutoencoder(SequenceAutoencoder):
    """SequenceAutoencoder with LSTM cells."""

    def __init__(self, n_features, hidden_size, num_layers=1):
        super().__init__(n_features, hidden_size, num_layers, cell="lstm")


class GRUAutoencoder(SequenceAutoencoder):
    """SequenceAutoencoder with GRU cells."""

    def __init__(self, n_features, hidden_size, num_layers=1):
        super().__init__(n_features, hidden_size, num_layers, cell="gru")


class RNNAutoencoder(SequenceAutoencoder):
    """SequenceAutoencoder with tanh RNN cells."""

    def __init__(self, n_features, hidden_size, num_layers=1):
        super().__init__(n_features, hidden_size, num_layers, cell="rnn")


class LSTMForecaster(Forecaster):
    """Forecaster with LSTM cells."""

    def __init__(self, n_features, hidden_size, num_layers=1, horizon=1):
        super().__init__(n_features, hidden_size, num_layers, horizon, cell="lstm")


class GRUForecaster(Forecaster):
    """Forecaster with GRU cells."""

    def __init__(self, n_features, hidden_size, num_layers=1, horizon=1):
        super().__init__(n_features, hidden_size, num_layers, horizon, cell="gru")


class RNNForecaster(Forecaster):
    """Forecaster with tanh RNN cells."""

    def __init__(self, n_features, hidden_size, num_layers=1, horizon=1):
        super().__init__(n_features, hidden_size, num_layers, horizon, cell="rnn")


class GRUClassifier(Classifier):
    """Classifier with GRU cells."""

    def __init__(self, n_features, hidden_size, num_layers=1):
        super().__init__(n_features, hidden_size, num_layers, cell="gru")


class LSTMClassifier(Classifier):
    """Classifier with LSTM cells."""

    def __init__(self, n_features, hidden_size, num_layers=1):
        super().__init__(n_features, hidden_size, num_layers, cell="lstm")


class RNNClassifier(Classifier):
    """Classifier with tanh RNN cells."""

    def __init__(self, n_features, hidden_size, num_layers=1):
        super().__init__(n_features, hidden_size, num_layers, cell="rnn")


_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "identity": nn.Identity}


class DenseAutoencoder(nn.Module):
    """Encoder and decoder of Linear layers on rows: features -> hidden[0]
    -> ... -> hidden[-1] -> features, ``activation`` after every layer but
    the last (its output is the reconstruction, unbounded). ``forward``
    takes and returns [batch, features] float32. ``hidden=(64, 16, 64)``
    is an encoder to 16 units and its mirror; the layers are ``self.net``,
    an nn.Sequential, as libanoma's native training builds them."""

    def __init__(self, n_features, hidden=(64, 16, 64), activation="relu"):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError("activation must be one of %s; got %r"
                             % (", ".join(_ACTIVATIONS), activation))
        widths = [int(n_features)] + [int(h) for h in hidden] + [int(n_features)]
        layers = []
        for k in range(len(widths) - 1):
            layers.append(nn.Linear(widths[k], widths[k + 1]))
            if k + 2 < len(widths):
                layers.append(_ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
