"""Gradient-boosted trees (libanoma's "gbt" detector) as a scikit-learn
binary classifier.

The class follows XGBClassifier's parameters (scikit-learn names, XGBoost's
defaults) and scikit-learn's classifier conventions: ``fit(X, y,
sample_weight)``, ``predict_proba`` (columns in ``classes_`` order),
``predict`` (the class of probability above one half), ``score``
(accuracy), ``classes_``, ``feature_importances_``. The second of the two
classes (``classes_[1]``, 1 for 0/1 labels) is the positive one: the
anomaly, whose probability is the C model's score. Being an estimator with
``get_params``/``set_params``, it works in ``cross_val_score``,
``RandomizedSearchCV``, ``RFE`` and pipelines.
"""
import numbers
import struct
import warnings

import numpy as np

from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _Estimator, _OutlierDetector, _is_real, _n_threads
from .export import exported_model
from .model import Model

__all__ = ["GradientBoostedTrees", "from_xgboost", "from_sklearn_trees"]

_OBJECTIVES = ("binary:logistic",)
# the C detector's keys that XGBClassifier names otherwise
_PYTHON_NAMES = {"n_trees": "n_estimators", "eta": "learning_rate", "lambda": "reg_lambda",
                 "alpha": "reg_alpha", "seed": "random_state"}


def _data_conversion_warning():
    """scikit-learn's DataConversionWarning when it is installed."""
    try:
        from sklearn.exceptions import DataConversionWarning
        return DataConversionWarning
    except ImportError:
        return UserWarning


def _bad(name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "GradientBoostedTrees: %s=%r: expected %s" % (name, value, expected))


class GradientBoostedTrees(_Estimator):
    """Gradient-boosted trees trained as XGBoost 1.7's hist method: for the
    same data and parameters, XGBClassifier(tree_method="hist")'s
    probabilities (docs/detectors/gbt.md says where and why they may differ).

    Parameters (XGBClassifier's names and defaults): ``n_estimators``,
    ``max_depth``, ``learning_rate``, ``subsample``, ``colsample_bytree``,
    ``reg_lambda``, ``reg_alpha``, ``gamma``, ``min_child_weight``,
    ``scale_pos_weight``, ``base_score``, ``max_bin``, ``num_parallel_tree``
    (trees per round: random-forest mode, as XGBRFClassifier's
    ``n_estimators``), ``colsample_bylevel`` and ``colsample_bynode``
    (shares of the tree's features per level, of the level's per node),
    ``grow_policy`` ("depthwise" or "lossguide": the node of largest loss
    change first) and ``max_leaves`` (0 = no limit; under depthwise a
    level stops splitting when the tree reaches it, as XGBoost's;
    ``max_depth=0`` is no depth limit under lossguide or with max_leaves);
    ``random_state`` (an int, None = 0) seeds ``subsample`` and the
    ``colsample_*`` draws;
    ``n_jobs`` the threads (None = 1, -1 = every core), which change no
    result. NaN values are missing: each split learned where they go.

    After ``fit``: ``classes_`` (the two classes, sorted), ``n_classes_``,
    ``feature_importances_`` (each feature's average split gain,
    normalised to sum 1: XGBClassifier's default ``importance_type="gain"``),
    ``n_features_in_``, ``feature_names_in_`` (a DataFrame's string
    columns), ``model_`` (the C model, its score the probability of
    ``classes_[1]``).
    """

    _estimator_type = "classifier"

    def __init__(self, n_estimators=100, max_depth=6, learning_rate=0.3, subsample=1.0,
                 colsample_bytree=1.0, reg_lambda=1.0, reg_alpha=0.0, gamma=0.0,
                 min_child_weight=1.0, scale_pos_weight=1.0, base_score=0.5, max_bin=256,
                 objective="binary:logistic", random_state=None, n_jobs=None,
                 num_parallel_tree=1, colsample_bylevel=1.0, colsample_bynode=1.0,
                 grow_policy="depthwise", max_leaves=0):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.gamma = gamma
        self.min_child_weight = min_child_weight
        self.scale_pos_weight = scale_pos_weight
        self.base_score = base_score
        self.max_bin = max_bin
        self.objective = objective
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.num_parallel_tree = num_parallel_tree
        self.colsample_bylevel = colsample_bylevel
        self.colsample_bynode = colsample_bynode
        self.grow_policy = grow_policy
        self.max_leaves = max_leaves

    # X is checked (shape, names) as the outlier detectors check it
    _check_X = _OutlierDetector._check_X
    n_features_in_ = _OutlierDetector.n_features_in_
    feature_names_in_ = _OutlierDetector.feature_names_in_

    def _more_tags(self):
        return {"allow_nan": True, "binary_only": True}

    def _seed(self):
        rs = self.random_state
        if rs is None:
            return 0
        if isinstance(rs, numbers.Integral) and not isinstance(rs, (bool, np.bool_)) and rs >= 0:
            return int(rs)
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(np.iinfo(np.int32).max))
        raise _bad("random_state", "None, an int >= 0 or a numpy RandomState", rs)

    def _detector_params(self):
        if self.objective not in _OBJECTIVES:
            raise _bad("objective", "one of %s (a classifier)" % ", ".join(_OBJECTIVES),
                       self.objective)
        for name in ("learning_rate", "subsample", "colsample_bytree", "colsample_bylevel",
                     "colsample_bynode", "reg_lambda",
                     "reg_alpha", "gamma", "min_child_weight", "scale_pos_weight", "base_score"):
            if not _is_real(getattr(self, name)):
                raise _bad(name, "a number", getattr(self, name))
        return {"n_trees": self.n_estimators, "max_depth": self.max_depth,
                "eta": self.learning_rate, "subsample": self.subsample,
                "colsample_bytree": self.colsample_bytree, "lambda": self.reg_lambda,
                "alpha": self.reg_alpha, "gamma": self.gamma,
                "min_child_weight": self.min_child_weight,
                "scale_pos_weight": self.scale_pos_weight, "base_score": self.base_score,
                "max_bin": self.max_bin, "objective": self.objective, "seed": self._seed(),
                "num_parallel_tree": self.num_parallel_tree,
                "colsample_bylevel": self.colsample_bylevel,
                "colsample_bynode": self.colsample_bynode,
                "grow_policy": self.grow_policy, "max_leaves": self.max_leaves}

    def _make_model(self, stopping=None):
        """The unfitted C model; a refused value is named by its Python name.
        stopping: early stopping's parameters (early_stopping_rounds,
        eval_metric), or None."""
        params = dict(self._detector_params(), **(stopping or {}))
        threads = _n_threads(self.n_jobs, "GradientBoostedTrees")
        try:
            return Model({"contamination": "auto", "normalize": "none", "n_threads": threads},
                         [("gbt", params)])
        except ParameterValueError as e:
            message = e.message
            for key, name in _PYTHON_NAMES.items():
                message = message.replace("gbt: %s=" % key, "gbt: %s=" % name)
            raise ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                                      message.replace("gbt: ", "GradientBoostedTrees: ", 1)) \
                from None

    def fit(self, X, y, sample_weight=None, eval_set=None, early_stopping_rounds=None,
            eval_metric=None, sample_weight_eval_set=None):
        """Train on X (n_samples, n_features) and the two classes of y;
        ``sample_weight``: one weight >= 0 per row. Returns self.

        Evaluation and early stopping, as XGBClassifier's fit:
        ``eval_set`` a list of (X, y) pairs, each watched after every round
        (with its weights from ``sample_weight_eval_set``, a list as long);
        ``eval_metric`` one of "logloss", "auc", "aucpr", "rmse" or a list
        of them (default logloss), recorded on every set (``evals_result()``);
        ``early_stopping_rounds`` the rounds without improvement of the last
        metric on the last set that stop training. The trees up to the best
        round are kept (XGBClassifier predicts with them);
        ``best_iteration_`` and ``best_score_`` say which and how good."""
        x, names = self._check_X(X, reset=True)
        classes, labels = self._labels(y, len(x))
        stopping = self._stopping(early_stopping_rounds, eval_metric, eval_set)
        model = self._make_model(stopping)
        n_sets = self._watch(model, eval_set, sample_weight_eval_set, classes)
        model.fit(x, labels, sample_weight=sample_weight)
        if names is not None:
            model.feature_names = list(names)
        self.model_ = model
        self.classes_ = classes
        self.n_classes_ = 2
        self._evals = _evals_recorded(n_sets, stopping)
        return self

    @staticmethod
    def _labels(y, rows):
        """The two classes of y, sorted, and y as 0/1 (1: the second)."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                          "change the shape of y to (n_samples, ), for example using ravel().",
                          _data_conversion_warning(), stacklevel=2)
            y = y.ravel()
        if y.ndim != 1 or len(y) != rows:
            raise ValueError("y should be a 1d array with one label per row of X; got shape %s "
                             "for %d rows" % (y.shape, rows))
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ValueError("Unknown label type: 'continuous': GradientBoostedTrees is a "
                             "classifier and y has values that are not whole numbers")
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError("GradientBoostedTrees is a binary classifier: y has %d class%s "
                             "(%s); it needs exactly two"
                             % (len(classes), "" if len(classes) == 1 else "es",
                                ", ".join(map(str, classes[:5]))))
        return classes, (y == classes[1]).astype(np.int32)

    @staticmethod
    def _stopping(rounds, metric, eval_set):
        """Evaluation's and early stopping's C parameters."""
        if rounds is not None and (not isinstance(rounds, numbers.Integral)
                                   or isinstance(rounds, (bool, np.bool_)) or rounds < 1):
            raise _bad("early_stopping_rounds", "an int >= 1", rounds)
        if rounds is not None and not eval_set:
            raise ValueError("GradientBoostedTrees: early_stopping_rounds needs an eval_set")
        if metric is not None and not eval_set:
            raise ValueError("GradientBoostedTrees: eval_metric is computed on the eval_set "
                             "only: give eval_set too")
        metrics = [] if metric is None else [metric] if isinstance(metric, str) else list(metric)
        for m in metrics:
            if m not in ("logloss", "auc", "aucpr", "rmse"):
                raise _bad("eval_metric", "logloss, auc, aucpr or rmse, or a list of them", m)
        if len(set(metrics)) != len(metrics):
            raise _bad("eval_metric", "each metric once", metric)
        return {"early_stopping_rounds": int(rounds or 0),
                "eval_metric": ",".join(metrics) or "auto"}

    def _watch(self, model, eval_set, weights, classes, checked=True):
        """Give the model every pair of eval_set, its labels as 0/1; the
        number of sets. checked: X validated as an array (else handed to
        the model as given: a pipeline's frames)."""
        if not eval_set:
            return 0
        if weights is not None and len(weights) != len(eval_set):
            raise ValueError("GradientBoostedTrees: sample_weight_eval_set has %d entries for %d "
                             "evaluation sets" % (len(weights), len(eval_set)))
        for k, (X, y) in enumerate(eval_set):
            # its width is checked by the C fit
            x = self._check_X(X, reset=True)[0] if checked else X
            y = np.asarray(y).ravel()
            if len(y) != len(x):
                raise ValueError("eval_set %d: %d labels for %d rows" % (k, len(y), len(x)))
            unknown = ~np.isin(y, classes)
            if unknown.any():
                raise ValueError("eval_set %d: label %r is not one of the classes of y (%s)"
                                 % (k, y[unknown][0], ", ".join(map(str, classes))))
            model.add_eval_set(x, (y == classes[1]).astype(np.int32),
                               None if weights is None else weights[k])
        return len(eval_set)

    def evals_result(self):
        """The evaluation history, as XGBClassifier's evals_result():
        {"validation_0": {"logloss": [...], ...}, "validation_1": ...}, one
        value per round grown (early stopping may grow rounds past the best
        one), for each metric of ``eval_metric`` on each pair of
        ``eval_set``. Saved and pickled with the model."""
        return _evals_result(self._model(), getattr(self, "_evals", None))

    def _early_stopping(self):
        """(best_iteration, best_score) of the fitted model, from the
        payload's early-stopping record (docs/detectors/gbt.md, version 2;
        version 3 follows it with the trees per round); AttributeError
        without early stopping, as XGBClassifier's."""
        version, payload = self._model().detector_payload(0, with_version=True)
        best = 0
        if version >= 2:
            record = 28 + (8 if version >= 3 else 0)
            best, _rounds, _metric, score = struct.unpack_from("<QQId", payload,
                                                               len(payload) - record)
        if best == 0:
            raise AttributeError("best_iteration_: the model was fitted without early stopping")
        return best - 1, score

    @property
    def best_iteration_(self):
        """The round (from 0) of the best evaluation metric; the model keeps
        the trees 0..best_iteration_. Set by early stopping only."""
        return self._early_stopping()[0]

    @property
    def best_score_(self):
        """The evaluation metric at ``best_iteration_``."""
        return self._early_stopping()[1]

    # XGBClassifier's names
    best_iteration = best_iteration_
    best_score = best_score_

    def _proba(self, X):
        x = self._check_X(X, reset=False)[0]
        return self._threaded_model().detector_scores(x)

    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape
        (n_samples, 2)."""
        p = self._proba(X)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        """``classes_[1]`` where its probability is above one half, else
        ``classes_[0]`` (XGBClassifier's rule)."""
        positive = self._proba(X) > 0.5
        return self.classes_[positive.astype(np.intp)]

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against y (weighted by
        ``sample_weight``), as scikit-learn's ClassifierMixin."""
        right = (self.predict(X) == np.asarray(y)).astype(np.float64)
        return float(np.average(right, weights=sample_weight))

    def feature_contributions(self, X):
        """Each feature's TreeSHAP contribution to each row's margin (the
        log-odds of ``classes_[1]``), then the bias as the last column,
        shape (n_samples, n_features + 1): XGBoost's
        ``predict(X, pred_contribs=True)``. A row's values add up to its
        margin (to float32 rounding, as XGBoost's)."""
        x = self._check_X(X, reset=False)[0]
        model = self._threaded_model()
        contributions = model.feature_scores(x)
        bias = np.full((len(contributions), 1), model.feature_scores_base())
        return np.hstack([contributions, bias])

    @property
    def feature_importances_(self):
        """Each feature's average gain over its splits, normalised to sum 1
        (0 for an unused feature); all 0 when no tree split: XGBClassifier's
        with its default ``importance_type="gain"``."""
        gain = self._model().feature_importance("gain")
        s = gain.sum()
        return (gain / s if s > 0 else gain).astype(np.float32)

    def get_score(self, importance_type="weight"):
        """Importance of each feature split on at least once, as XGBoost's
        ``Booster.get_score``: a dict from the feature's name (its
        ``feature_names_in_`` name, else "f0", "f1", ...) to its
        ``weight`` (number of splits), ``gain`` or ``cover`` (average loss
        change or hessian sum of its splits), ``total_gain`` or
        ``total_cover`` (their sums)."""
        model = self._model()
        weight = model.feature_importance("weight")
        values = model.feature_importance(importance_type)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = ["f%d" % j for j in range(len(values))]
        return {str(names[j]): float(values[j]) for j in np.flatnonzero(weight > 0)}


def _evals_recorded(n_sets, stopping):
    """What a fit recorded: (sets, metric names as the history names them)."""
    return n_sets, stopping["eval_metric"].replace("auto", "logloss").split(",")


def _evals_result(model, evals):
    """XGBoost's evals_result() of a fitted model's gbt detector (its first)."""
    n_sets, metrics = evals or (0, [])
    if not n_sets:
        raise AttributeError("evals_result: the model was fitted without an eval_set")
    return {"validation_%d" % k: {m: model.eval_history(m, k).tolist() for m in metrics}
            for k in range(n_sets)}


def from_xgboost(model, threshold="auto"):
    """A libanoma model of a trained XGBoost model (an ``xgboost.Booster``,
    ``XGBClassifier``, ``XGBRFClassifier``, ``XGBRegressor`` or
    ``XGBRFRegressor``), through its JSON (XGBoost 1.7)
    and the C import (``anoma_model_import_xgboost``): every tree that its
    ``predict`` uses (up to the best round for an early-stopped
    XGBClassifier or XGBRegressor), missing
    values routed by each split's default, base_score, the objective
    (binary:logistic or reg:squarederror; others raise by name).

    An ``XGBClassifier`` or ``XGBRFClassifier`` gives a fitted
    ``GradientBoostedTrees`` with its ``classes_`` and parameters (an
    XGBRFClassifier's ``n_estimators`` trees as one round of
    ``num_parallel_tree``), whose ``predict_proba`` is XGBoost's to float32
    rounding;
    anything else gives an ``anoma.Model`` whose score is XGBoost's
    ``predict`` (a probability for binary:logistic). ``threshold``: "auto"
    (0.5, the detector's rule) or a number."""
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    if not hasattr(booster, "save_raw"):
        raise ValueError("from_xgboost: expected an xgboost Booster, XGBClassifier or "
                         "XGBRegressor, got %s" % type(model).__name__)
    best = booster.attr("best_iteration")
    if best is not None and hasattr(model, "get_booster"):
        # early stopped: XGBClassifier and XGBRegressor predict with the
        # trees up to the best round (a Booster's predict uses them all)
        booster = booster[:int(best) + 1]
    imported = exported_model("xgboost", booster.save_raw("json"), threshold=threshold,
                              feature_names=booster.feature_names)
    kind = type(model).__name__
    if kind not in ("XGBClassifier", "XGBRFClassifier"):
        return imported
    classes = np.asarray(model.classes_)
    if len(classes) != 2:
        raise ValueError("from_xgboost: %d classes; a binary classifier only" % len(classes))
    est = GradientBoostedTrees()
    kw = model.get_params()
    if kind == "XGBRFClassifier":  # its trees are one round of parallel ones
        kw.update(model.get_xgb_params(), n_estimators=model.get_num_boosting_rounds())
    for name in est._param_names():
        if kw.get(name) is not None and name not in ("n_jobs", "random_state"):
            setattr(est, name, kw[name])
    est.model_ = imported
    est.classes_ = classes
    est.n_classes_ = 2
    return est


def _float_above(t):
    """The float32 threshold c with (float)x < c exactly when (float)x <= t:
    scikit-learn compares float32 values with `<=` against a double, ours
    with `<` against a float32."""
    t = np.asarray(t, dtype=np.float64)
    f = t.astype(np.float32)
    below = f.astype(np.float64) > t  # rounded up: step back to the float at or below t
    f[below] = np.nextafter(f[below], np.float32(-np.inf))
    return np.nextafter(f, np.float32(np.inf))


def _tree_payload(tree, leaf_values):
    """One tree of the "gbt" payload (docs/detectors/gbt.md): scikit-learn's
    node order already has children after their parent."""
    t = tree.tree_
    n = t.node_count
    leaf = t.children_left < 0
    left = np.where(leaf, 0xFFFFFFFF, t.children_left).astype("<u4")
    right = np.where(leaf, 0xFFFFFFFF, t.children_right).astype("<u4")
    feature = np.where(leaf, 0, t.feature).astype("<u4")
    threshold = np.where(leaf, np.float32(0), _float_above(t.threshold)).astype("<f4")
    w = t.weighted_n_node_samples.astype(np.float64)
    impurity = t.impurity * w  # the weighted impurity decrease of each split, as gain
    gain = np.zeros(n)
    split = ~leaf
    gain[split] = (impurity[split] - impurity[t.children_left[split]]
                   - impurity[t.children_right[split]])
    value = np.where(leaf, leaf_values, 0.0).astype("<f8")
    return b"".join([struct.pack("<Q", n), left.tobytes(), right.tobytes(), feature.tobytes(),
                     threshold.view("<u4").tobytes(), np.zeros(n, dtype=np.uint8).tobytes(),
                     value.tobytes(), gain.astype("<f8").tobytes(), w.astype("<f8").tobytes()])


def _class_one_share(tree):
    """Each node's share of the second class (scikit-learn's predict_proba of
    one tree: the class weights normalised, 0 where they sum to 0)."""
    v = tree.tree_.value[:, 0, :].astype(np.float64)
    total = v.sum(axis=1)
    return v[:, 1] / np.where(total == 0, 1.0, total)


def from_sklearn_trees(estimator):
    """A fitted ``GradientBoostedTrees`` predicting as a fitted binary
    scikit-learn ``RandomForestClassifier``, ``ExtraTreesClassifier`` or
    ``GradientBoostingClassifier`` (log-loss, prior or zero init):
    ``predict_proba`` equal to scikit-learn's to 1e-12 (docs/detectors/gbt.md,
    "Importing scikit-learn forests"). The forests average their trees' leaf
    shares of the second class (a reg:squarederror forest of leaves divided
    by the tree count); gradient boosting adds learning_rate times its
    trees' leaves to the prior's log-odds (binary:logistic)."""
    name = type(estimator).__name__
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise ValueError("from_sklearn: %s is not fitted" % name)
    if len(classes) != 2 or getattr(estimator, "n_outputs_", 1) != 1:
        raise ValueError("from_sklearn: %s has %d classes; a binary classifier only"
                         % (name, len(classes)))
    d = int(estimator.n_features_in_)
    if name == "GradientBoostingClassifier":
        if estimator.loss not in ("log_loss", "deviance"):
            raise ValueError("from_sklearn: GradientBoostingClassifier(loss=%r): log_loss only"
                             % estimator.loss)
        init = estimator.init_
        if init == "zero":
            prior = 0.5
        elif type(init).__name__ == "DummyClassifier" and init.strategy == "prior":
            eps = np.finfo(np.float32).eps  # scikit-learn clips the prior so
            prior = float(np.clip(init.class_prior_[1], eps, 1 - eps))
        else:
            raise ValueError("from_sklearn: GradientBoostingClassifier with init=%r: the prior "
                             "or zero only" % (init,))
        trees = [stage[0] for stage in estimator.estimators_]
        leaves = [estimator.learning_rate * t.tree_.value[:, 0, 0] for t in trees]
        objective, base = 0, prior
    else:
        trees = list(estimator.estimators_)
        leaves = [_class_one_share(t) / len(trees) for t in trees]
        objective, base = 1, 0.0
    payload = b"".join([struct.pack("<IIdQQ", 2, objective, base, d, len(trees))]
                       + [_tree_payload(t, v) for t, v in zip(trees, leaves)]
                       + [struct.pack("<QQId", 0, len(trees), 0, 0.0)])
    model = exported_model("gbt", payload, d,
                           feature_names=getattr(estimator, "feature_names_in_", None))
    est = GradientBoostedTrees(n_estimators=len(trees))
    est.model_ = model
    est.classes_ = np.asarray(classes)
    est.n_classes_ = 2
    return est
