"""Sequence detectors ("seq_autoencoder"): recurrent networks trained in
PyTorch, run by libanoma on windows of a series, in batch and in streams.

``from_torch(module, window=T)`` turns one of the reference modules of
``anoma.torch`` (or any module with the same ``anoma_graph`` method) into a
``SequenceModel``. This file imports no torch: the module hands over its
graph as numpy arrays. docs/detectors/seq_autoencoder.md describes the
modes, the scores and the payload built here."""
import ctypes
import struct

import numpy as np

from ._arrays import as_matrix
from ._library import Matrix, lib
from .errors import check
from .export import exported_model
from .model import Model

__all__ = ["SequenceModel", "from_torch", "import_sequence", "sequence_payload", "graph_bytes",
           "MODES"]

MODES = {"reconstruction": 0, "forecast": 1, "classification": 2}
# layer kinds of lib/nn/nn.h
KINDS = {"lstm": 1, "gru": 2, "rnn": 3, "linear": 4, "repeat": 5, "activation": 6}
ACTIVATIONS = {"identity": 0, "tanh": 1, "sigmoid": 2, "relu": 3}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}

_p, _sz = ctypes.c_void_p, ctypes.c_size_t
for _name, _args in {
    "anoma_model_sequence_shape": [_p, _sz, ctypes.POINTER(_sz), ctypes.POINTER(_sz),
                                   ctypes.POINTER(_sz)],
    "anoma_model_predict_windows": [_p, _sz, _p, _sz, _p, _sz, ctypes.POINTER(_sz)],
    "anoma_model_window_scores": [_p, _sz, _p, _sz, _p],
    "anoma_model_series_scores": [_p, _sz, ctypes.POINTER(Matrix), _p],
}.items():
    getattr(lib, _name).restype = ctypes.c_int
    getattr(lib, _name).argtypes = _args


def _f32(a, shape, what):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.shape != shape:
        raise ValueError("%s: expected shape %s, got %s" % (what, shape, a.shape))
    return a.tobytes()


def sequence_payload(mode, window, n_features, layers, center=None, scale=None, weights=None,
                     horizon=0):
    """The "seq_autoencoder" payload (docs/detectors/seq_autoencoder.md).

    ``layers``: a list of dicts, each with ``kind`` (lstm, gru, rnn, linear,
    repeat, activation), ``in`` and ``out`` widths and: for recurrent layers
    ``sequences`` (bool) and PyTorch's ``weight_ih``, ``weight_hh``,
    ``bias_ih``, ``bias_hh``; for linear ``weight`` [out, in] and ``bias``;
    for repeat ``count``; for activation ``activation``."""
    f = int(n_features)
    center = np.zeros(f) if center is None else np.asarray(center, dtype=np.float64)
    scale = np.ones(f) if scale is None else np.asarray(scale, dtype=np.float64)
    weights = np.ones(f) if weights is None else np.asarray(weights, dtype=np.float64)
    for name, a in (("center", center), ("scale", scale), ("feature_weights", weights)):
        if a.shape != (f,):
            raise ValueError("%s: expected %d values, got shape %s" % (name, f, a.shape))
    out = [struct.pack("<III", MODES[mode], int(window), int(horizon)),
           center.astype("<f8").tobytes(), scale.astype("<f8").tobytes(),
           weights.astype("<f8").tobytes(), graph_bytes(layers)]
    return b"".join(out)


def graph_bytes(layers):
    """A layer list as lib/nn stores it (docs/detectors/seq_autoencoder.md,
    "Importing: the payload"), from the layer count on."""
    out = [struct.pack("<Q", len(layers))]
    for k, layer in enumerate(layers):
        kind, i, o = layer["kind"], int(layer["in"]), int(layer["out"])
        what = "layer %d (%s)" % (k, kind)
        if kind in GATES:
            g = GATES[kind] * o
            # option: bit 0 all steps; bit 1 (GRU) the reset before the
            # recurrent product, as Keras's reset_after=False
            option = int(bool(layer["sequences"])) | (2 if layer.get("reset_before") else 0)
            out.append(struct.pack("<IIII", KINDS[kind], i, o, option))
            out += [_f32(layer["weight_ih"], (g, i), what + " weight_ih"),
                    _f32(layer["weight_hh"], (g, o), what + " weight_hh"),
                    _f32(layer["bias_ih"], (g,), what + " bias_ih"),
                    _f32(layer["bias_hh"], (g,), what + " bias_hh")]
        elif kind == "linear":
            out.append(struct.pack("<IIII", KINDS[kind], i, o, 0))
            out += [_f32(layer["weight"], (o, i), what + " weight"),
                    _f32(layer["bias"], (o,), what + " bias")]
        elif kind == "repeat":
            out.append(struct.pack("<IIII", KINDS[kind], i, o, int(layer["count"])))
        elif kind == "activation":
            out.append(struct.pack("<IIII", KINDS[kind], i, o,
                                   ACTIVATIONS[layer["activation"]]))
        else:
            raise ValueError("%s: unknown layer kind" % what)
    return b"".join(out)


def _scaling(scaler, n_features):
    """(center, scale) with network input = (x - center) / scale."""
    if scaler is None:
        return None, None
    if hasattr(scaler, "mean_") and hasattr(scaler, "scale_"):  # StandardScaler
        mean = scaler.mean_ if scaler.mean_ is not None else np.zeros(n_features)
        scale = scaler.scale_ if scaler.scale_ is not None else np.ones(n_features)
        return np.asarray(mean, float), np.asarray(scale, float)
    if hasattr(scaler, "min_") and hasattr(scaler, "scale_"):  # MinMaxScaler: x * s + m
        s, m = np.asarray(scaler.scale_, float), np.asarray(scaler.min_, float)
        return -m / s, 1.0 / s
    center, scale = scaler
    return np.asarray(center, float), np.asarray(scale, float)


class SequenceModel:
    """A recurrent network scoring windows of a series (detector
    "seq_autoencoder"). ``model`` is the underlying ``anoma.Model`` (save
    it, stream it with ``anoma.Stream(seq.model)``)."""

    def __init__(self, model, detector=0):
        self.model = model
        self.detector = detector
        window, length, outputs = _sz(), _sz(), _sz()
        check(lib.anoma_model_sequence_shape(model._handle, detector, ctypes.byref(window),
                                             ctypes.byref(length), ctypes.byref(outputs)))
        self.window, self.length, self.n_outputs = window.value, length.value, outputs.value
        self.n_features = model.n_features

    def _windows(self, W, steps, name):
        W = np.ascontiguousarray(W, dtype=np.float64)
        if W.ndim != 3 or W.shape[1:] != (steps, self.n_features):
            raise ValueError("%s: expected windows of shape [n, %d, %d], got %s"
                             % (name, steps, self.n_features, W.shape))
        return W

    def predict_windows(self, W):
        """The network's output for windows W [n, T, features] (scaled as the
        network was trained), float32, shaped as the network gives it:
        [n, T, features] for an autoencoder, [n, horizon, features] for a
        forecaster, [n, 1] for a classifier."""
        W = self._windows(W, self.window, "predict_windows")
        out = np.empty(W.shape[0] * self.n_outputs, dtype=np.float32)
        check(lib.anoma_model_predict_windows(self.model._handle, self.detector, W.ctypes.data,
                                              W.shape[0], out.ctypes.data, out.shape[0], None))
        return out.reshape(self._output_shape(W.shape[0]))

    def _output_shape(self, n):
        if self.n_outputs == 1:
            return (n, 1)
        return (n, self.n_outputs // self.n_features, self.n_features)

    def window_scores(self, W):
        """The score of each window W [n, length, features] (length = T, or
        T + horizon for a forecaster: the points read, then those predicted)."""
        W = self._windows(W, self.length, "window_scores")
        scores = np.empty(W.shape[0])
        check(lib.anoma_model_window_scores(self.model._handle, self.detector, W.ctypes.data,
                                            W.shape[0], scores.ctypes.data))
        return scores

    def anomaly_score(self, series):
        """Per-point scores of a series [rows, features] (the detector's
        stride and point_score rule; NaN where no window gives one)."""
        m = as_matrix(np.asarray(series).reshape(len(series), -1), "series")
        scores = np.empty(m.rows)
        check(lib.anoma_model_series_scores(self.model._handle, self.detector, ctypes.byref(m),
                                            scores.ctypes.data))
        return scores

    def describe(self):
        return self.model.describe()

    def save(self, path):
        self.model.save(path)

    @classmethod
    def load(cls, path, detector=0):
        return cls(Model.load(path), detector)


def import_sequence(mode, window, n_features, layers, horizon=0, scaler=None,
                    feature_weights=None, threshold=None, stride=1, point_score="mean"):
    """A ``SequenceModel`` from a layer list (as ``sequence_payload`` takes
    it); the importers (``from_torch``, ``from_keras_weights``) end here."""
    center, scale = _scaling(scaler, n_features)
    payload = sequence_payload(mode, window, n_features, layers, center, scale, feature_weights,
                               horizon)
    if threshold is None:
        threshold = 0.5 if mode == "classification" else 1e300
    return SequenceModel(exported_model("seq_autoencoder", payload, n_features,
                                        {"stride": stride, "point_score": point_score},
                                        threshold=float(threshold)))


def from_torch(module, window=None, scaler=None, feature_weights=None, threshold=None, stride=1,
               point_score="mean"):
    """A ``SequenceModel`` running ``module`` (a reference module of
    ``anoma.torch``: it describes itself through ``anoma_graph(window)``).

    A dense autoencoder on rows (``anoma.torch.DenseAutoencoder``, or an
    ``nn.Sequential`` of Linear layers and activations) needs no window and
    gives an ``anoma.Autoencoder`` instead (``anoma.autoencoder.from_torch_dense``:
    ``scaler``, ``feature_weights`` and ``threshold`` as here).

    ``window``: T, the points the network reads. ``scaler``: what maps the
    series to the network's input, a fitted scikit-learn StandardScaler or
    MinMaxScaler or a (center, scale) pair; None = the series as is.
    ``feature_weights``: weights of each feature in the squared error.
    ``threshold``: the model's threshold on the score (default 0.5 for a
    classifier; for an error none is known, so 1e300 until set with
    ``seq.model.threshold = t``). ``stride`` and ``point_score``: the
    detector's parameters (docs/detectors/seq_autoencoder.md)."""
    from .autoencoder import dense_layers, from_torch_dense
    if dense_layers(module) is not None:
        return from_torch_dense(module, scaler, feature_weights, threshold)
    if window is None:
        raise ValueError("from_torch: window= (the points the network reads) is needed for a "
                         "sequence module")
    graph = module.anoma_graph(window)
    return import_sequence(graph["mode"], window, graph["n_features"], graph["layers"],
                           graph.get("horizon", 0), scaler, feature_weights, threshold, stride,
                           point_score)
