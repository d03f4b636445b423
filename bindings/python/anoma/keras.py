"""``anoma.from_keras_weights``: a recurrent network trained in Keras, from
its weight arrays (``layer.get_weights()``), without TensorFlow.

Keras stores its weights in its own layouts; they are converted here to the
PyTorch layout the "seq_autoencoder" payload holds
(docs/detectors/seq_autoencoder.md, "Keras layouts"):

- LSTM: kernel [in, 4U], recurrent_kernel [U, 4U], bias [4U], gates i, f,
  c, o (PyTorch's i, f, g, o: the same order): weight_ih = kernelᵀ,
  weight_hh = recurrent_kernelᵀ, bias_ih = bias, bias_hh = 0.
- GRU, reset_after=True (the TensorFlow 2 default): kernel [in, 3U] with
  gates z, r, h, recurrent_kernel [U, 3U], bias [2, 3U] (input and
  recurrent biases): reordered to PyTorch's r, z, n; the recurrent bias of
  h is PyTorch's b_hn, inside the reset.
- GRU, reset_after=False: bias [3U]; the reset multiplies h before the
  recurrent product, (r ⊙ h) U_h, which PyTorch's GRU has no form for: the
  layer is stored as a GRU with the reset-before option.
- SimpleRNN (tanh): kernel [in, U], recurrent_kernel [U, U], bias [U].
- Dense (per step, as Keras applies it to a sequence, or TimeDistributed):
  kernel [in, out], bias [out]; its activation (linear, tanh, sigmoid,
  relu) becomes an activation layer.
- RepeatVector(n).

Keras's default activations are assumed (tanh, with sigmoid for the
recurrent gates); layers with other activations are refused by name.
"""
import numpy as np

from .sequence import import_sequence

__all__ = ["from_keras_weights", "keras_graph"]

_GATES = {"lstm": 4, "gru": 3, "simplernn": 1}
_ACTIVATIONS = {"linear": "identity", None: "identity", "tanh": "tanh", "sigmoid": "sigmoid",
                "relu": "relu"}


def _check_default_activations(name, spec):
    if spec.get("activation", "tanh") != "tanh":
        raise ValueError("%s: activation %r: only tanh is supported" % (name, spec["activation"]))
    if spec.get("recurrent_activation", "sigmoid") != "sigmoid":
        raise ValueError("%s: recurrent_activation %r: only sigmoid is supported"
                         % (name, spec["recurrent_activation"]))


def _recurrent(name, kind, spec, n_in):
    _check_default_activations(name, spec)
    weights = [np.asarray(w, dtype=np.float64) for w in spec["weights"]]
    kernel, recurrent = weights[0], weights[1]
    units = recurrent.shape[0]
    g = _GATES[kind] * units
    if kernel.shape != (n_in, g) or recurrent.shape != (units, g):
        raise ValueError("%s: kernel %s and recurrent_kernel %s do not fit %d inputs and %d "
                         "units" % (name, kernel.shape, recurrent.shape, n_in, units))
    bias = weights[2] if len(weights) > 2 else None
    out = {"in": n_in, "out": units, "sequences": bool(spec.get("return_sequences", False))}
    zeros = np.zeros(g)
    if kind == "lstm":
        out.update(kind="lstm", weight_ih=kernel.T, weight_hh=recurrent.T,
                   bias_ih=zeros if bias is None else bias.reshape(g), bias_hh=zeros)
    elif kind == "simplernn":
        out.update(kind="rnn", weight_ih=kernel.T, weight_hh=recurrent.T,
                   bias_ih=zeros if bias is None else bias.reshape(g), bias_hh=zeros)
    else:
        # Keras z, r, h -> PyTorch r, z, n
        order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]
        reset_after = bool(spec.get("reset_after", True))
        if bias is None:
            b_in, b_rec = zeros, zeros
        elif reset_after:
            if bias.shape != (2, g):
                raise ValueError("%s: reset_after=True expects bias [2, %d]; got %s"
                                 % (name, g, bias.shape))
            b_in, b_rec = bias[0], bias[1]
        else:
            if bias.shape != (g,):
                raise ValueError("%s: reset_after=False expects bias [%d]; got %s"
                                 % (name, g, bias.shape))
            b_in, b_rec = bias, zeros
        out.update(kind="gru", weight_ih=kernel.T[order], weight_hh=recurrent.T[order],
                   bias_ih=b_in[order], bias_hh=b_rec[order], reset_before=not reset_after)
    return out


def keras_graph(layers, n_features):
    """The layer list of ``sequence_payload`` from Keras layer specs: dicts
    with ``type`` ("LSTM", "GRU", "SimpleRNN", "Dense", "RepeatVector"),
    ``weights`` (``layer.get_weights()``) and the layer's config keys that
    matter (``return_sequences``, ``reset_after``, ``activation``,
    ``recurrent_activation``, ``n`` for RepeatVector)."""
    out, width = [], int(n_features)
    for k, spec in enumerate(layers):
        kind = spec["type"].lower()
        name = "layer %d (%s)" % (k, spec["type"])
        if kind.startswith("timedistributed"):
            kind = "dense"
        if kind in _GATES:
            layer = _recurrent(name, kind, spec, width)
            out.append(layer)
            width = layer["out"]
        elif kind == "dense":
            kernel = np.asarray(spec["weights"][0], dtype=np.float64)
            if kernel.shape[0] != width:
                raise ValueError("%s: kernel %s does not take %d inputs"
                                 % (name, kernel.shape, width))
            bias = (np.asarray(spec["weights"][1], dtype=np.float64) if len(spec["weights"]) > 1
                    else np.zeros(kernel.shape[1]))
            out.append({"kind": "linear", "in": width, "out": kernel.shape[1],
                        "weight": kernel.T, "bias": bias})
            width = kernel.shape[1]
            activation = spec.get("activation", "linear")
            if activation not in _ACTIVATIONS:
                raise ValueError("%s: activation %r is not supported" % (name, activation))
            if _ACTIVATIONS[activation] != "identity":
                out.append({"kind": "activation", "in": width, "out": width,
                            "activation": _ACTIVATIONS[activation]})
        elif kind == "repeatvector":
            out.append({"kind": "repeat", "in": width, "out": width, "count": int(spec["n"])})
        else:
            raise ValueError("%s: unsupported layer type" % name)
    return out


def from_keras_weights(layers, window, n_features, mode="reconstruction", horizon=0,
                       scaler=None, feature_weights=None, threshold=None, stride=1,
                       point_score="mean"):
    """A ``SequenceModel`` running a Keras network given as layer specs (see
    ``keras_graph``), for windows of ``window`` points of ``n_features``;
    ``mode``, ``horizon`` and the rest as ``anoma.from_torch``."""
    return import_sequence(mode, window, n_features, keras_graph(layers, n_features), horizon,
                           scaler, feature_weights, threshold, stride, point_score)
