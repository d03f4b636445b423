"""Scoring a Dask DataFrame on a cluster (``import anoma.dask`` imports dask
and distributed; ``import anoma`` does not).

The pattern (docs/scale-out.md): fit a model on a sample on the client,
ship its saved bytes to every worker once, and score partition by
partition::

    shipped = anoma.dask.scatter_model(client, model)   # bytes sent once
    scores = anoma.dask.score(ddf, shipped)             # a dask Series
    scores.compute()

``scatter_model`` scatters ``model.to_bytes()`` with ``broadcast=True``;
the tasks of ``score`` receive those bytes by reference (the scattered
future), never pickled into each task, and each worker process loads them
once into a ``Model`` it caches under the future's key and shares between
its threads (a fitted model is immutable and the bindings release the GIL,
so threaded workers score in parallel). Scores equal ``model.score`` of the
whole frame in one process, bit for bit: every row is scored alone.

Training per partition, where the detector allows it (anoma.merge):
``fit_forest(ddf, "n_trees=20")`` grows a forest on each partition on the
workers and merges the trees into one forest; ``fit_statistics(ddf)``
gathers each partition's exact statistics for zscore (and, with
``covariance=True``, the Mahalanobis distance). Only payloads and
statistics travel to the client, never rows.
"""
import collections
import threading

import dask
import pandas as pd

from .merge import Statistics, merge_forests
from .model import Model, format_params

__all__ = ["ShippedModel", "scatter_model", "score", "model_loads", "fit_forest",
           "fit_statistics"]

# Per worker process: key of the scattered bytes -> the loaded Model, and how
# many times each key was loaded (once, unless a worker restarted).
_models = {}
_loads = collections.Counter()
_lock = threading.Lock()

_METHODS = ("score", "predict")


class ShippedModel:
    """A model whose bytes are on the workers (from ``scatter_model``):
    ``future`` is the scattered bytes, ``key`` its key, ``n_features`` and
    ``feature_names`` the model's."""

    def __init__(self, future, n_features, feature_names):
        self.future = future
        # not the future's key itself: a task argument equal to a key in the
        # graph would be replaced by that key's data
        self.key = "anoma-model:" + future.key
        self.n_features = n_features
        self.feature_names = feature_names

    def __repr__(self):
        return "ShippedModel(key=%r, n_features=%d)" % (self.key, self.n_features)


def scatter_model(client, model):
    """Send a fitted ``Model`` (or an estimator with ``model_``) to every
    worker of ``client`` once, as its saved bytes; returns a ShippedModel
    for ``score``."""
    model = getattr(model, "model_", model)
    if not isinstance(model, Model):
        raise TypeError("scatter_model expects an anoma.Model or a fitted anoma estimator; "
                        "got %s" % type(model).__name__)
    future = client.scatter(model.to_bytes(), broadcast=True, hash=True)
    return ShippedModel(future, model.n_features, model.feature_names)


def _worker_model(key, data):
    """The Model of the scattered bytes ``data``, loaded once per process."""
    with _lock:
        model = _models.get(key)
        if model is None:
            model = Model.from_bytes(data)
            model.n_threads = 1  # the worker's threads are the parallelism
            _models[key] = model
            _loads[key] += 1
        return model


def _score_partition(part, data, key, method):
    model = _worker_model(key, data)
    values = getattr(model, method)(part)
    return pd.Series(values, index=part.index, name=method)


def score(ddf, shipped, method="score"):
    """A dask Series of each row's anomaly score (``method="score"``,
    higher = more anomalous) or 0/1 decision (``"predict"``), partitioned
    as ``ddf``. ``ddf`` is a dask DataFrame of the model's features: picked
    by name when the model has feature names, else all columns in order."""
    if not isinstance(shipped, ShippedModel):
        raise TypeError("score expects the ShippedModel of scatter_model; got %s"
                        % type(shipped).__name__)
    if method not in _METHODS:
        raise ValueError("method must be one of %s; got %r" % (", ".join(_METHODS), method))
    dtype = "float64" if method == "score" else "int64"
    return ddf.map_partitions(_score_partition, shipped.future, shipped.key, method,
                              meta=pd.Series([], dtype=dtype, name=method))


def _local_loads(key):
    return _loads[key]


def model_loads(client, shipped):
    """{worker address: how many times it loaded ``shipped``'s bytes}: 1
    on every worker that scored with it, 0 on the others."""
    return client.run(_local_loads, shipped.key)



def _fit_partition_forest(part, params, seed):
    if not any(kv.startswith("seed=") for kv in params.split()):
        params = (params + " seed=%d" % seed).strip()
    model = Model("contamination=auto n_threads=1", [("iforest", params)])
    return model.fit(part).to_bytes()


def fit_forest(ddf, params="", threshold="auto"):
    """One isolation forest made of a forest grown on each partition of
    ``ddf`` on the workers (iforest ``params`` as text or a dict; without a
    ``seed``, partition k uses seed k), merged by ``anoma.merge.merge_forests``:
    ``n_trees`` trees per partition. Every partition needs at least
    ``max_samples`` rows (256 by default), so that all trees share one
    subsample size; the merge names the first that does not."""
    params = format_params(params)
    parts = [dask.delayed(_fit_partition_forest)(part, params, k)
             for k, part in enumerate(ddf.to_delayed())]
    models = [Model.from_bytes(b) for b in dask.compute(*parts)]
    return merge_forests(models, threshold=threshold)


def fit_statistics(ddf, covariance=False):
    """The ``anoma.merge.Statistics`` of all the rows of ``ddf``, each
    partition's computed on the workers and merged exactly here; then
    ``.model("zscore")`` (or ``"mahalanobis"`` with ``covariance=True``)."""
    parts = [dask.delayed(Statistics.of)(part, covariance) for part in ddf.to_delayed()]
    return Statistics.merge_all(dask.compute(*parts))
