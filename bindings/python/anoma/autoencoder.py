"""The dense autoencoder on rows ("autoencoder" detector) with
scikit-learn's outlier conventions, trained in C, and its import from
PyTorch.

The score of a row is its weighted mean squared reconstruction error in
the network's units: with z = (x - center) / scale and y the network's
output for z, ``sum_j w_j (z_j - y_j) ** 2 / sum_j w_j``.
docs/detectors/autoencoder.md describes the scores and the payload built
here. This file imports no torch: modules are read through their
attributes."""
import numbers
import struct

import numpy as np

from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _OutlierDetector, _is_real, _n_threads
from .export import exported_model
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
    model = exported_model("autoencoder", dense_payload(f, layers, center, scale, feature_weights),
                           f, threshold=float(threshold), n_threads=1)
    hidden = tuple(l["out"] for l in layers if l["kind"] == "linear")[:-1]
    activations = [l["activation"] for l in layers if l["kind"] == "activation"]
    est = Autoencoder(hidden=hidden, activation=activations[0] if activations else "identity")
    est.model_ = model
    return est


class Autoencoder(_OutlierDetector):
    """A dense autoencoder on rows (libanoma's "autoencoder" detector),
    trained in C: ``anomaly_score(X)`` is each row's mean squared
    reconstruction error in the network's units (``feature_scores``: each
    feature's share of it, summing to the score).

    ``hidden``: the hidden layers' widths (``(64, 16, 64)``: an encoder to
    16 units and its mirror); ``activation``: "relu", "tanh", "sigmoid" or
    "identity" after every layer but the last. Training: Adam (PyTorch's
    defaults, step ``learning_rate``) on mini-batches of ``batch_size`` rows
    for at most ``epochs`` epochs, stopping after ``patience`` epochs
    without a better loss on the held-out ``validation_fraction`` of the
    rows (0: every epoch runs) and keeping the best weights; inputs
    standardised first when ``standardize``. ``random_state``: the initial
    weights, split and batch order (None = seed 0, so a fit is
    reproducible); no result depends on ``n_jobs``. ``contamination``
    (default 0.1) sets ``threshold_`` to the (1 - contamination) quantile
    of the training scores; ``"auto"`` is refused. NaN is refused: impute
    first.

    ``anoma.from_torch(module)`` makes one from a trained PyTorch network
    instead. After fit: ``n_epochs_``, ``loss_``, ``n_features_in_``,
    ``feature_names_in_``, ``model_``.
    """

    def __init__(self, hidden=(64, 16, 64), activation="relu", epochs=100, batch_size=64,
                 learning_rate=1e-3, validation_fraction=0.1, patience=10, standardize=True,
                 random_state=None, contamination=0.1, n_jobs=None):
        self.hidden = hidden
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.random_state = random_state
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _more_tags(self):
        return {"allow_nan": False}

    def _detector_params(self):
        hidden = self.hidden
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, (bool, np.bool_)):
            hidden = (hidden,)
        try:
            widths = [int(h) for h in hidden]
            ok = len(widths) > 0 and all(
                isinstance(h, numbers.Integral) and not isinstance(h, (bool, np.bool_))
                for h in hidden)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise _bad("hidden", "a sequence of int widths such as (64, 16, 64)", self.hidden)
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise _bad("standardize", "True or False", self.standardize)
        params = {"hidden": ",".join(str(h) for h in widths), "activation": self.activation,
                  "standardize": bool(self.standardize), "seed": _seed(self.random_state)}
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
                raise _bad(name, "an int", value)
            params[name] = int(value)
        for name in ("learning_rate", "validation_fraction"):
            value = getattr(self, name)
            if not _is_real(value):
                raise _bad(name, "a real number", value)
            params[name] = float(value)
        return params

    def fit(self, X, y=None):
        """Fit on X (n_samples >= 2, n_features); y is ignored. Returns self."""
        detector = self._detector_params()
        x, names = self._check_X(X, reset=True)
        params = self._contamination_params()
        params["n_threads"] = _n_threads(self.n_jobs, "Autoencoder")
        return self._fit_model(Model(params, [("autoencoder", detector)]), x, names)

    def _record(self):
        return struct.unpack_from("<Id", self._model().detector_payload(0), 0)

    @property
    def n_epochs_(self):
        """Epochs the training ran (0 for a network imported from torch)."""
        return self._record()[0]

    @property
    def loss_(self):
        """The loss of the weights kept: the best validation loss, or the
        last epoch's training loss without validation (NaN when imported)."""
        return self._record()[1]


def _seed(random_state):
    """None = 0 (reproducible), an int >= 0, or a draw from a RandomState."""
    if random_state is None:
        return 0
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) \
            and 0 <= random_state < 2 ** 63:
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    raise _bad("random_state", "None, an int >= 0 or a numpy.random.RandomState", random_state)


def _bad(name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "Autoencoder: %s=%r: expected %s" % (name, value, expected))
