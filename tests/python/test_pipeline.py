"""Pipelines against scikit-learn: each step's output equals scikit-learn's to
1e-12 on the shared datasets with injected missing values and an injected
text column; errors name the column and row; the nslkdd pipeline reaches
scikit-learn's ROC AUC."""
import os
import pickle

import numpy as np
import pytest

from conftest import DATA_DIR, dataset_names, dataset_params, import_anoma, load_csv

anoma = import_anoma()
pd = pytest.importorskip("pandas")
sk_pre = pytest.importorskip("sklearn.preprocessing")


def close(a, b, tol=1e-12):
    """|a - b| <= tol * max(1, |b|) everywhere, NaN where the other is NaN."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(b)
    assert np.all(np.abs(a[ok] - b[ok]) <= tol * np.maximum(1, np.abs(b[ok])))


def with_holes_and_text(X, seed):
    """X as a DataFrame with ~5% NaN and a text column "kind" (with None)."""
    rng = np.random.default_rng(seed)
    X = np.array(X, dtype=float)
    X[rng.random(X.shape) < 0.05] = np.nan
    df = pd.DataFrame(X, columns=["f%d" % j for j in range(X.shape[1])])
    kinds = np.array(["alpha", "beta", "gamma", "delta", "Zeta", "eps ilon"], dtype=object)
    p = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    text = kinds[rng.choice(len(kinds), size=len(df), p=p)]
    text[rng.random(len(df)) < 0.03] = None
    df.insert(1, "kind", text)
    return df


def fitted(steps, df):
    return anoma.Pipeline(list(steps) + [anoma.ZScore()]).fit(df)


@pytest.mark.parametrize("name", dataset_params(tabular_only=True))
def test_standard_scaler_equals_sklearn(name):
    X, _ = load_csv(name)
    df = with_holes_and_text(X, 1)
    numbers = df.drop(columns="kind")
    p = fitted([anoma.Select(types="number"), anoma.StandardScaler()], df)
    close(p.transform(df), sk_pre.StandardScaler().fit_transform(numbers.values))
    assert list(p.get_feature_names_out()) == list(numbers.columns)
    p = fitted([anoma.Select(drop="kind"), anoma.StandardScaler(with_mean=False)], df)
    close(p.transform(df), sk_pre.StandardScaler(with_mean=False).fit_transform(numbers.values))


def sklearn_names(encoder, column):
    """scikit-learn's output names in this library's spelling."""
    out = []
    for name in encoder.get_feature_names_out([column]):
        value = name[len(column) + 1:]
        value = {"infrequent_sklearn": "<infrequent>", "None": "<missing>"}.get(value, value)
        out.append("%s=%s" % (column, value))
    return out


@pytest.mark.parametrize("name", dataset_params(tabular_only=True))
@pytest.mark.parametrize("options", [{}, {"min_frequency": 40}, {"min_frequency": 0.12},
                                     {"max_categories": 3},
                                     {"min_frequency": 0.05, "max_categories": 4}])
def test_one_hot_equals_sklearn(name, options):
    X, _ = load_csv(name)
    df = with_holes_and_text(X, 2)
    p = fitted([anoma.OneHotEncoder(handle_unknown="ignore", **options),
                anoma.Select(columns=None, drop=None, types="number")], df)
    ref = sk_pre.OneHotEncoder(handle_unknown="ignore", sparse_output=False, **options)
    expected = ref.fit_transform(df[["kind"]])
    names = list(p.get_feature_names_out())
    want = sklearn_names(ref, "kind")
    # placement: the encoded columns stand where "kind" stood (after f0)
    assert names[0] == "f0" and names[1:1 + len(want)] == want
    out = p.transform(df)
    close(out[:, 1:1 + len(want)], expected)
    close(out[:, [0] + list(range(1 + len(want), out.shape[1]))], df.drop(columns="kind").values)


def test_one_hot_nslkdd_text_columns_equal_sklearn():
    path = os.path.join(DATA_DIR, "nslkdd.csv")
    if not os.path.exists(path):
        pytest.skip("shared data absent")
    df = pd.read_csv(path).drop(columns="label")
    text = ["protocol_type", "service", "flag"]
    p = fitted([anoma.OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                anoma.Select(types="number")], df)
    ref = sk_pre.OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=5)
    expected = ref.fit_transform(df[text])
    names = list(p.get_feature_names_out())
    ours = [names.index(n) for c in text for n in sklearn_names(
        sk_pre.OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                             min_frequency=5).fit(df[[c]]), c)]
    close(p.transform(df)[:, ours], expected)


def small_frame():
    return pd.DataFrame({"amount": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0],
                         "device": ["web", "ios", "web", None, "web", "ios", "web", "web"],
                         "clicks": np.arange(8, dtype=np.int64)})


def test_unseen_categories():
    df = small_frame()
    later = df.copy()
    later.loc[5, "device"] = "tv"
    bucket = fitted([anoma.OneHotEncoder(), anoma.StandardScaler()], df)
    names = list(bucket.get_feature_names_out())
    assert names[1:5] == ["device=ios", "device=web", "device=<missing>", "device=<unseen>"]
    out = bucket.transform(later)
    unseen_col = out[:, 4]
    assert unseen_col[5] != unseen_col[0]  # set for row 5 only (then scaled)
    ignore = fitted([anoma.OneHotEncoder(handle_unknown="ignore")], df)
    assert np.all(ignore.transform(later)[5, 1:4] == 0)
    strict = fitted([anoma.OneHotEncoder(handle_unknown="error")], df)
    with pytest.raises(anoma.InvalidArgumentError, match=r"'device'.*'tv'.*row 5"):
        strict.anomaly_score(later)


def test_bad_input_names_the_column():
    df = small_frame()
    p = fitted([anoma.OneHotEncoder(), anoma.StandardScaler()], df)
    with pytest.raises(anoma.InvalidArgumentError, match="no column 'clicks'"):
        p.anomaly_score(df.drop(columns="clicks"))
    wrong = df.copy()
    wrong["device"] = np.arange(8.0)
    with pytest.raises(anoma.InvalidArgumentError, match="'device'.*expects text"):
        p.anomaly_score(wrong)
    texty = df.copy()
    texty["amount"] = ["1", "2", "x", "4", "5", "6", "7", "8"]  # text in a numeric column
    with pytest.raises(anoma.InvalidArgumentError, match="'amount'.*expects number"):
        p.anomaly_score(texty)
    inf = df.copy()
    inf.loc[6, "amount"] = np.inf
    with pytest.raises(anoma.NonFiniteError, match="'amount', row 6"):
        p.anomaly_score(inf)
    with pytest.raises(anoma.InvalidArgumentError, match="'device'.*one_hot"):
        fitted([anoma.StandardScaler()], df)  # text left for the detector
    with pytest.raises(anoma.InvalidArgumentError, match="'price'"):
        fitted([anoma.StandardScaler(columns=["amount", "price"])], df.drop(columns="device"))
    extra = df.assign(note="ignored")  # extra columns are ignored
    assert np.array_equal(p.anomaly_score(extra), p.anomaly_score(df))


def test_batch_equals_after_pickling_and_numpy_input():
    if "wbc.csv" not in dataset_names():
        pytest.skip("shared data absent")
    X, _ = load_csv("wbc.csv")
    df = with_holes_and_text(X, 3)
    p = anoma.Pipeline([anoma.OneHotEncoder(), anoma.StandardScaler(),
                        anoma.IsolationForest(random_state=4)]).fit(df)
    back = pickle.loads(pickle.dumps(p))
    assert np.array_equal(back.anomaly_score(df), p.anomaly_score(df))
    assert np.array_equal(back.predict(df), p.predict(df))
    # a NumPy array: columns x0, x1, ...
    q = anoma.Pipeline([anoma.StandardScaler(columns="x1"), anoma.ZScore()]).fit(np.nan_to_num(X))
    assert q.get_feature_names_out()[1] == "x1"


def test_nslkdd_reaches_sklearn_auc():
    path = os.path.join(DATA_DIR, "nslkdd.csv")
    if not os.path.exists(path):
        pytest.skip("shared data absent")
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    df = pd.read_csv(path)
    y = df.pop("label").values
    text = ["protocol_type", "service", "flag"]
    numbers = [c for c in df.columns if c not in text]
    ours, theirs = [], []
    for seed in range(5):
        p = anoma.Pipeline([anoma.OneHotEncoder(), anoma.StandardScaler(),
                            anoma.IsolationForest(random_state=seed)]).fit(df)
        ours.append(roc_auc_score(y, p.anomaly_score(df)))
        features = ColumnTransformer([("text", sk_pre.OneHotEncoder(handle_unknown="ignore"), text),
                                      ("numbers", sk_pre.StandardScaler(), numbers)])
        Z = features.fit_transform(df)
        forest = IsolationForest(random_state=seed).fit(Z)
        theirs.append(roc_auc_score(y, -forest.score_samples(Z)))
    print("nslkdd ROC AUC, mean of 5 seeds: anoma %.4f, scikit-learn %.4f"
          % (np.mean(ours), np.mean(theirs)))
    assert np.mean(ours) >= np.mean(theirs)


def test_cli_train_score_inspect_with_steps(tmp_path):
    import subprocess
    cli = os.environ.get("ANOMA_CLI")
    path = os.path.join(DATA_DIR, "nslkdd.csv")
    if not cli or not os.path.exists(path):
        pytest.skip("the anoma command or the shared data is absent")
    from sklearn.metrics import roc_auc_score
    model = str(tmp_path / "nsl.anoma")
    subprocess.run([cli, "train", "--step", "one_hot columns=protocol_type,service,flag",
                    "--step", "standard_scaler", "--detector", "iforest", "--param", "seed=3",
                    "-o", model, path], check=True, capture_output=True)
    shown = subprocess.run([cli, "inspect", model], check=True, capture_output=True,
                           text=True).stdout
    assert "step 0: one_hot" in shown and "service=http" in shown
    out = subprocess.run([cli, "score", model, path], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    scores = np.array([float(line.split(",")[0]) for line in out[1:]])
    df = pd.read_csv(path)
    y = df.pop("label").values
    p = anoma.Pipeline([anoma.OneHotEncoder(), anoma.StandardScaler(),
                        anoma.IsolationForest(random_state=3)]).fit(df)
    assert np.array_equal(scores, p.anomaly_score(df))  # the same model, by either route
    assert roc_auc_score(y, scores) > 0.93
    bad = subprocess.run([cli, "train", "--step", "standard_scaler", "--detector", "zscore",
                          "-o", model, path], capture_output=True, text=True)
    assert bad.returncode != 0 and "'protocol_type'" in bad.stderr
    helped = subprocess.run([cli, "train", "--help"], capture_output=True, text=True).stdout
    assert "one_hot" in helped and "standard_scaler" in helped
