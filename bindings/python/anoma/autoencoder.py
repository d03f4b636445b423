"""The dense autoencoder on rows ("autoencoder" detector) with
scikit-learn's outlier conventions, and its import from PyTorch.

The score of a row is its weighted mean squared reconstruction error in
the network's units: with z = (x - center) / scale and y the network's
output for z, ``sum_j w_j (z_j - y_j) ** 2 / sum_j w_j``.
docs/detectors/autoencoder.md describes the scores and the payload built
here. This file imports no torch: modules are read through their
attributes."""
import struct

import numpy as np

from .estimators import _OutlierDetector
from .model import Model
from .sequence import _scaling, graph_bytes

__all__ = ["Autoencoder", "from_torch_dense", "dense_layers", "dense_payload"]

# torch.nn class names and the lib/nn activation they are
_ACTIVATION_MODULES = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid",
                       "Identity": "identity"}


def _array(t):
    return t.detach().cpu().numpy().astype(np.float32)


def dense_layers(module):
    """The layer list (as ``graph_bytes`` takes it) of a dense network: an
    ``nn.Sequential`` of Linear layers, activations (ReLU, Tanh, Sigmoid,
    Identity) and Dropout (the identity at inference), or a module holding
    one as ``net`` (``anoma.torch.DenseAutoencoder``). None for any other
    module; ValueError for a Sequential holding another kind of layer."""
    seq = module
    if type(seq).__name__ != "Sequential":
        seq = getattr(module, "net", None)
        if type(seq).__name__ != "Sequential":
            return None
    layers, width = [], None
    for k, child in enumerate(seq.children()):
        name = type(child).__name__
        if name == "Linear":
            if width is not None and child.in_features != width:
                raise ValueError("layer %d (Linear): %d inputs after a layer of width %d"
                                 % (k, child.in_features, width))
            bias = (_array(child.bias) if child.bias is not None
                    else np.zeros(child.out_features, np.float32))
            layers.append({"kind": "linear", "in": child.in_features,
                           "out": child.out_features, "weight": _array(child.weight),
                           "bias": bias})
            width = child.out_features
        elif name in _ACTIVATION_MODULES:
            if width is None:
                raise ValueError("layer %d (%s): the network must start with a Linear layer"
                                 % (k, name))
            layers.append({"kind": "activation", "in": width, "out": width,
                           "activation": _ACTIVATION_MODULES[name]})
        elif name == "Dropout":
            continue
        else:
            raise ValueError("layer %d (%s): a dense autoencoder holds only Linear layers, "
                             "ReLU, Tanh, Sigmoid, Identity and Dropout" % (k, name))
    if not layers:
        raise ValueError("the network has no layers")
    return layers


def dense_payload(n_features, layers, center=None, scale=None, weights=None):
    """The "autoencoder" payload, version 1 (docs/detectors/autoencoder.md),
    for an imported network (0 epochs trained, loss NaN)."""
    f = int(n_features)
    center = np.zeros(f) if center is None else np.asarray(center, dtype=np.float64)
    scale = np.ones(f) if scale is None else np.asarray(scale, dtype=np.float64)
    weights = np.ones(f) if weights is None else np.asarray(weights, dtype=np.float64)
    for name, a in (("center", center), ("scale", scale), ("feature_weights", weights)):
        if a.shape != (f,):
            raise ValueError("%s: expected %d values, got shape %s" % (name, f, a.shape))
    return b"".join([struct.pack("<Id", 0, float("nan")), center.astype("<f8").tobytes(),
                     scale.astype("<f8").tobytes(), weights.astype("<f8").tobytes(),
                     graph_bytes(layers)])


def from_torch_dense(module, scaler=None, feature_weights=None, threshold=None):
    """An ``Autoencoder`` running the dense PyTorch ``module`` (see
    ``dense_layers``): ``anomaly_score(X)`` is the mean squared error
    between ``module(scaler(X))`` and ``scaler(X)`` (weighted by
    ``feature_weights``). ``scaler``: a fitted StandardScaler or
    MinMaxScaler, or a (center, scale) pair; None = the rows as they are.
    ``threshold``: the model's threshold on the score; by default the
    largest double (nothing is flagged) until ``threshold_`` is set, as no
    training scores are known to take one from."""
    layers = dense_layers(module)
    if layers is None:
        raise ValueError("from_torch: not a dense network (an nn.Sequential of Linear layers "
                         "and activations)")
    f = layers[0]["in"]
    center, scale = _scaling(scaler, f)
    if threshold is None:
        threshold = float(np.finfo(np.float64).max)
    model = Model({"threshold": float(threshold), "n_threads": 1}, detectors=())
    model.import_detector("autoencoder", dense_payload(f, layers, center, scale,
                                                       feature_weights), f, {})
    est = Autoencoder()
    est.model_ = model
    return est


class Autoencoder(_OutlierDetector):
    """A dense autoencoder on rows (libanoma's "autoencoder" detector):
    ``anomaly_score(X)`` is each row's mean squared reconstruction error in
    the network's units (``feature_scores``: each feature's share of it).

    Made by ``anoma.from_torch(module)`` from a trained PyTorch network.
    NaN is refused: impute first. After import: ``n_features_in_``,
    ``model_``; ``threshold_`` is settable.
    """

    def __init__(self, contamination=0.1, n_jobs=None):
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _more_tags(self):
        return {"allow_nan": False}
