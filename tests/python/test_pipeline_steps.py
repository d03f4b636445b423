"""The imputers, scalers, encoders and behaviour steps against scikit-learn
(pandas and NumPy where scikit-learn has no such step), to 1e-12, on the
shared datasets with injected missing values and an injected text column.

Each step runs in a model through the public C API (a frame in, the
pipeline's output out); the same models are then scored in batch, row by
row and after a save/load round trip, which must agree to the bit.
"""
import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_void_p

import numpy as np
import pytest

from conftest import DATA_DIR, import_anoma

anoma = import_anoma()
pd = pytest.importorskip("pandas")
from sklearn.impute import MissingIndicator, SimpleImputer  # noqa: E402
from sklearn.preprocessing import (MaxAbsScaler, MinMaxScaler, Normalizer,  # noqa: E402
                                   OrdinalEncoder, RobustScaler)

from anoma import _library  # noqa: E402

# A private handle on the library, so these declarations touch nothing the
# bindings set up.
lib = ctypes.CDLL(_library.path)
_SIGS = {
    "anoma_frame_create": (c_int, [c_size_t, POINTER(c_void_p)]),
    "anoma_frame_free": (None, [c_void_p]),
    "anoma_frame_add_column": (c_int, [c_void_p, c_char_p, c_int, c_void_p]),
    "anoma_model_create": (c_int, [c_char_p, POINTER(c_void_p)]),
    "anoma_model_free": (None, [c_void_p]),
    "anoma_model_add_step": (c_int, [c_void_p, c_char_p, c_char_p, POINTER(c_size_t)]),
    "anoma_model_add_detector": (c_int, [c_void_p, c_char_p, c_char_p, POINTER(c_size_t)]),
    "anoma_model_fit_frame": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p]),
    "anoma_model_score_frame": (c_int, [c_void_p, c_void_p, c_void_p]),
    "anoma_model_transform_frame": (c_int, [c_void_p, c_void_p, c_void_p]),
    "anoma_model_n_outputs": (c_size_t, [c_void_p]),
    "anoma_model_output_name": (c_char_p, [c_void_p, c_size_t]),
    "anoma_model_save_memory": (c_int, [c_void_p, c_void_p, c_size_t, POINTER(c_size_t)]),
    "anoma_model_load_memory": (c_int, [c_void_p, c_size_t, POINTER(c_void_p)]),
    "anoma_row_scorer_create": (c_int, [c_void_p, POINTER(c_void_p)]),
    "anoma_row_scorer_free": (None, [c_void_p]),
    "anoma_row_scorer_score_values": (c_int, [c_void_p, c_void_p, c_size_t,
                                              POINTER(c_double), POINTER(c_int)]),
    "anoma_last_error": (c_char_p, []),
}
missing = [name for name in _SIGS if not hasattr(lib, name)]
if missing:
    pytest.skip("the library has no model pipeline yet (%s)" % ", ".join(missing),
                allow_module_level=True)
for _name, (_res, _args) in _SIGS.items():
    getattr(lib, _name).restype = _res
    getattr(lib, _name).argtypes = _args

COL_DOUBLE, COL_STRING = 0, 2
TOL = 1e-12
SETS = ["cardio.csv", "thyroid.csv", "pima.csv", "ionosphere.csv", "wbc.csv"]


def check(status):
    if status != 0:
        raise AssertionError("status %d: %s" % (status, lib.anoma_last_error().decode()))


class Frame:
    """An anoma_frame over a DataFrame: float columns as doubles, object
    columns as texts (NaN and None missing). Keeps the arrays alive."""

    def __init__(self, df):
        self.handle = c_void_p()
        check(lib.anoma_frame_create(len(df), ctypes.byref(self.handle)))
        self.keep = []
        for name in df.columns:
            col = df[name]
            if col.dtype == object:
                texts = [None if (v is None or (isinstance(v, float) and np.isnan(v)))
                         else v.encode() for v in col]
                arr = (c_char_p * len(texts))(*texts)
                check(lib.anoma_frame_add_column(self.handle, name.encode(), COL_STRING, arr))
            else:
                arr = np.ascontiguousarray(col.to_numpy(dtype=np.float64))
                check(lib.anoma_frame_add_column(self.handle, name.encode(), COL_DOUBLE,
                                                 arr.ctypes.data))
            self.keep.append(arr)

    def __del__(self):
        lib.anoma_frame_free(self.handle)


class Model:
    """A model with the given steps ("name key=value ...") and a z-score
    detector, fitted on a DataFrame."""

    def __init__(self, steps, df):
        self.handle = c_void_p()
        check(lib.anoma_model_create(None, ctypes.byref(self.handle)))
        for step in steps:
            name, _, params = step.partition(" ")
            check(lib.anoma_model_add_step(self.handle, name.encode(), params.encode(), None))
        check(lib.anoma_model_add_detector(self.handle, b"zscore", None, None))
        frame = Frame(df)
        check(lib.anoma_model_fit_frame(self.handle, frame.handle, None, None))

    @classmethod
    def _wrap(cls, handle):
        m = cls.__new__(cls)
        m.handle = handle
        return m

    def __del__(self):
        lib.anoma_model_free(self.handle)

    def names(self):
        return [lib.anoma_model_output_name(self.handle, k).decode()
                for k in range(lib.anoma_model_n_outputs(self.handle))]

    def transform(self, df):
        out = np.empty((len(df), lib.anoma_model_n_outputs(self.handle)))
        frame = Frame(df)
        check(lib.anoma_model_transform_frame(self.handle, frame.handle, out.ctypes.data))
        return pd.DataFrame(out, columns=self.names())

    def score(self, df):
        out = np.empty(len(df))
        frame = Frame(df)
        check(lib.anoma_model_score_frame(self.handle, frame.handle, out.ctypes.data))
        return out

    def reloaded(self):
        need = c_size_t()
        lib.anoma_model_save_memory(self.handle, None, 0, ctypes.byref(need))
        buf = ctypes.create_string_buffer(need.value)
        check(lib.anoma_model_save_memory(self.handle, buf, need.value, ctypes.byref(need)))
        handle = c_void_p()
        check(lib.anoma_model_load_memory(buf, need.value, ctypes.byref(handle)))
        return Model._wrap(handle)

    def score_rows(self, df):
        """Row by row through a row scorer, with typed values."""
        scorer = c_void_p()
        check(lib.anoma_row_scorer_create(self.handle, ctypes.byref(scorer)))
        out = np.empty(len(df))
        row = (ctypes.c_int64 * df.shape[1])()
        texts = []
        try:
            for i, values in enumerate(df.itertuples(index=False)):
                for j, v in enumerate(values):
                    if isinstance(v, str):
                        texts.append(ctypes.c_char_p(v.encode()))
                        row[j] = ctypes.cast(texts[-1], c_void_p).value or 0
                    elif v is None or (df.dtypes.iloc[j] == object and v != v):
                        row[j] = 0  # NULL: a missing text
                    else:
                        row[j] = np.float64(v).view(np.int64)
                score, flag = c_double(), c_int()
                check(lib.anoma_row_scorer_score_values(scorer, row, df.shape[1],
                                                        ctypes.byref(score), ctypes.byref(flag)))
                out[i] = score.value
                texts.clear()
        finally:
            lib.anoma_row_scorer_free(scorer)
        return out


def load(name, seed=0):
    """A shared dataset as a DataFrame with about 5% of each column's values
    missing and a text column "kind" (with missing values) in third place."""
    path = os.path.join(DATA_DIR, name)
    if not os.path.exists(path):
        pytest.skip("shared data not available: %s" % path)
    df = pd.read_csv(path).drop(columns=["label"])
    rng = np.random.default_rng(seed)
    x = df.to_numpy(dtype=np.float64)
    x[rng.random(x.shape) < 0.05] = np.nan
    df = pd.DataFrame(x, columns=df.columns)
    kinds = np.array(["web", "ios", "android", "Ärger", "tv", "web"], dtype=object)
    kind = kinds[rng.integers(0, len(kinds), len(df))]
    kind[rng.random(len(df)) < 0.05] = np.nan
    df.insert(min(2, df.shape[1]), "kind", kind)
    return df


def numbers(df):
    return df.drop(columns=["kind"])


def assert_same(ours, theirs, names):
    """Our columns `names` against scikit-learn's array, NaN where NaN."""
    got = ours[names].to_numpy()
    assert got.shape == theirs.shape
    assert np.array_equal(np.isnan(got), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_allclose(got[ok], theirs[ok], rtol=TOL, atol=TOL)


# Scaled columns keep NaN; a detector takes no NaN, so the models end with
# an imputer that fills a sentinel, which is compared as such.
SENTINEL = -123456.5
FILL = "imputer strategy=constant fill_value=%r" % SENTINEL


def fill(a):
    return np.where(np.isnan(a), SENTINEL, a)


@pytest.mark.parametrize("name", SETS)
def test_scalers_equal_scikit_learn(name):
    df = load(name)
    x = numbers(df)
    cols = list(x.columns)
    cases = [
        ("minmax_scaler feature_range=-2,3", MinMaxScaler(feature_range=(-2, 3))),
        ("minmax_scaler clip=true", MinMaxScaler(clip=True)),
        ("robust_scaler", RobustScaler()),
        ("robust_scaler quantile_range=10,90 with_centering=false",
         RobustScaler(quantile_range=(10, 90), with_centering=False)),
        ("maxabs_scaler", MaxAbsScaler()),
    ]
    for step, sk in cases:
        m = Model([step, "frequency", FILL], df)
        assert_same(m.transform(df), fill(sk.fit(x).transform(x)), cols)
        # new data: the training statistics apply (and clip clips)
        other = load(name, seed=1)
        assert_same(m.transform(other), fill(sk.transform(numbers(other))), cols)


@pytest.mark.parametrize("name", SETS)
def test_normalizer_equals_scikit_learn(name):
    df = load(name)
    x = numbers(df).fillna(0)  # scikit-learn's Normalizer takes no NaN
    df = pd.concat([df[["kind"]], x], axis=1)
    for norm in ("l2", "l1", "max"):
        m = Model(["normalizer norm=%s" % norm, "frequency"], df)
        assert_same(m.transform(df), Normalizer(norm=norm).fit_transform(x), list(x.columns))


@pytest.mark.parametrize("name", SETS)
def test_imputer_equals_scikit_learn(name):
    df = load(name)
    x = numbers(df)
    x.iloc[:, 1] = np.nan  # a column with no value: dropped, as scikit-learn 1.2 does
    df[x.columns[1]] = np.nan
    for strategy in ("mean", "median", "most_frequent", "constant"):
        sk = SimpleImputer(strategy=strategy, add_indicator=True).fit(x)
        m = Model(["imputer add_indicator=true strategy=" + strategy, "frequency"], df)
        ours = m.transform(df)
        names = [n.replace("missingindicator_", "") + "_missing"
                 if n.startswith("missingindicator_") else n
                 for n in sk.get_feature_names_out()]
        assert_same(ours, sk.transform(x), names)
        assert (x.columns[1] in ours.columns) == (strategy == "constant")
    sk = SimpleImputer(strategy="median", keep_empty_features=True).fit(x)
    m = Model(["imputer strategy=median keep_empty_features=true", "frequency"], df)
    assert_same(m.transform(df), sk.transform(x), list(x.columns))


@pytest.mark.parametrize("name", SETS[:2])
def test_text_imputer_equals_scikit_learn(name):
    df = load(name)
    kind = df[["kind"]]
    for strategy, extra in (("most_frequent", ""), ("constant", ""),
                            ("constant", " fill_value=none")):
        params = {"strategy": strategy}
        if extra:
            params["fill_value"] = "none"
        sk = SimpleImputer(**params).fit(kind)
        want = OrdinalEncoder().fit_transform(sk.transform(kind))
        m = Model(["imputer columns=kind strategy=" + strategy + extra, "ordinal", FILL], df)
        assert_same(m.transform(df), want, ["kind"])


@pytest.mark.parametrize("name", SETS)
def test_missing_indicator_equals_scikit_learn(name):
    df = load(name)
    df.iloc[:, 0] = df.iloc[:, 0].fillna(0)  # one column with nothing missing
    x = df.copy()
    x["kind"] = x["kind"].astype(object)
    for features in ("missing-only", "all"):
        sk = MissingIndicator(features=features).fit(x)
        m = Model(["missing_indicator features=" + features, "select types=number", FILL], df)
        names = [x.columns[j] + "_missing" for j in sk.features_]
        assert_same(m.transform(df), sk.transform(x).astype(np.float64), names)


@pytest.mark.parametrize("name", SETS)
def test_ordinal_equals_scikit_learn(name):
    df = load(name)
    other = load(name, seed=2)
    other.loc[other.index[::7], "kind"] = "never seen"
    sk = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                        encoded_missing_value=-2).fit(df[["kind"]])
    m = Model(["ordinal handle_unknown=use_encoded_value unknown_value=-1 "
               "encoded_missing_value=-2", FILL], df)
    assert_same(m.transform(df), sk.transform(df[["kind"]]), ["kind"])
    assert_same(m.transform(other), sk.transform(other[["kind"]]), ["kind"])
    # the defaults: NaN for missing; unseen values in a bucket of their own
    sk = OrdinalEncoder().fit(df[["kind"]])
    m = Model(["ordinal", FILL], df)
    assert_same(m.transform(df), fill(sk.transform(df[["kind"]])), ["kind"])
    bucket = m.transform(other)["kind"].to_numpy()
    assert np.all(bucket[::7] == len(sk.categories_[0]))


@pytest.mark.parametrize("name", SETS)
def test_frequency_equals_pandas(name):
    df = load(name)
    other = load(name, seed=3)
    other.loc[other.index[::5], "kind"] = "never seen"
    share = df["kind"].value_counts(normalize=True, dropna=False)
    m = Model(["frequency", FILL], df)
    for data in (df, other):
        want = data["kind"].map(lambda v: share.get(v, 0.0) if v == v else
                                share[share.index.isna()].sum()).to_numpy(dtype=np.float64)
        assert_same(m.transform(data), want[:, None], ["kind_frequency"])


@pytest.mark.parametrize("name", SETS)
def test_ratio_equals_numpy(name):
    df = load(name)
    a, b = df.columns[0], df.columns[3]
    df.loc[df.index[::11], b] = 0
    df.loc[df.index[::22], a] = 0
    x, y = df[a].to_numpy(), df[b].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        want = {"ratio": np.where(y == 0, np.where(x == 0, 0.0, -1.0), x / y),
                "product": x * y, "difference": x - y}
    for op, values in want.items():
        m = Model(["ratio numerator=%s denominator=%s op=%s zero_division=-1 name=derived"
                   % (a, b, op), "frequency", FILL], df)
        values = np.where(np.isnan(x) | np.isnan(y), np.nan, values)
        assert_same(m.transform(df), fill(values)[:, None], ["derived"])


def test_batch_rows_and_file_agree():
    df = load("cardio.csv")
    steps = ["missing_indicator", "imputer columns=kind strategy=most_frequent",
             "imputer strategy=median", "ratio numerator=%s denominator=%s" % tuple(df.columns[[0, 3]]),
             "imputer", "robust_scaler", "minmax_scaler clip=true", "frequency",
             "normalizer norm=l1", "maxabs_scaler"]
    m = Model(steps, df)
    other = load("cardio.csv", seed=4).iloc[:300]
    batch = m.score(other)
    assert np.array_equal(batch, m.score_rows(other))
    assert np.array_equal(batch, m.reloaded().score(other))
    steps = ["ordinal handle_unknown=use_encoded_value unknown_value=-1 encoded_missing_value=-2",
             "imputer strategy=mean add_indicator=true", "maxabs_scaler"]
    m = Model(steps, df)
    assert np.array_equal(m.score(other), m.score_rows(other))
    assert np.array_equal(m.score(other), m.reloaded().score(other))


def test_bad_input_names_column_and_row():
    df = load("wbc.csv")
    m = Model(["ordinal handle_unknown=error", "imputer"], df)
    other = df.copy()
    other.loc[other.index[5], "kind"] = "never seen"
    with pytest.raises(AssertionError, match=r"'kind'.*'never seen'.*row 5"):
        m.transform(other)
    with pytest.raises(AssertionError, match=r"no column 'nope'"):
        Model(["robust_scaler columns=nope"], df)
    with pytest.raises(AssertionError, match=r"'kind' is text"):
        Model(["minmax_scaler columns=kind"], df)


def test_step_classes_equal_scikit_learn():
    """The scikit-learn-named classes of anoma.Pipeline, parametrised as
    scikit-learn's, give scikit-learn's output."""
    from sklearn.base import clone
    df = load("cardio.csv")
    x = numbers(df)
    cases = [
        (anoma.SimpleImputer(strategy="median", add_indicator=True),
         SimpleImputer(strategy="median", add_indicator=True)),
        (anoma.SimpleImputer(strategy="constant", fill_value=-1.5),
         SimpleImputer(strategy="constant", fill_value=-1.5)),
        (anoma.MinMaxScaler(feature_range=(-1, 2), clip=True),
         MinMaxScaler(feature_range=(-1, 2), clip=True)),
        (anoma.RobustScaler(quantile_range=(10, 90), with_centering=False),
         RobustScaler(quantile_range=(10, 90), with_centering=False)),
        (anoma.MaxAbsScaler(), MaxAbsScaler()),
    ]
    for ours, sk in cases:
        p = anoma.Pipeline([anoma.Select(drop="kind"), clone(ours), anoma.ZScore()]).fit(df)
        want = sk.fit_transform(x)
        got = p.transform(df)
        assert got.shape == want.shape
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=TOL,
                                   atol=TOL)
    filled = x.fillna(0)
    p = anoma.Pipeline([anoma.Normalizer(norm="max"), anoma.ZScore()]).fit(filled)
    np.testing.assert_allclose(p.transform(filled), Normalizer(norm="max").fit_transform(filled),
                               rtol=TOL, atol=TOL)
    sk = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                        encoded_missing_value=-2)
    p = anoma.Pipeline([anoma.Select(columns=["kind"]),
                        anoma.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                             encoded_missing_value=-2), anoma.ZScore()]).fit(df)
    assert np.array_equal(p.transform(df), sk.fit_transform(df[["kind"]]))
    sk = MissingIndicator(features="all")
    names = [c + "_missing" for c in df.columns]
    p = anoma.Pipeline([anoma.MissingIndicator(features="all"), anoma.Select(columns=names),
                        anoma.ZScore()]).fit(df)
    assert np.array_equal(p.transform(df), sk.fit_transform(df))
    # the library's own steps, and parameters checked before anything runs
    a, b = df.columns[0], df.columns[3]
    p = anoma.Pipeline([anoma.Ratio(a, b, name="r", zero_division=0), anoma.FrequencyEncoder(),
                        anoma.SimpleImputer(), anoma.ZScore()]).fit(df)
    assert list(p.get_feature_names_out()[-1:]) == ["r"]
    assert "kind_frequency" in list(p.get_feature_names_out())
    with pytest.raises(ValueError, match="unknown_value"):
        anoma.Pipeline([anoma.OrdinalEncoder(unknown_value=-1), anoma.ZScore()]).fit(df)
    with pytest.raises(ValueError, match="feature_range"):
        anoma.Pipeline([anoma.MinMaxScaler(feature_range=3), anoma.ZScore()]).fit(df)
