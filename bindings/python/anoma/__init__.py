"""libanoma from Python: ctypes bindings, numpy in and numpy out.

The estimators (ZScore, MAD, IQR, IsolationForest, OneClassSVM, SGDOneClassSVM, Mahalanobis, ...) follow scikit-learn's
outlier-detector signs: score_samples higher = more normal, predict -1/+1;
anomaly_score, Model and the metrics keep the library's higher = more
anomalous. GradientBoostedTrees, trained on labels, is a scikit-learn
classifier (predict_proba, classes_). See docs/python.md.
"""
from ._library import lib as _lib, text as _text
from .errors import (AnomaError, CancelledError, EmptyInputError, InvalidArgumentError,
                     ModelFileNotFoundError, NonFiniteError, NotFittedError, ParameterValueError,
                     ShapeError, UnknownNameError, UnknownParameterError)
from .estimators import IQR, MAD, ZScore
from .convert import from_sklearn
from .cluster import KMeansDetector
from .covariance import Mahalanobis
from .decomposition import PCADetector
from .gbt import GradientBoostedTrees, from_xgboost
from .iforest import IsolationForest
from .metrics import (average_precision_score, best_f1, confusion_at, precision_recall_curve,
                      roc_auc_score, roc_curve)
from .model import Model, RowScorer
from .neighbors import KNNDetector, LocalOutlierFactor
from .ocsvm import OneClassSVM
from .ocsvm_sgd import SGDOneClassSVM
from .params import ComponentFlag, component_flags, describe, list_components, list_detectors
from .pipeline import (FrequencyEncoder, MaxAbsScaler, MinMaxScaler, MissingIndicator,
                       Normalizer, OneHotEncoder, OrdinalEncoder, Pipeline, Ratio, RobustScaler,
                       Select, SimpleImputer, StandardScaler)
from .keras import from_keras_weights
from .sequence import SequenceModel, from_torch
from .autoencoder import Autoencoder
from .stream import AlertEvent, Stream, StreamResult, stream_fingerprint
from . import plot  # matplotlib is imported by its functions, never here

__version__ = _text(_lib.anoma_version())


def shutdown():
    """Stop the library's worker threads now (``anoma_shutdown``).

    Fitting and batch scoring share work out to a pool of threads that
    sleeps between calls; this joins them, for a host that wants no idle
    threads (before checking for leaks, changing resource limits or
    forking). The next call that wants threads starts the pool again, and
    calls running in other threads finish correctly. Not needed at exit:
    the library joins its workers itself when the process ends, so the
    package registers no atexit hook."""
    _lib.anoma_shutdown()


_lib.anoma_shutdown.restype = None
_lib.anoma_shutdown.argtypes = []

__all__ = ["Model", "RowScorer", "Stream", "StreamResult", "stream_fingerprint", "AlertEvent", "Pipeline", "StandardScaler", "OneHotEncoder", "Select",
           "SimpleImputer", "MissingIndicator", "MinMaxScaler", "RobustScaler", "MaxAbsScaler",
           "Normalizer", "OrdinalEncoder", "FrequencyEncoder", "Ratio", "ZScore", "MAD", "IQR", "IsolationForest", "OneClassSVM", "SGDOneClassSVM", "from_sklearn",
           "from_torch", "from_keras_weights", "SequenceModel", "Autoencoder",
           "LocalOutlierFactor", "KNNDetector", "GradientBoostedTrees", "from_xgboost", "Mahalanobis", "PCADetector", "KMeansDetector",
           "roc_auc_score", "average_precision_score", "confusion_at", "best_f1", "roc_curve",
           "precision_recall_curve", "plot",
           "list_detectors", "list_components", "describe", "component_flags",
           "ComponentFlag", "shutdown",
           "AnomaError", "InvalidArgumentError", "ShapeError", "NonFiniteError",
           "EmptyInputError", "UnknownParameterError", "ParameterValueError",
           "UnknownNameError", "NotFittedError", "ModelFileNotFoundError", "CancelledError",
           "__version__"]
