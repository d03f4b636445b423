"""anoma.Model on pandas DataFrames with text and timestamp columns: a model
with steps (one_hot, time_features) fitted from Python scores every row as
the `anoma` tool does with the same steps on the same CSV file (scores,
decisions, probability and confidence), in batch and row by row."""
import io
import os
import subprocess

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()
pd = pytest.importorskip("pandas")

CLI = os.environ.get("ANOMA_CLI")
STEPS = [("one_hot", "columns=device"),
         ("time_features", "column=when features=hour,day_of_week,weekend"),
         ("standard_scaler", "")]
DETECTORS = [("iforest", "n_trees=50 seed=1"), ("zscore", "combine=max")]


def events(rows, seed):
    """A CSV-like frame: a timestamp, a text column with a missing value, two
    numbers, a label."""
    rng = np.random.default_rng(seed)
    when = np.datetime64("2026-03-01T00:00:00") + rng.integers(0, 60 * 86400, rows).astype(
        "timedelta64[s]")
    device = rng.choice(["web", "ios", "android"], rows).astype(object)
    device[::37] = None
    amount = np.round(rng.gamma(2.0, 20.0, rows), 2)
    clicks = rng.integers(0, 30, rows)
    label = (rng.random(rows) < 0.03).astype(int)
    amount[label == 1] *= 8
    return pd.DataFrame({"when": when, "device": device, "amount": amount, "clicks": clicks,
                         "label": label})


def write(df, path):
    out = df.copy()
    out["when"] = out["when"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    out.to_csv(path, index=False)


def read(path):
    """As the tool reads it: numbers parsed exactly (pandas' default parser
    may be one unit in the last place off)."""
    return pd.read_csv(path, parse_dates=["when"], float_precision="round_trip")


def python_model():
    return anoma.Model("contamination=0.05", DETECTORS, steps=STEPS)


def test_model_fits_and_scores_a_typed_frame():
    df = events(800, 1)
    X = df.drop(columns="label")
    model = python_model().fit(X)
    assert model.n_steps == 3 and model.feature_names == list(X.columns)
    s = model.score(X)
    assert np.array_equal(model.predict(X), (s > model.threshold).astype(int))
    # the threshold is the 0.95 quantile of the training scores (fewer rows than calibration_rows)
    assert model.threshold == np.quantile(s, 0.95)
    # columns are picked by name: an extra column and another order change nothing
    shuffled = df[["label", "clicks", "amount", "device", "when"]]
    assert np.array_equal(model.score(shuffled), s)
    members = model.member_scores(X)
    assert members.shape == (len(X), 2)
    proba = model.predict_proba(X)
    assert np.all(np.diff(proba[np.argsort(s, kind="stable"), 1]) >= 0)
    # row by row: a Series, a dict and a list in input order, the batch's values
    confidence = model.predict_confidence(X)
    scorer = model.row_scorer()
    for i in range(0, len(X), 7):
        row = X.iloc[i]
        got = scorer.score_probability(row)
        assert got == (s[i], bool(s[i] > model.threshold), proba[i, 1], confidence[i])
        assert scorer.score(row.to_dict())[0] == s[i]
        assert np.array_equal(scorer.member_scores(list(row)), members.to_numpy()[i]
                              if hasattr(members, "to_numpy") else members[i])
    # a missing input column is named
    with pytest.raises(ValueError, match="'device'"):
        model.score(X.drop(columns="device"))


@pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="ANOMA_CLI is not set")
def test_model_equals_the_cli(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write(events(1500, 2), train)
    write(events(400, 3), test)
    path = tmp_path / "m.anoma"
    args = [CLI, "train", "-c", "0.05", "--label", "label", "-o", str(path)]
    for name, params in STEPS:
        args += ["-s", (name + " " + params).strip()]
    for name, params in DETECTORS:
        args += ["-d", name]
        for param in params.split():
            args += ["-p", param]
    p = subprocess.run(args + [str(train)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([CLI, "score", "--proba", str(path), str(test)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    cli = pd.read_csv(io.StringIO(p.stdout), float_precision="round_trip")

    train_df, test_df = read(train), read(test)
    model = python_model().fit(train_df.drop(columns="label"))
    assert model.threshold == anoma.Model.load(str(path)).threshold
    X = test_df.drop(columns="label")
    s = model.score(X)
    proba = model.predict_proba(X)
    assert np.array_equal(s, cli["score"].to_numpy())
    assert np.array_equal(model.predict(X), cli["is_anomaly"].to_numpy())
    assert np.array_equal(proba[:, 1], cli["probability"].to_numpy())
    assert np.array_equal(model.predict_confidence(X), cli["confidence"].to_numpy())
    scorer = model.row_scorer()
    rows = [scorer.score_probability(X.iloc[i]) for i in range(len(X))]
    assert np.array_equal([r[0] for r in rows], cli["score"].to_numpy())
    assert np.array_equal([r[2] for r in rows], cli["probability"].to_numpy())
