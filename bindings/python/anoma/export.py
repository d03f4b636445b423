"""The one path every exporter ends in: a fitted model of one detector made
from what another library trained (``from_sklearn``, ``from_xgboost``,
``from_torch``, ``from_keras_weights``) or from parts fitted apart
(anoma.merge). The exporter converts the source into the detector's payload
(laid out as its page in docs/detectors/ says), or XGBoost's JSON; this
module turns it into a ``Model``: the threshold, the import
(``anoma_model_import_detector``, which checks the payload as strictly as a
model file), the feature names. tests/python/test_exporters.py round-trips
every kind through a saved file and the ``anoma`` CLI."""
from .model import Model

__all__ = ["exported_model", "threshold_params"]


def threshold_params(threshold):
    """Model parameters for ``threshold``: "auto" (the detector's own rule,
    contamination=auto) or a number (a fixed threshold). An imported model
    has no training scores, so a contamination rate cannot be given."""
    if isinstance(threshold, str) and threshold == "auto":
        return {"contamination": "auto"}
    return {"threshold": float(threshold)}


def exported_model(detector, payload, n_features=None, params=None, threshold="auto",
                   feature_names=None, n_threads=None):
    """The fitted ``Model`` of one ``detector`` imported from ``payload``
    (bytes), with detector ``params`` (dict or ``key=value`` text),
    ``threshold`` as ``threshold_params`` takes it, the source's
    ``feature_names`` (None: none) and a run-time ``n_threads`` (None: the
    library's default). ``detector="xgboost"`` takes the text of an XGBoost
    JSON model instead, which the C import turns into a "gbt" payload."""
    model_params = threshold_params(threshold)
    if n_threads is not None:
        model_params["n_threads"] = n_threads
    model = Model(model_params, detectors=())
    if detector == "xgboost":
        model.import_xgboost(payload)
    else:
        model.import_detector(detector, payload, n_features, params or {})
    if feature_names is not None and len(feature_names):
        model.feature_names = [str(n) for n in feature_names]
    return model
