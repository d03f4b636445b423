"""``anoma.from_sklearn``: a fitted scikit-learn outlier detector as the anoma
estimator that scores as it does. One line per convertible class below; the
conversion itself lives with the estimator (iforest.py, ocsvm.py)."""
from . import cluster, covariance, decomposition, gbt, iforest, ocsvm

__all__ = ["from_sklearn"]

# scikit-learn class name -> converter
_CONVERTERS = {
    "IsolationForest": iforest.from_sklearn,
    "OneClassSVM": ocsvm.from_sklearn_ocsvm,
    "EmpiricalCovariance": covariance.from_sklearn_covariance,
    "MinCovDet": covariance.from_sklearn_covariance,
    "PCA": decomposition.from_sklearn_pca,
    "KMeans": cluster.from_sklearn_kmeans,
    "RandomForestClassifier": gbt.from_sklearn_trees,
    "ExtraTreesClassifier": gbt.from_sklearn_trees,
    "GradientBoostingClassifier": gbt.from_sklearn_trees,
}


def from_sklearn(estimator):
    """The anoma estimator scoring as the fitted scikit-learn ``estimator``:
    an ``sklearn.ensemble.IsolationForest`` (see ``iforest.from_sklearn``) or
    an ``sklearn.svm.OneClassSVM`` (see ``ocsvm.from_sklearn_ocsvm``), an
    ``sklearn.covariance.EmpiricalCovariance`` or ``MinCovDet`` (see
    ``covariance.from_sklearn_covariance``), a ``sklearn.decomposition.PCA``
    (see ``decomposition.from_sklearn_pca``), a ``sklearn.cluster.KMeans``
    (see ``cluster.from_sklearn_kmeans``), or a binary
    ``RandomForestClassifier``, ``ExtraTreesClassifier`` or
    ``GradientBoostingClassifier`` (see ``gbt.from_sklearn_trees``)."""
    convert = _CONVERTERS.get(type(estimator).__name__)
    if convert is None:
        raise ValueError("from_sklearn converts a fitted %s; got %s"
                         % (" or ".join(sorted(_CONVERTERS)), type(estimator).__name__))
    return convert(estimator)
