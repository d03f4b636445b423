"""Tests of the `anoma` command-line tool (examples/anoma).

The tool is found through ANOMA_CLI (set by meson); without it the module is
skipped. Results are checked against independent references computed here
with numpy and scikit-learn, never against the tool's earlier output.
"""
import csv
import io
import json
import os
import queue
import re
import stat
import subprocess
import threading

import numpy as np
import pytest

CLI = os.environ.get("ANOMA_CLI")
if not CLI or not os.path.exists(CLI):
    pytest.skip("ANOMA_CLI is not set to the anoma executable", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WBC = os.path.join(ROOT, "examples", "data", "wbc.csv")
SHARED = os.environ.get("ANOMA_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")
DETECTORS = ["zscore", "mad", "iqr"]


def run(*args, ok=True):
    """Run the tool; with ok, insist on exit status 0 and a quiet stderr."""
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300)
    if ok:
        assert p.returncode == 0, p.stderr
        assert p.stderr == "", p.stderr  # piped: no progress output
    return p


def assert_fails(p, code, *words):
    """Exit status `code`, one line on stderr mentioning every word."""
    assert p.returncode == code, (p.returncode, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("anoma"), p.stderr
    for w in words:
        assert w in lines[0], (w, p.stderr)


def load(path, label="label"):
    """(X, y, names) of a CSV file: every column but the label is a feature."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    j = header.index(label)
    names = [n for n in header if n != label]
    return np.delete(data, j, axis=1), data[:, j].astype(int), names


def zscore_reference(X_train, X):
    """max over features of |x - mean| / std (numpy std, ddof=0; zero std -> 1)."""
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1
    return np.max(np.abs(X - mean) / std, axis=1)


def read_scores(text):
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["score", "is_anomaly"]
    return (np.array([float(r[0]) for r in rows[1:]]),
            np.array([int(r[1]) for r in rows[1:]]))


@pytest.fixture(scope="module")
def wbc():
    if not os.path.exists(WBC):
        pytest.skip("examples/data/wbc.csv is absent")
    return load(WBC)


@pytest.fixture(scope="module")
def zscore_model(tmp_path_factory, wbc):
    path = tmp_path_factory.mktemp("model") / "wbc.anoma"
    run("train", "--detector", "zscore", "--label", "label", "-o", path, WBC)
    return path


# ---- help and version -------------------------------------------------------

def test_version():
    p = run("--version")
    assert p.stdout.startswith("anoma ")


@pytest.mark.parametrize("args", [["--help"], ["help"], ["help", "train"], ["help", "detectors"],
                                  ["train", "--help"], ["score", "--help"],
                                  ["evaluate", "--help"], ["inspect", "-h"], ["stream", "--help"],
                                  ["help", "stream"], ["report", "--help"]])
def test_help_exits_zero(args):
    assert run(*args).stdout.strip()


def test_help_lists_detector_parameters():
    for args in (["train", "--help"], ["evaluate", "--help"], ["help", "detectors"]):
        text = run(*args).stdout
        for name in DETECTORS:
            assert ("  %s: " % name) in text, name
        for key in ("combine", "contamination", "threshold", "default", "range"):
            assert key in text, key
    # the exit status of an unknown detector is documented
    assert "status 1" in run("train", "--help").stdout


def test_help_lists_every_step():
    """Issue 9: every pipeline step listed with its parameters, from the library."""
    import anoma
    steps = anoma.params.list_components("step")
    assert "window" in steps and "one_hot" in steps
    for topic in ("detectors", "steps"):
        text = run("help", topic).stdout
        for name in steps:
            assert ("  %s: " % name) in text, name


# ---- evaluate ---------------------------------------------------------------

def test_evaluate_table(wbc):
    p = run("evaluate", "--label", "label", WBC)
    lines = p.stdout.splitlines()
    assert "wbc.csv" in lines[0] and "223 rows" in lines[0] and "9 columns" in lines[0]
    assert "10 anomalies" in lines[0] and "contamination 0.1" in lines[0]
    header, body = lines[3], lines[4:]
    assert header.split()[:3] == ["detector", "ROC", "AUC"]
    assert set(DETECTORS) <= {line.split()[0] for line in body}  # every registered detector
    assert all(len(line.split()) == 10 for line in body)
    # aligned: the last column is right-aligned, so every line ends at the same place
    assert len({len(line) for line in [header] + body}) == 1


def test_evaluate_json_matches_sklearn(wbc):
    from sklearn.metrics import (average_precision_score, f1_score, precision_score,
                                 recall_score, roc_auc_score)
    X, y, _ = wbc
    result = json.loads(run("evaluate", "--label", "label", "--format", "json", WBC).stdout)
    assert isinstance(result, list)
    by_name = {r["detector"]: r for r in result}
    assert set(DETECTORS) <= set(by_name)
    z = by_name["zscore"]
    ref = zscore_reference(X, X)
    assert abs(z["roc_auc"] - roc_auc_score(y, ref)) < 1e-9
    assert abs(z["pr_auc"] - average_precision_score(y, ref)) < 1e-9
    assert z["contamination"] == 0.1
    assert abs(z["threshold"] - np.percentile(ref, 90)) < 1e-12
    pred = (ref > np.percentile(ref, 90)).astype(int)
    assert abs(z["precision"] - precision_score(y, pred)) < 1e-9
    assert abs(z["recall"] - recall_score(y, pred)) < 1e-9
    assert abs(z["f1"] - f1_score(y, pred)) < 1e-9
    for r in result:
        assert r["fit_ms"] >= 0 and r["score_ms"] >= 0
        assert 0 <= r["best_f1"] <= 1 and r["best_f1"] >= r["f1"] - 1e-12


def test_evaluate_csv_parses(wbc):
    text = run("evaluate", "--label", "label", "--format", "csv", WBC).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(DETECTORS) <= {r["detector"] for r in rows}
    for r in rows:
        for key, value in r.items():
            if key != "detector":
                float(value)
    X, y, _ = wbc
    from sklearn.metrics import roc_auc_score
    zscore = next(r for r in rows if r["detector"] == "zscore")
    assert abs(float(zscore["roc_auc"]) - roc_auc_score(y, zscore_reference(X, X))) < 1e-9


def test_evaluate_detectors_params_and_contamination(wbc):
    result = json.loads(run("evaluate", "--label", "label", "--detectors", "iqr,zscore",
                            "--param", "zscore.combine=mean", "--contamination", "0.05",
                            "--format", "json", WBC).stdout)
    assert [r["detector"] for r in result] == ["iqr", "zscore"]
    X, y, _ = wbc
    mean, std = X.mean(axis=0), X.std(axis=0)
    ref = np.mean(np.abs(X - mean) / np.where(std == 0, 1, std), axis=1)
    assert result[1]["contamination"] == 0.05
    assert abs(result[1]["threshold"] - np.percentile(ref, 95)) < 1e-12


def test_evaluate_contamination_auto(wbc):
    """Each detector's own rule, from the library; shown as auto, not as 0."""
    X, y, _ = wbc
    p = run("evaluate", "--label", "label", "--contamination", "auto", WBC, ok=False)
    assert "contamination auto" in p.stdout.splitlines()[0]
    # knn has no rule of its own: left out of the default list with a note
    assert p.returncode == 0 and p.stderr.startswith("anoma: skipping knn: contamination=auto")
    result = json.loads(run("evaluate", "--label", "label", "--contamination", "auto",
                            "--format", "json", WBC, ok=False).stdout)
    rules = {r["detector"]: r["threshold"] for r in result}
    assert rules == {"zscore": 3, "mad": 3.5, "iqr": 0, "iforest": 0.5, "ocsvm": 0, "ocsvm_sgd": 0,
                     "lof": 1.5, "gbt": 0.5}
    assert all(r["contamination"] is None for r in result)
    z = {r["detector"]: r for r in result}["zscore"]
    flagged = zscore_reference(X, X) > 3
    assert z["recall"] == np.sum(flagged & (y == 1)) / np.sum(y == 1)
    assert z["precision"] == np.sum(flagged & (y == 1)) / np.sum(flagged)


def test_evaluate_train_rows(tmp_path, wbc):
    from sklearn.metrics import roc_auc_score
    X, y, names = wbc
    # wbc's anomalies are its first rows: reverse it so the scored tail holds them
    path = tmp_path / "reversed.csv"
    with open(path, "w") as f:
        f.write(",".join(names + ["label"]) + "\n")
        for row, label in zip(X[::-1], y[::-1]):
            f.write(",".join("%.17g" % v for v in row) + ",%d\n" % label)
    result = json.loads(run("evaluate", "--label", "label", "--train-rows", 150,
                            "--detectors", "zscore", "--format", "json", path).stdout)
    Xr, yr = X[::-1], y[::-1]
    ref = zscore_reference(Xr[:150], Xr[150:])
    assert abs(result[0]["roc_auc"] - roc_auc_score(yr[150:], ref)) < 1e-9
    assert "first 150 rows" in run("evaluate", "--label", "label", "--train-rows", 150,
                                   path).stdout


def documented_draw(n, n_train, seed):
    """The draw docs/cli.md documents: splitmix64 and a partial Fisher-Yates."""
    mask = (1 << 64) - 1
    state = seed
    order = list(range(n))
    for i in range(n_train):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        j = i + z % (n - i)
        order[i], order[j] = order[j], order[i]
    train = np.zeros(n, dtype=bool)
    train[order[:n_train]] = True
    return train


def test_evaluate_train_fraction(wbc):
    from sklearn.metrics import roc_auc_score
    X, y, _ = wbc
    args = ["evaluate", "--label", "label", "--detectors", "zscore", "--train-fraction", 0.5,
            "--seed", 11, "--format", "json", WBC]
    first, second = (json.loads(run(*args).stdout)[0] for _ in range(2))
    assert first["roc_auc"] == second["roc_auc"]  # the seed fixes the draw
    train = documented_draw(len(y), int(round(0.5 * len(y))), 11)
    ref = zscore_reference(X[train], X[~train])
    assert abs(first["roc_auc"] - roc_auc_score(y[~train], ref)) < 1e-9


@pytest.mark.parametrize("name", ["breastw.csv", "cardio.csv", "pima.csv", "thyroid.csv",
                                  "ionosphere.csv"])
def test_evaluate_shared_data(name):
    from sklearn.metrics import roc_auc_score
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip("shared data absent: %s" % path)
    X, y, _ = load(path)
    result = json.loads(run("evaluate", "--label", "label", "--format", "json", path).stdout)
    z = {r["detector"]: r for r in result}["zscore"]
    assert abs(z["roc_auc"] - roc_auc_score(y, zscore_reference(X, X))) < 1e-9


NSLKDD_TEXT = ["protocol_type", "service", "flag"]
NSLKDD_STEPS = ["--step", "one_hot columns=" + ",".join(NSLKDD_TEXT), "--step", "standard_scaler"]


@pytest.fixture(scope="module")
def nslkdd():
    path = os.path.join(SHARED, "nslkdd.csv")
    if not os.path.exists(path):
        pytest.skip("shared data absent: %s" % path)
    return path


def test_evaluate_steps_match_sklearn_pipeline(nslkdd):
    """evaluate --step on text columns: the ROC AUC scikit-learn's same
    pipeline (OneHotEncoder + StandardScaler, then IsolationForest) reaches."""
    import pandas as pd
    from sklearn import preprocessing as sk_pre
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    df = pd.read_csv(nslkdd)
    y = df.pop("label").values
    numbers = [c for c in df.columns if c not in NSLKDD_TEXT]
    ours, theirs = [], []
    for seed in (0, 1):
        result = json.loads(run("evaluate", "--label", "label", *NSLKDD_STEPS, "--detectors",
                                "iforest", "--param", "iforest.seed=%d" % seed, "--format",
                                "json", nslkdd).stdout)
        ours.append(result[0]["roc_auc"])
        Z = ColumnTransformer([("text", sk_pre.OneHotEncoder(), NSLKDD_TEXT),
                               ("numbers", sk_pre.StandardScaler(), numbers)]).fit_transform(df)
        forest = IsolationForest(random_state=seed).fit(Z)
        theirs.append(roc_auc_score(y, -forest.score_samples(Z)))
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.02, (ours, theirs)


def test_evaluate_steps_train_rows_equal_train_then_score(tmp_path, nslkdd):
    """The rows evaluate fits and scores with steps are the file's: its
    metrics equal train on the first N rows, then score on the others."""
    from sklearn.metrics import average_precision_score, roc_auc_score
    lines = open(nslkdd).read().splitlines()
    first, rest = tmp_path / "first.csv", tmp_path / "rest.csv"
    first.write_text("\n".join(lines[:3001]) + "\n")
    rest.write_text("\n".join(lines[:1] + lines[3001:]) + "\n")
    common = NSLKDD_STEPS
    result = json.loads(run("evaluate", "--label", "label", *common, "--detectors", "zscore",
                            "--train-rows", 3000, "--format", "json", nslkdd).stdout)[0]
    model = tmp_path / "m.anoma"
    run("train", *common, "--detector", "zscore", "--label", "label", "-o", model, first)
    scores, _ = read_scores(run("score", model, rest).stdout)
    y = np.array([int(line.rsplit(",", 1)[1]) for line in lines[3001:]])
    assert abs(result["roc_auc"] - roc_auc_score(y, scores)) < 1e-12
    assert abs(result["pr_auc"] - average_precision_score(y, scores)) < 1e-12
    # a random fraction: the same table shape, both classes among the scored rows
    frac = json.loads(run("evaluate", "--label", "label", *common, "--detectors", "zscore",
                          "--train-fraction", 0.5, "--format", "json", nslkdd).stdout)[0]
    assert 0.5 < frac["roc_auc"] <= 1


def test_evaluate_bad_step(nslkdd):
    assert_fails(run("evaluate", "--label", "label", "--step", "nope", nslkdd, ok=False), 1,
                 "--step 'nope'", "unknown step")
    assert_fails(run("evaluate", "--label", "label", "--step", "one_hot colour=red", nslkdd,
                     ok=False), 1, "colour")
    # without steps the text columns are left out, as before
    p = run("evaluate", "--label", "label", "--detectors", "zscore", nslkdd, ok=False)
    assert p.returncode == 0 and "protocol_type" in p.stderr


# ---- train, score, inspect --------------------------------------------------

def test_train_score_round_trip(wbc, zscore_model):
    X, _, _ = wbc
    scores, flagged = read_scores(run("score", zscore_model, WBC).stdout)
    assert len(scores) == len(X)
    np.testing.assert_allclose(scores, zscore_reference(X, X), rtol=1e-12, atol=1e-12)
    # one detector: the default contamination is "auto", the three-sigma rule
    # (as anoma.ZScore's default, test_train_defaults_flag_what_python_flags)
    assert np.array_equal(flagged, (scores > 3).astype(int))


PYTHON_TWINS = {"zscore": ("ZScore", [], {}), "mad": ("MAD", [], {}), "iqr": ("IQR", [], {}),
                "iforest": ("IsolationForest", ["--param", "seed=3"], {"random_state": 3})}


@pytest.mark.parametrize("detector", sorted(PYTHON_TWINS))
def test_train_defaults_flag_what_python_flags(tmp_path, wbc, detector):
    """Regression: anoma train defaulted to the detector's rule
    (contamination=auto) while ZScore, MAD and IQR defaulted to 0.1, so the
    same data flagged different rows. Now both default to auto (docs/model.md,
    "Default contamination"); and where the parameters leave no rule both
    refuse and ask for a rate, rather than one of them falling back to 0.1."""
    try:
        import anoma
    except (ImportError, OSError) as e:
        pytest.skip("Python bindings not importable: %s" % e)
    X, _, _ = wbc
    name, cli_args, py_args = PYTHON_TWINS[detector]
    path = tmp_path / (detector + ".anoma")
    run("train", "--detector", detector, *cli_args, "--label", "label", "-o", path, WBC)
    _, cli_flagged = read_scores(run("score", path, WBC).stdout)
    py_flagged = getattr(anoma, name)(**py_args).fit(X).predict(X) == -1
    assert np.array_equal(cli_flagged, py_flagged.astype(int)), detector
    # the rule, not a rate: a share of 0.1 would flag about 22 of these 223 rows
    assert 0 < cli_flagged.sum() and abs(cli_flagged.sum() - 0.1 * len(X)) > 1
    if detector == "iforest":
        return
    assert_fails(run("train", "--detector", detector, "--param", "combine=mean",
                     "-o", tmp_path / "no.anoma", WBC, ok=False),
                 1, "default", "contamination", "combine=mean", "rate")
    assert not os.path.exists(tmp_path / "no.anoma")
    with pytest.raises(anoma.ParameterValueError, match="combine=mean.*rate"):
        getattr(anoma, name)(combine="mean").fit(X)
    # with a rate, both flag that share of the rows
    run("train", "--detector", detector, "--param", "combine=mean", "--contamination", "0.1",
        "--label", "label", "-o", path, WBC)
    _, cli_flagged = read_scores(run("score", path, WBC).stdout)
    py_flagged = getattr(anoma, name)(combine="mean", contamination=0.1).fit(X).predict(X) == -1
    assert np.array_equal(cli_flagged, py_flagged.astype(int)), detector


def test_train_ensemble_defaults_to_a_rate_without_a_shared_rule(tmp_path, wbc):
    """Several detectors (no Python estimator) keep the model's default 0.1
    when their rescaled scores have no rule: that share of the rows, numpy's
    percentile of the training scores."""
    path = tmp_path / "ensemble.anoma"
    run("train", "--detector", "zscore,mad", "--label", "label", "-o", path, WBC)
    scores, flagged = read_scores(run("score", path, WBC).stdout)
    assert np.array_equal(flagged, (scores > np.percentile(scores, 90)).astype(int))


def test_train_contamination_rate(tmp_path, wbc):
    X, _, _ = wbc
    path = tmp_path / "rate.anoma"
    run("train", "--detector", "zscore", "--contamination", "0.1", "-o", path, WBC)
    scores, flagged = read_scores(run("score", path, WBC).stdout)
    threshold = np.percentile(scores, 90)  # contamination 0.1, linear interpolation
    assert np.array_equal(flagged, (scores > threshold).astype(int))


def test_train_contamination_auto_from_the_library(tmp_path, wbc):
    """iqr's rule (outside Tukey's fences) comes from the library: before,
    the tool's own table lacked it and refused --contamination auto."""
    X, _, _ = wbc
    path = tmp_path / "iqr.anoma"
    run("train", "--detector", "iqr", "--label", "label", "--contamination", "auto",
        "-o", path, WBC)
    _, flagged = read_scores(run("score", path, WBC).stdout)
    q1, q3 = np.percentile(X, [25, 75], axis=0)
    scale = np.where(q3 > q1, q3 - q1, 1.0)  # a zero IQR counts as 1 (statistical.md)
    outside = ((X < q1 - 1.5 * scale) | (X > q3 + 1.5 * scale)).any(axis=1)
    assert np.array_equal(flagged, outside.astype(int))
    # a combined score with no rule: refused before reading, saying why
    assert_fails(run("train", "--detector", "zscore", "--param", "combine=mean",
                     "--contamination", "auto", "-o", tmp_path / "no.anoma", WBC, ok=False),
                 1, "contamination", "combine=mean")
    # a rate and a threshold together: refused, naming both
    assert_fails(run("train", "--detector", "zscore", "--contamination", "0.05",
                     "--model-param", "threshold=2", "-o", tmp_path / "no.anoma", WBC,
                     ok=False), 1, "contamination=0.05", "threshold=2")


def run_on_terminal(*args):
    """Run the tool with stderr on a pseudo-terminal; (result, stderr text)."""
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.run([CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=slave,
                           timeout=300)
    finally:
        os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal is closed once everything is read
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p, out.decode()


def test_progress_bars_on_a_terminal_only(tmp_path):
    """The library reports bytes read, trees built and rows scored; the tool
    draws one bar per stage on a terminal and nothing when piped."""
    rng = np.random.default_rng(1)
    data = tmp_path / "big.csv"
    np.savetxt(data, rng.standard_normal((60000, 3)), delimiter=",", header="a,b,c",
               comments="", fmt="%.4f")
    model = tmp_path / "big.anoma"
    train = ("train", "--detector", "iforest", "--param", "n_trees=120", "-o", model, data)
    p, err = run_on_terminal(*train)
    assert p.returncode == 0, err
    bars = [line for line in err.replace("\r", "\n").split("\n") if "%" in line]
    finished = [line.split(" [")[0] for line in bars if "100%" in line]
    assert finished == ["reading 100%", "building trees 100%"], bars
    assert "120/120 trees" in err and "s left" in err
    p, err = run_on_terminal("score", model, data)
    assert p.returncode == 0 and "scoring 100%" in err and "60000/60000 rows" in err, err
    # piped: the same work, and not a byte on stderr (run() insists on it)
    run(*train)
    run("score", model, data)


def test_score_output_file(tmp_path, zscore_model):
    out = tmp_path / "scores.csv"
    assert run("score", zscore_model, WBC, "-o", out).stdout == ""
    assert out.read_text() == run("score", zscore_model, WBC, "--label", "label").stdout


def test_score_output_dash_is_standard_output(zscore_model):
    assert run("score", zscore_model, WBC, "-o", "-").stdout == run("score", zscore_model, WBC).stdout


# ---- the saving rule for -o (docs/model-format.md, "Saving") -----------------

def train_to(out, ok=True):
    return run("train", "--detector", "zscore", "--label", "label", "-o", out, WBC, ok=ok)


def test_train_output_keeps_a_private_mode(tmp_path, wbc):
    out = tmp_path / "private.anoma"
    out.write_text("old")
    out.chmod(0o600)
    train_to(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    X, _, _ = wbc
    scores, _ = read_scores(run("score", out, WBC).stdout)
    np.testing.assert_allclose(scores, zscore_reference(X, X), rtol=1e-12, atol=1e-12)


def test_train_output_follows_a_symlink(tmp_path, wbc):
    (tmp_path / "models").mkdir()
    real = tmp_path / "models" / "real.anoma"
    real.write_text("old")
    link = tmp_path / "current.anoma"
    link.symlink_to("models/real.anoma")
    train_to(link)
    assert link.is_symlink() and os.readlink(link) == "models/real.anoma"
    X, _, _ = wbc
    scores, _ = read_scores(run("score", real, WBC).stdout)
    np.testing.assert_allclose(scores, zscore_reference(X, X), rtol=1e-12, atol=1e-12)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["current.anoma", "models", "real.anoma"]


def test_train_output_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_fails(train_to(fifo, ok=False), 1, str(fifo), "is a FIFO; refusing to replace it")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert os.listdir(tmp_path) == ["fifo"]


def test_train_output_refuses_a_character_device(tmp_path):
    null = tmp_path / "null"
    try:  # a private copy of /dev/null: the real one is never at risk
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError as e:
        pytest.skip(f"cannot create a character device without root ({e})")
    assert_fails(train_to(null, ok=False), 1, "is a character device; refusing to replace it")
    assert stat.S_ISCHR(null.lstat().st_mode)


def test_score_output_refuses_a_fifo(tmp_path, zscore_model):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Held open for reading, so that a tool that wrongly writes into the FIFO
    # does not block: it then exits 0 and the test fails instead of hanging.
    reader = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        p = run("score", zscore_model, WBC, "-o", fifo, ok=False)
    finally:
        os.close(reader)
    assert_fails(p, 1, "is a FIFO; refusing to replace it")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_score_output_keeps_mode_and_follows_symlink(tmp_path, zscore_model):
    real = tmp_path / "real.csv"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "scores.csv"
    link.symlink_to(real)
    run("score", zscore_model, WBC, "-o", link)
    assert link.is_symlink() and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert real.read_text() == run("score", zscore_model, WBC).stdout


def test_score_picks_columns_by_name(tmp_path, wbc, zscore_model):
    X, y, names = wbc
    path = tmp_path / "shuffled.csv"
    order = [8, 3, 0, 5, 1, 7, 2, 6, 4]
    with open(path, "w") as f:
        f.write("label,extra," + ",".join(names[j] for j in order) + "\n")
        for row, label in zip(X, y):
            f.write("%d,42," % label + ",".join("%.17g" % row[j] for j in order) + "\n")
    scores, _ = read_scores(run("score", zscore_model, path).stdout)
    np.testing.assert_allclose(scores, zscore_reference(X, X), rtol=1e-12, atol=1e-12)

    missing = tmp_path / "missing.csv"
    with open(missing, "w") as f:
        f.write(",".join(n for n in names if n != "f3") + "\n")
        for row in X:
            f.write(",".join("%.17g" % v for j, v in enumerate(row) if j != 3) + "\n")
    assert_fails(run("score", zscore_model, missing, ok=False), 1, "f3")


# ---- score --explain -------------------------------------------------------

def read_explained(text, k):
    """(scores, flags, names, contributions) of `anoma score --explain k` output."""
    rows = list(csv.reader(io.StringIO(text)))
    header = ["score", "is_anomaly"]
    for r in range(1, k + 1):
        header += ["feature_%d" % r, "contribution_%d" % r]
    assert rows[0] == header
    body = rows[1:]
    assert all(len(r) == len(header) for r in body)
    return (np.array([float(r[0]) for r in body]), np.array([int(r[1]) for r in body]),
            [r[2::2] for r in body], np.array([[float(v) for v in r[3::2]] for r in body]))


def write_csv(path, X, names, y=None):
    with open(path, "w") as f:
        f.write(",".join(names) + ("" if y is None else ",label") + "\n")
        for i, row in enumerate(X):
            f.write(",".join("%.17g" % v for v in row) + ("" if y is None else ",%d" % y[i]) + "\n")


def named_zscore_model(tmp_path, wbc):
    """wbc.csv with awkward column names (one quoted, with a comma), and a
    zscore model trained on it: (X, y, names, data path, model path)."""
    X, y, _ = wbc
    names = ["alpha", '"a,b"', "gamma", "delta", "eps", "zeta", "eta", "theta", "iota"]
    data = tmp_path / "named.csv"
    write_csv(data, X, names, y)
    model = tmp_path / "z.anoma"
    run("train", "-d", "zscore", "-l", "label", "-o", model, data)
    return X, y, names, data, model


def test_score_explain_zscore(tmp_path, wbc):
    X, y, names, data, model = named_zscore_model(tmp_path, wbc)
    plain = read_scores(run("score", model, data).stdout)
    scores, flags, got_names, contrib = read_explained(run("score", model, data,
                                                            "--explain", "3").stdout, 3)
    np.testing.assert_array_equal(scores, plain[0])
    np.testing.assert_array_equal(flags, plain[1])
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1
    per_feature = np.abs(X - mean) / std  # zscore's per-feature scores
    real_names = ["alpha", "a,b", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota"]
    for i in range(len(X)):
        order = sorted(range(9), key=lambda j: (-per_feature[i, j], j))[:3]
        np.testing.assert_allclose(contrib[i], per_feature[i, order], rtol=1e-12, atol=1e-12)
        assert contrib[i][0] >= contrib[i][1] >= contrib[i][2]
        assert set(got_names[i]) <= set(real_names)
        assert got_names[i][0] == real_names[int(np.argmax(np.where(
            per_feature[i] == per_feature[i].max(), 1, 0)))]  # ties: the first column
    np.testing.assert_allclose(contrib[:, 0], scores, rtol=1e-12)  # combine=max: the top one

    # K above the feature count lists every feature; -e is the short form
    _, _, all_names, _ = read_explained(run("score", model, data, "-e", "50").stdout, 9)
    assert all(sorted(n) == sorted(real_names) for n in all_names)


def test_score_explain_iforest_planted_outlier(tmp_path):
    X = np.random.default_rng(5).standard_normal((2000, 6))
    X[0, 3] = 8.0
    data = tmp_path / "planted.csv"
    write_csv(data, X, ["c%d" % j for j in range(6)])
    model = tmp_path / "if.anoma"
    run("train", "-d", "iforest", "-p", "seed=3", "-o", model, data)
    _, _, names, contrib = read_explained(run("score", model, data, "--explain", "1").stdout, 1)
    assert names[0] == ["c3"]
    assert contrib[0, 0] > 0
    text = run("inspect", model).stdout  # the forest's own description
    assert "detector 0: iforest" in text and "trees: 100, nodes: " in text
    assert "max_samples: 256 (c = 10.244771), features: 6, extension_level: 0" in text


def write_devices(path, planted):
    """500 rows of device (text), amount and clicks; row 7 is the only one
    whose device is `planted`, its numbers ordinary."""
    rng = np.random.default_rng(9)
    device = np.where(rng.random(500) < 0.6, "web", "ios").astype(object)
    device[7] = planted
    amount, clicks = rng.normal(50, 10, 500), rng.normal(20, 4, 500)
    amount[7], clicks[7] = 50.0, 20.0
    with open(path, "w") as f:
        f.write("device,amount,clicks\n")
        for i in range(500):
            f.write("%s,%.17g,%.17g\n" % (device[i], amount[i], clicks[i]))
    return device, amount, clicks


def test_score_and_stream_explain_derived_features(tmp_path):
    """With steps, --explain names the derived column the detector saw: a
    planted rare device is explained by its one-hot column, with the
    z-score hand-computed here (|1 - p| / sqrt(p (1 - p)), p = 1/500)."""
    data = tmp_path / "devices.csv"
    device, amount, clicks = write_devices(data, "Mobile")
    model = tmp_path / "z.anoma"
    run("train", "--step", "one_hot columns=device", "-d", "zscore", "-o", model, data)
    _, _, names, contrib = read_explained(run("score", model, data, "--explain", 2).stdout, 2)
    p = 1 / 500
    assert names[7][0] == "device=Mobile"
    assert abs(contrib[7, 0] - (1 - p) / np.sqrt(p * (1 - p))) < 1e-9
    # every row's second feature and contribution, against numpy
    onehot = {d: (device == d).astype(float) for d in ("ios", "web")}
    Z = {"amount": amount, "clicks": clicks, **{"device=" + d: v for d, v in onehot.items()}}
    for i in (0, 1, 2):
        ref = {k: abs(v[i] - v.mean()) / v.std() for k, v in Z.items()}
        best = sorted(ref, key=ref.get, reverse=True)[0]
        assert names[i][0] == best and abs(contrib[i, 0] - ref[best]) < 1e-9
    # the stream: the same names and values, one line at a time
    got = stream(model, "--explain", 2, input=open(data).read()).stdout
    assert score_part(got) == run("score", model, data, "--explain", 2).stdout
    # K above the width lists every derived column once
    _, _, names, _ = read_explained(run("score", model, data, "--explain", 99).stdout, 6)
    assert sorted(names[0]) == sorted(["amount", "clicks", "device=Mobile", "device=ios",
                                       "device=web", "device=<unseen>"])


def test_explain_iforest_planted_category(tmp_path):
    data = tmp_path / "devices.csv"
    write_devices(data, "Mobile")
    model = tmp_path / "if.anoma"
    run("train", "--step", "one_hot columns=device", "--step", "standard_scaler", "-d",
        "iforest", "-p", "seed=2", "-o", model, data)
    scores, _, names, _ = read_explained(run("score", model, data, "--explain", 1).stdout, 1)
    assert names[7] == ["device=Mobile"]
    streamed = stream(model, "--explain", 1, input=open(data).read()).stdout
    _, _, snames, _ = read_explained(score_part(streamed), 1)
    assert snames[7] == ["device=Mobile"]


def test_score_explain_bad_k(zscore_model):
    for k in ("0", "-1", "two", "1.5", ""):
        assert_fails(run("score", zscore_model, WBC, "--explain", k, ok=False), 2, "--explain")
    assert "--explain K" in run("score", "--help").stdout


def test_train_ensemble_and_params(tmp_path):
    path = tmp_path / "ensemble.anoma"
    run("train", "--detector", "zscore,mad", "--detector", "iqr", "--param", "k=3",
        "--model-param", "ensemble=max", "--contamination", "0.05", "--label", "label",
        "-o", path, WBC)
    text = run("inspect", path).stdout
    for name in DETECTORS:
        assert name in text
    assert "k=3" in text and "ensemble=max" in text and "contamination=0.05" in text


def test_inspect(zscore_model):
    text = run("inspect", zscore_model).stdout
    assert "zscore" in text
    assert "features: " + " ".join("f%d" % j for j in range(9)) in text
    assert "file size: %d bytes" % os.path.getsize(zscore_model) in text
    # each figure once (the memory size was printed twice)
    memory = [line for line in text.splitlines() if line.startswith("memory")]
    assert len(memory) == 1 and memory[0].split()[1].isdigit(), text


def test_model_loads_in_python(tmp_path, wbc, zscore_model):
    try:
        import anoma
        anoma.Model
    except (ImportError, OSError, AttributeError) as e:
        pytest.skip("Python bindings not importable: %s" % e)
    X, _, _ = wbc
    model = anoma.Model.load(str(zscore_model))
    score = getattr(model, "score_samples", None) or model.score
    cli_scores, cli_flagged = read_scores(run("score", zscore_model, WBC).stdout)
    assert np.array_equal(score(X), cli_scores)  # %.17g round-trips exactly
    assert np.array_equal(np.asarray(model.predict(X)), cli_flagged)

    # and the other way: a model without feature names uses every column but --label
    unnamed = anoma.Model.create("", [("zscore", "")]).fit(X)
    path = tmp_path / "unnamed.anoma"
    unnamed.save(str(path))
    scores, _ = read_scores(run("score", path, WBC, "--label", "label").stdout)
    assert np.array_equal(scores, unnamed.score(X))


# ---- errors -----------------------------------------------------------------

def test_missing_files(tmp_path, zscore_model):
    assert_fails(run("score", zscore_model, tmp_path / "nope.csv", ok=False), 1, "nope.csv")
    assert_fails(run("score", tmp_path / "nope.anoma", WBC, ok=False), 1, "nope.anoma")
    assert_fails(run("inspect", tmp_path / "nope.anoma", ok=False), 1)
    assert_fails(run("evaluate", "--label", "label", tmp_path / "nope.csv", ok=False), 1)
    assert_fails(run("train", "-d", "zscore", "-o", tmp_path / "m", tmp_path / "x.csv",
                     ok=False), 1)


def test_bad_csv(tmp_path, zscore_model):
    bad = tmp_path / "bad.csv"
    bad.write_text("f0,f1,label\n1,2,0\n3,oops,1\n")
    # a text value makes f1 a text column: not a feature, and a note says so
    p = run("evaluate", "--label", "label", bad, ok=False)
    assert p.returncode == 0
    assert p.stderr.startswith("anoma: note:") and "f1" in p.stderr and "--types" in p.stderr
    # declared a number, the bad value is an error naming line and column
    assert_fails(run("evaluate", "--label", "label", "--types", "f1:number", bad, ok=False), 1,
                 "line 3", "'f1'", "oops")
    labels = tmp_path / "labels.csv"
    labels.write_text("f0,label\n1,0\n2,7\n")
    assert_fails(run("evaluate", "--label", "label", labels, ok=False), 1, "label")
    assert_fails(run("evaluate", "--label", "nolabel", WBC, ok=False), 1, "nolabel")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert_fails(run("score", zscore_model, empty, ok=False), 1)


def test_corrupt_model(tmp_path, zscore_model):
    data = zscore_model.read_bytes()
    path = tmp_path / "corrupt.anoma"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(flipped))
    assert_fails(run("inspect", path, ok=False), 1)
    assert_fails(run("score", path, WBC, ok=False), 1)
    # no single flipped byte or truncation may crash the tool
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x55
        path.write_bytes(bytes(flipped))
        p = run("inspect", path, ok=False)
        assert p.returncode in (0, 1), (i, p.returncode, p.stderr)
    for n in range(0, len(data), 7):
        path.write_bytes(data[:n])
        assert_fails(run("inspect", path, ok=False), 1)


@pytest.mark.parametrize("args", [
    ["train", "--bogus"], ["score", "-x"], ["evaluate", "--nope", "1"], ["inspect", "--what"],
    ["stream", "--bogus", "m.anoma"], ["frobnicate"], [],
])
def test_unknown_option_is_usage_error(args):
    p = run(*args, ok=False)
    assert p.returncode == 2
    assert p.stderr.strip()


def test_missing_arguments_are_usage_errors(zscore_model):
    assert_fails(run("train", "--detector", "zscore", WBC, ok=False), 2, "-o")
    assert_fails(run("train", "-o", "m.anoma", WBC, ok=False), 2, "--detector")
    assert_fails(run("train", "--detector", ok=False), 2)
    assert_fails(run("score", zscore_model, ok=False), 2)
    assert_fails(run("evaluate", WBC, ok=False), 2, "--label")
    assert_fails(run("evaluate", "--label", "label", "--format", "xml", WBC, ok=False), 2)
    assert_fails(run("evaluate", "--label", "label", "--train-rows", "x", WBC, ok=False), 2)


def test_unknown_detector(tmp_path):
    out = tmp_path / "m.anoma"
    assert_fails(run("train", "-d", "nosuch", "-o", out, WBC, ok=False), 1, "nosuch")
    assert not out.exists()
    assert_fails(run("evaluate", "--label", "label", "--detectors", "zscore,nosuch", WBC,
                     ok=False), 1, "nosuch")


def test_bad_param_value(tmp_path):
    out = tmp_path / "m.anoma"
    assert_fails(run("train", "-d", "zscore", "--param", "combine=bogus", "-o", out, WBC,
                     ok=False), 1, "combine")
    assert_fails(run("train", "-d", "zscore", "--param", "nosuchkey=1", "-o", out, WBC,
                     ok=False), 1, "nosuchkey")
    assert_fails(run("train", "-d", "zscore", "--contamination", "0.9", "-o", out, WBC,
                     ok=False), 1, "contamination")
    assert_fails(run("train", "-d", "zscore", "--model-param", "contamination=abc", "-o", out,
                     WBC, ok=False), 1, "contamination")
    assert_fails(run("evaluate", "--label", "label", "--param", "iqr.combine=bogus", WBC,
                     ok=False), 1, "combine")
    assert_fails(run("evaluate", "--label", "label", "--param", "zscore.nosuchkey=1", WBC,
                     ok=False), 1, "nosuchkey")
    assert not out.exists()


# ---- stream ---------------------------------------------------------------

def stream(*args, input="", ok=True):
    """Run `anoma stream` with `input` on standard input."""
    p = subprocess.run([CLI, "stream", *map(str, args)], input=input, capture_output=True,
                       text=True, timeout=300)
    if ok:
        assert p.returncode == 0, p.stderr
        assert p.stderr == "", p.stderr
    return p


def score_part(text):
    """`anoma stream` output without its last column, `error`, which must be
    empty on every line: then it is what `anoma score` writes."""
    out = []
    for i, line in enumerate(text.splitlines()):
        suffix = ",error" if i == 0 else ","
        assert line.endswith(suffix), (i, line)
        out.append(line[:-len(suffix)] + "\n")
    return "".join(out)


def data_lines(path):
    with open(path) as f:
        return f.read().splitlines()


@pytest.mark.parametrize("detector,extra", [("zscore", []), ("iforest", []),
                                            ("iforest", ["--explain", "3"]),
                                            ("zscore,mad", ["--explain", "2"]),
                                            ("iforest", ["--proba"]),
                                            ("zscore,mad", ["--proba", "--explain", "2"])])
def test_stream_matches_score(tmp_path, detector, extra):
    # the bundled file, label column included: stream ignores it as score does
    model = tmp_path / "m.anoma"
    run("train", "-d", detector, "-l", "label", "-o", model, WBC)
    expected = run("score", model, WBC, *extra).stdout
    with open(WBC) as f:
        got = stream(model, *extra, input=f.read()).stdout
    # byte for byte: the same scores, flags and explanations, and no error
    assert score_part(got) == expected
    assert len(got.splitlines()) == len(data_lines(WBC))


@pytest.mark.parametrize("name", ["breastw.csv", "cardio.csv", "pima.csv"])
def test_stream_matches_score_shared_data(tmp_path, name):
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip("shared data absent: %s" % path)
    model = tmp_path / "m.anoma"
    run("train", "-d", "iforest", "-l", "label", "-o", model, path)
    with open(path) as f:
        got = stream(model, input=f.read()).stdout
    scores, flags = read_scores(score_part(got))
    ref_scores, ref_flags = read_scores(run("score", model, path).stdout)
    assert np.array_equal(scores, ref_scores)
    assert np.array_equal(flags, ref_flags)


class LineReader:
    """Lines of a pipe, read by a thread, so that a test can wait with a timeout."""

    def __init__(self, pipe):
        self.lines = queue.Queue()
        self.thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self.thread.start()

    def _pump(self, pipe):
        for line in pipe:
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def get(self, timeout=20):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output line within %s s" % timeout) from None


def test_stream_real_time(zscore_model):
    lines = data_lines(WBC)
    expected = run("score", zscore_model, WBC).stdout.splitlines()
    p = subprocess.Popen([CLI, "stream", str(zscore_model)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        out = LineReader(p.stdout)
        # one line in, one line out, before the next line is written: the tool
        # answers each line as it comes (input still open, so no EOF to wait for)
        for i, line in enumerate(lines[:40]):
            p.stdin.write(line + "\n")
            p.stdin.flush()
            assert out.get() == expected[i] + (",error" if i == 0 else ",") + "\n", i
            assert p.poll() is None  # still waiting for more input
        p.stdin.close()  # EOF ends the run cleanly
        assert out.get() is None
        assert p.wait(timeout=20) == 0
        assert p.stderr.read() == ""
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def read_stream_output(text):
    """`anoma stream` output read by pandas, every field as the text written
    (an empty field stays ''), so that bad lines' empty fields show."""
    pd = pytest.importorskip("pandas")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_stream_bad_lines_keep_their_place(tmp_path, zscore_model):
    lines = data_lines(WBC)
    bad = {  # 0-based index into `lines` -> what replaces it, a word of its message
        3: ("1,2,oops,4,5,6,7,8,9,0", "'oops'"),             # not a number
        4: ('1,2,"o""ps, x",4,5,6,7,8,9,0', "'o\"ps, x'"),   # quote and comma in the message
        6: ("1,2,3", "expected 10 fields, found 3"),           # too few fields
        7: ("1,2,3,4,5,6,7,8,9,0,11", "found 11"),             # too many
        10: ("1,2,inf,4,5,6,7,8,9,0", "infinite"),             # infinite
        12: ("1,2,3,4,5,6,7,8,1e999,0", "range"),              # out of range
        15: ('1,"2,3,4,5,6,7,8,9,0', "quoted"),                # a quote not closed on its line
    }
    text = "\n".join(bad[i][0] if i in bad else line for i, line in enumerate(lines)) + "\n"
    p = stream(zscore_model, input=text, ok=False)
    assert p.returncode == 1
    # the reference: `anoma score` on the good rows alone
    good_rows = [i for i in range(1, len(lines)) if i not in bad]
    good_file = tmp_path / "good.csv"
    good_file.write_text("\n".join([lines[0]] + [lines[i] for i in good_rows]) + "\n")
    ref = read_stream_output(run("score", zscore_model, good_file).stdout)
    out = read_stream_output(p.stdout)
    assert list(out.columns) == ["score", "is_anomaly", "error"]
    assert len(out) == len(lines) - 1  # one output line per input data line, in order
    good = out.drop(index=[i - 1 for i in bad])
    assert list(good["score"]) == list(ref["score"])  # the same %.17g text
    assert list(good["is_anomaly"]) == list(ref["is_anomaly"])
    assert (good["error"] == "").all()
    for i, (_, word) in bad.items():
        row = out.iloc[i - 1]
        assert row["score"] == "" and row["is_anomaly"] == "", row
        assert row["error"].startswith("line %d" % (i + 1)), row["error"]
        assert word in row["error"], (word, row["error"])
    # stderr: the same messages, then a summary
    messages = p.stderr.splitlines()
    assert len(messages) == len(bad) + 1
    for message, i in zip(messages, sorted(bad)):
        assert message == "anoma: stdin: " + out.iloc[i - 1]["error"]
    assert "%d of %d" % (len(bad), len(lines) - 1) in messages[-1]
    # an empty line is not a data line: no output line, and the pairing holds
    spaced = stream(zscore_model, input=text.replace("\n", "\n\n", 5), ok=False).stdout
    assert read_stream_output(spaced)["score"].tolist() == out["score"].tolist()


def test_stream_bad_lines_with_keep_explain_and_steps(tmp_path):
    """An unseen category (unseen=error) is a bad line too; --keep fields are
    kept when the line was read, --explain fields stay aligned (empty)."""
    data = tmp_path / "devices.csv"
    write_devices(data, "Mobile")
    model = tmp_path / "strict.anoma"
    run("train", "--step", "one_hot columns=device unseen=error", "-d", "zscore", "-o", model,
        data)
    rows = data_lines(data)[1:]
    lines = [  # (line after the id, is it good)
        (rows[0], True),
        ("Tablet,50,20", False),       # a category not seen in training
        (rows[1], True),
        ("web,abc,20", False),         # not a number
        ("web,50", False),             # too few fields
        (rows[2], True),
    ]
    text = "id,device,amount,clicks\n" + "".join(
        "%d,%s\n" % (100 + i, line) for i, (line, _) in enumerate(lines))
    p = stream(model, "--keep", "id", "--explain", 2, input=text, ok=False)
    assert p.returncode == 1
    out = read_stream_output(p.stdout)
    explain = ["feature_1", "contribution_1", "feature_2", "contribution_2"]
    assert list(out.columns) == ["id", "score", "is_anomaly"] + explain + ["error"]
    assert len(out) == len(lines)
    good_file = tmp_path / "good.csv"
    good_file.write_text("id,device,amount,clicks\n" + "".join(
        "%d,%s\n" % (100 + i, line) for i, (line, ok) in enumerate(lines) if ok))
    ref = read_stream_output(run("score", model, good_file, "--keep", "id", "--explain", 2).stdout)
    good = out[[ok for _, ok in lines]].reset_index(drop=True)
    assert good.drop(columns="error").equals(ref)
    assert (good["error"] == "").all()
    unseen, text_value, short = (out.iloc[i] for i in (1, 3, 4))
    assert "'Tablet'" in unseen["error"] and "unseen" in unseen["error"]
    assert unseen["id"] == "101"  # the line was read: its id is kept
    assert "'abc'" in text_value["error"] and "amount" in text_value["error"]
    assert "expected 4 fields, found 3" in short["error"]
    assert short["id"] == ""  # the line could not be read
    for row in (unseen, text_value, short):
        assert (row[["score", "is_anomaly"] + explain] == "").all(), row


def test_stream_proba_bad_lines_and_refusal(tmp_path, zscore_model):
    lines = data_lines(WBC)
    text = "\n".join([lines[0], lines[1], "1,2,oops,4,5,6,7,8,9,0", lines[2]]) + "\n"
    p = stream(zscore_model, "--proba", input=text, ok=False)
    assert p.returncode == 1
    out = read_stream_output(p.stdout)
    assert list(out.columns) == ["score", "is_anomaly", "probability", "confidence", "error"]
    assert len(out) == 3
    bad = out.iloc[1]
    assert bad["score"] == bad["probability"] == bad["confidence"] == "" and "'oops'" in bad["error"]
    good = tmp_path / "good.csv"
    good.write_text("\n".join([lines[0], lines[1], lines[2]]) + "\n")
    ref = read_stream_output(run("score", "--proba", zscore_model, good).stdout)
    for col in ["score", "is_anomaly", "probability", "confidence"]:
        assert list(out.drop(index=[1])[col]) == list(ref[col]), col
    # a model that learned no probability: refused before any line is read
    none = tmp_path / "none.anoma"
    run("train", "-d", "zscore", "-m", "threshold=3", "-m", "probability_rows=0", "-o", none, WBC)
    p = stream(none, "--proba", input=text, ok=False)
    assert p.returncode == 1 and p.stdout == "" and "learned no probability" in p.stderr


def test_stream_no_header(wbc, zscore_model):
    X, _, _ = wbc
    text = "".join(",".join("%.17g" % v for v in row) + "\n" for row in X)
    got = stream(zscore_model, "--no-header", input=text).stdout
    assert score_part(got) == run("score", zscore_model, WBC).stdout
    # --header is the default and may be given
    with open(WBC) as f:
        assert stream(zscore_model, "--no-header", "--header", input=f.read()).stdout == got
    # without a header, a line with the label column has one field too many
    p = stream(zscore_model, "--no-header", input=data_lines(WBC)[1] + "\n", ok=False)
    assert p.returncode == 1
    assert p.stdout == 'score,is_anomaly,error\n,,"line 1: expected 9 fields, found 10"\n'
    assert "line 1: expected 9 fields, found 10" in p.stderr


def test_stream_quoting_missing_and_columns(tmp_path, wbc):
    X, y, names, data, model = named_zscore_model(tmp_path, wbc)
    # columns by name in any order, quoted names and values, spaces, CRLF,
    # empty lines, missing markers, and an extra text column that is not read
    rows = [X[0], X[1], X[2]]
    with open(tmp_path / "mixed.csv", "w", newline="") as f:
        f.write('note,"iota",' + ",".join(n for n in names[:-1]) + "\r\n")
        f.write('"hello, ""world""",' + ",".join('"%.17g"' % v for v in np.roll(rows[0], 1))
                + "\r\n\r\n")
        f.write("text," + ",".join(" %.17g\t" % v for v in np.roll(rows[1], 1)) + "\n")
        f.write("x,NA,,NaN,nan,N/A,null," + ",".join("%.17g" % v for v in rows[2][5:8]) + "\n")
    reference = tmp_path / "reference.csv"
    with open(reference, "w") as f:  # the same rows as the file reader sees them
        f.write(",".join(names) + "\n")
        for row in rows[:2]:
            f.write(",".join("%.17g" % v for v in row) + "\n")
        f.write(",,,,," + ",".join("%.17g" % v for v in rows[2][5:8]) + ",\n")
    got = stream(model, input=(tmp_path / "mixed.csv").read_text()).stdout
    assert score_part(got) == run("score", model, reference).stdout


def test_stream_empty_input_and_errors(tmp_path, zscore_model):
    assert stream(zscore_model).stdout == "score,is_anomaly,error\n"  # no input: a header only
    assert stream(zscore_model, "--explain", "2").stdout.startswith(
        "score,is_anomaly,feature_1,contribution_1,feature_2,contribution_2,error\n")
    # a header without the model's columns stops the run at once
    p = stream(zscore_model, input="1,2,3,4,5,6,7,8,9\n2,3,4,5,6,7,8,9,1\n", ok=False)
    assert_fails(p, 1, "line 1", "f0", "--no-header")
    assert p.stdout == ""
    assert_fails(stream(zscore_model, input="f0,,f1\n", ok=False), 1, "line 1")
    assert_fails(stream(zscore_model, "--label", "nolabel", input=data_lines(WBC)[0] + "\n",
                        ok=False), 1, "nolabel")
    assert_fails(stream(tmp_path / "nope.anoma", ok=False), 1, "nope.anoma")
    # usage errors
    assert_fails(stream(ok=False), 2, "MODEL")
    assert_fails(stream(zscore_model, WBC, ok=False), 2, "operands")
    assert_fails(stream(zscore_model, "--no-header", "--label", "label", ok=False), 2, "--label")
    assert_fails(stream(zscore_model, "--explain", "0", ok=False), 2, "--explain")
    assert "stream" in run("--help").stdout


def test_stream_model_without_names(tmp_path, wbc):
    try:
        import anoma
        anoma.Model
    except (ImportError, OSError, AttributeError) as e:
        pytest.skip("Python bindings not importable: %s" % e)
    X, _, _ = wbc
    unnamed = anoma.Model.create("", [("zscore", "")]).fit(X)
    path = tmp_path / "unnamed.anoma"
    unnamed.save(str(path))
    with open(WBC) as f:
        text = f.read()
    # every column but --label, in file order
    scores, _ = read_scores(score_part(stream(path, "--label", "label", input=text).stdout))
    assert np.array_equal(scores, unnamed.score(X))
    assert_fails(stream(path, input=text, ok=False), 1, "10 feature columns", "expects 9")


# ---- issue 8: columns that are never features, selection, input options -------

SKAB = os.path.join(SHARED, "skab_valve1_0.csv")


def roc_auc(labels, scores):
    from sklearn.metrics import roc_auc_score
    return roc_auc_score(labels, scores)


def test_skab_timestamp_is_not_a_feature(tmp_path):
    """The timestamp column (epoch seconds, named timestamp) inflated ROC AUC
    when it was a feature: training on the file must equal training without it."""
    if not os.path.exists(SKAB):
        pytest.skip("shared data folder not found")
    header = open(SKAB).readline().strip().split(",")
    data = np.loadtxt(SKAB, delimiter=",", skiprows=1)
    y = data[:, header.index("label")].astype(int)
    without = tmp_path / "without.csv"
    keep = [j for j, n in enumerate(header) if n != "timestamp"]
    np.savetxt(without, data[:, keep], delimiter=",", fmt="%.17g",
               header=",".join(header[j] for j in keep), comments="")
    aucs = []
    for path in (SKAB, without):
        model = tmp_path / "m.anoma"
        p = run("train", "-d", "iforest", "-o", model, path)
        assert "features (8): f0, f1, f2, f3, f4, f5, f6, f7" in p.stdout
        assert "label: label" in p.stdout  # found by name, never a feature
        scores, _ = read_scores(run("score", model, path).stdout)
        aucs.append(roc_auc(y, scores))
    assert "timestamp" in run("train", "-d", "iforest", "-o", tmp_path / "m.anoma", SKAB).stdout
    assert aucs[0] == aucs[1]
    # declared a number, the timestamp is a feature again (and changes the result)
    model = tmp_path / "ts.anoma"
    p = run("train", "-d", "iforest", "--types", "timestamp:number", "-o", model, SKAB)
    assert "features (9): timestamp" in p.stdout


def test_label_column_is_never_a_feature(tmp_path, wbc):
    X, y, _ = wbc
    for name in ("label", "is_anomaly"):
        path = tmp_path / ("%s.csv" % name)
        write_csv(path, X, ["f%d" % j for j in range(X.shape[1])], y)
        if name != "label":
            path.write_text(path.read_text().replace(",label\n", ",is_anomaly\n", 1))
        model = tmp_path / "m.anoma"
        p = run("train", "-d", "zscore", "-o", model, path)  # no --label
        assert "features (9): f0," in p.stdout and "label: %s" % name in p.stdout
        scores, _ = read_scores(run("score", model, path).stdout)
        np.testing.assert_allclose(scores, zscore_reference(X, X), rtol=1e-12, atol=1e-12)
    # a column named label that is not 0/1 is an error with a hint
    bad = tmp_path / "bad.csv"
    bad.write_text("a,label\n1,0\n2,5\n")
    assert_fails(run("train", "-d", "zscore", "-o", tmp_path / "x.anoma", bad, ok=False), 1,
                 "line 3", "--label")


def test_features_and_drop(tmp_path, wbc):
    X, y, names = wbc
    model = tmp_path / "m.anoma"
    p = run("train", "-d", "zscore", "--features", "f3,f1", "-o", model, WBC)
    assert p.stdout.startswith("features (2): f3, f1\n")
    scores, _ = read_scores(run("score", model, WBC).stdout)
    np.testing.assert_allclose(scores, zscore_reference(X[:, [3, 1]], X[:, [3, 1]]), rtol=1e-12)
    p = run("train", "-d", "zscore", "--drop", "f0,f8", "-o", model, WBC)
    assert p.stdout.startswith("features (7): f1, f2, f3, f4, f5, f6, f7\n")
    scores, _ = read_scores(run("score", model, WBC).stdout)
    np.testing.assert_allclose(scores, zscore_reference(X[:, 1:8], X[:, 1:8]), rtol=1e-12)
    assert_fails(run("train", "-d", "zscore", "--drop", "nope", "-o", model, WBC, ok=False), 1,
                 "nope")
    assert_fails(run("train", "-d", "zscore", "--features", "f1,nope", "-o", model, WBC,
                     ok=False), 1, "nope")
    assert_fails(run("train", "-d", "zscore", "--features", "f1,label", "-o", model, WBC,
                     ok=False), 1, "label")


def test_text_columns_are_not_features(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("city,when,x\nParis,2024-01-01T00:00:00Z,1\nLyon,2024-01-02,2\n"
                    "Nice,2024-01-03,4\n")
    model = tmp_path / "m.anoma"
    p = run("train", "-d", "zscore", "-o", model, path)
    assert "features (1): x" in p.stdout and "city" in p.stdout and "when" in p.stdout
    assert_fails(run("train", "-d", "zscore", "--features", "city", "-o", model, path, ok=False),
                 1, "city", "text")


def test_header_options_and_delimiter(tmp_path, wbc):
    X, y, _ = wbc
    plain = tmp_path / "plain.csv"
    np.savetxt(plain, X, delimiter=";", fmt="%.17g")
    model = tmp_path / "m.anoma"
    # a first line of numbers taken as a header: a warning (--header: none)
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("1;2;3\n4;5;6\n7;8;10\n")
    p = run("train", "-d", "zscore", "--delimiter", ";", "-o", model, numbers, ok=False)
    assert p.returncode == 0 and "--no-header" in p.stderr and "warning" in p.stderr
    run("train", "-d", "zscore", "--delimiter", ";", "--header", "-o", model, numbers)
    p = run("train", "-d", "zscore", "--delimiter", ";", "--no-header", "-o", model, plain)
    assert "features (9): f0, f1" in p.stdout
    scores, _ = read_scores(run("score", model, plain, "--delimiter", ";", "--no-header").stdout)
    np.testing.assert_allclose(scores, zscore_reference(X, X), rtol=1e-12, atol=1e-12)
    tabbed = tmp_path / "tab.csv"
    tabbed.write_text(open(WBC).read().replace(",", "\t"))
    scores, _ = read_scores(run("score", model, tabbed, "--delimiter", "tab").stdout)
    np.testing.assert_allclose(scores, zscore_reference(X, X), rtol=1e-12, atol=1e-12)


def test_stdin_and_stdout(tmp_path, wbc, zscore_model):
    data = open(WBC).read()
    p = subprocess.run([CLI, "score", str(zscore_model), "-", "-o", "-"], input=data,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout == run("score", zscore_model, WBC).stdout
    p = subprocess.run([CLI, "train", "-d", "zscore", "-o", "-", "-"], input=data.encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and b"features (9)" in p.stderr
    model = tmp_path / "from_stdout.anoma"
    model.write_bytes(p.stdout)
    assert run("score", model, WBC).stdout == run("score", zscore_model, WBC).stdout
    p = subprocess.run([CLI, "score", str(zscore_model), "-"], input="f0,f1\n1,x\n",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stderr.startswith("anoma: stdin")


def test_error_names_the_path_once(tmp_path, zscore_model):
    for args in (("score", zscore_model, tmp_path / "nope.csv"),
                 ("score", tmp_path / "nope.anoma", WBC),
                 ("inspect", tmp_path / "nope.anoma")):
        p = run(*args, ok=False)
        assert p.returncode == 1
        assert p.stderr.count(str(args[-1] if args[0] != "score" or "nope.csv" in str(args[-1])
                                  else args[1])) == 1, p.stderr


def test_keep_columns(tmp_path, wbc):
    X, y, _ = wbc
    path = tmp_path / "ids.csv"
    with open(path, "w") as f:
        f.write("id,when," + ",".join("f%d" % j for j in range(9)) + "\n")
        for i, row in enumerate(X):
            f.write("u-%d,2024-01-%02dT00:00:00Z," % (i, i % 28 + 1)
                    + ",".join("%.17g" % v for v in row) + "\n")
    model = tmp_path / "m.anoma"
    run("train", "-d", "zscore", "-o", model, path)
    rows = list(csv.reader(io.StringIO(run("score", model, path, "--keep", "id,when").stdout)))
    assert rows[0] == ["id", "when", "score", "is_anomaly"]
    assert rows[5][:2] == ["u-4", "2024-01-05T00:00:00Z"]  # as written
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], zscore_reference(X, X),
                               rtol=1e-12)
    got = stream(model, "--keep", "when,id", input=open(path).read()).stdout
    srows = list(csv.reader(io.StringIO(score_part(got))))
    assert srows[0] == ["when", "id", "score", "is_anomaly"]
    assert [r[1] for r in srows[1:]] == [r[0] for r in rows[1:]]
    assert [r[2:] for r in srows[1:]] == [r[2:] for r in rows[1:]]
    assert_fails(run("score", model, path, "--keep", "nope", ok=False), 1, "nope")


def test_help_seed_maximum():
    text = run("help", "detectors").stdout
    line = [l for l in text.splitlines() if l.strip().startswith("seed")][0]
    assert "9223372036854775807" in line and "9223372036854775808" not in line


# ---- stream: entities, state and alerts -----------------------------------

def write_entities(path, n=240, bad=()):
    """Lines of three users' readings, interleaved unevenly, with time (ISO),
    amount and value; every 37th amount is planted large. Lines whose
    0-based data index is in `bad` get a value that is not a number."""
    rng = np.random.default_rng(4)
    users = ["ann", "bo", "cy, the third"]
    with open(path, "w") as f:
        f.write("user,ts,amount,value\n")
        for i in range(n):
            u = users[(i * 5 + i // 7) % 3]
            amount = rng.normal(50, 5) * (6 if i % 37 == 11 else 1)
            value = "oops" if i in bad else "%.17g" % rng.normal(0, 1)
            f.write('"%s",2024-03-01T%02d:%02d:%02dZ,%.17g,%s\n'
                    % (u, i // 3600, i // 60 % 60, i % 60, amount, value))


def entity_model(tmp_path):
    data = tmp_path / "train.csv"
    write_entities(data)
    model = tmp_path / "entities.anoma"
    run("train", "--step", "window entity=user columns=amount,value lags=1 rolling=3 "
        "stats=mean,std", "--step", "select drop=user,ts", "--step", "imputer",
        "-d", "iforest", "-p", "seed=5", "-o", model, data)
    return model


def test_stream_entities_match_score(tmp_path):
    """The model's window keys history by user: the stream uses that column
    by default and gives `anoma score`'s values for the interleaved lines."""
    model = entity_model(tmp_path)
    data = tmp_path / "data.csv"
    write_entities(data, n=300)
    expected = run("score", model, data).stdout
    got = stream(model, input=data.read_text()).stdout
    assert score_part(got) == expected
    assert score_part(stream(model, "--entity", "user", input=data.read_text()).stdout) \
        == expected
    assert_fails(stream(model, "--entity", "ts", input=data.read_text(), ok=False), 1,
                 "--entity ts", "'user'")
    assert_fails(stream(model, "--save-every", "5", ok=False), 2, "--state")


def split_header(text):
    lines = text.splitlines(keepends=True)
    return lines[0], lines[1:]


def test_stream_state_resume_equals_one_run(tmp_path):
    """Stopping after any line and resuming from --state gives the output and
    alert events of one uninterrupted run; bad lines keep their place."""
    model = entity_model(tmp_path)
    data = tmp_path / "data.csv"
    write_entities(data, n=200, bad={17, 120})
    header, lines = split_header(data.read_text())
    options = ["--time", "ts", "--keep", "user", "--stream-params",
               "alert_min=1 alert_quiet=2 max_entities=2"]
    whole_alerts = tmp_path / "whole_alerts.csv"
    whole = stream(model, *options, "--alerts", whole_alerts, input=header + "".join(lines),
                   ok=False)
    assert whole.returncode == 1  # the two bad lines
    out_header, whole_lines = split_header(whole.stdout)
    assert len(whole_lines) == len(lines)
    assert "oops" in whole_lines[17] and "oops" in whole_lines[120]

    def read_events(path):  # without the input line numbers, which count per run
        rows = list(csv.reader(io.StringIO(path.read_text())))
        return [r[:2] + r[3:] for r in rows]

    events = read_events(whole_alerts)
    assert events[0] == ["event", "entity", "start", "end", "peak_time", "peak_score",
                         "n_anomalous", "evicted", "top_features"]
    assert any(e[7] == "1" for e in events[1:])  # an eviction closed an alert
    assert all(e[8].count("=") == 3 for e in events[1:] if e[0] == "open")

    for cut in (1, 60, 150):
        state, alerts = tmp_path / ("s%d" % cut), tmp_path / ("a%d.csv" % cut)
        first = stream(model, *options, "--state", state, "--alerts", alerts,
                       input=header + "".join(lines[:cut]), ok=False)
        second = stream(model, *options, "--state", state, "--alerts", alerts,
                        input=header + "".join(lines[cut:]), ok=False)
        h1, l1 = split_header(first.stdout)
        h2, l2 = split_header(second.stdout)
        assert h1 == h2 == out_header
        # messages name the line of each run's input: compare without them
        unnumbered = lambda rows: [re.sub(r"line \d+", "line N", r) for r in rows]
        assert unnumbered(l1 + l2) == unnumbered(whole_lines), cut
        assert read_events(alerts) == events, cut


def test_stream_state_saved_on_sigterm_and_every_n(tmp_path):
    model = entity_model(tmp_path)
    data = tmp_path / "data.csv"
    write_entities(data, n=120)
    header, lines = split_header(data.read_text())
    whole = stream(model, input=header + "".join(lines)).stdout
    _, whole_lines = split_header(whole)

    def start(state, *extra):
        return subprocess.Popen([CLI, "stream", str(model), "--state", str(state), *extra],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, bufsize=1)

    # SIGTERM while waiting for input: the state is saved, status 128 + 15
    state = tmp_path / "term.state"
    p = start(state)
    out = LineReader(p.stdout)
    p.stdin.write(header)
    for line in lines[:50]:
        p.stdin.write(line)
    p.stdin.flush()
    got = [out.get() for _ in range(51)]
    p.terminate()
    assert p.wait(timeout=20) == 128 + 15
    p.stdin.close()
    rest = stream(model, "--state", state, input=header + "".join(lines[50:])).stdout
    assert got[1:] + split_header(rest)[1] == whole_lines

    # --save-every 20, killed at once after line 45: resume after line 40
    state = tmp_path / "every.state"
    p = start(state, "--save-every", "20")
    out = LineReader(p.stdout)
    p.stdin.write(header + "".join(lines[:45]))
    p.stdin.flush()
    for _ in range(46):
        out.get()
    p.kill()
    p.wait(timeout=20)
    p.stdin.close()
    rest = stream(model, "--state", state, input=header + "".join(lines[40:])).stdout
    assert split_header(rest)[1] == whole_lines[40:]


def test_stream_state_of_another_model_refused(tmp_path, zscore_model):
    model = entity_model(tmp_path)
    data = tmp_path / "data.csv"
    write_entities(data, n=10)
    state = tmp_path / "s.state"
    stream(model, "--state", state, input=data.read_text())
    with open(WBC) as f:
        p = stream(zscore_model, "--state", state, input=f.read(), ok=False)
    assert_fails(p, 1, "--state", "another model")
    state.write_bytes(state.read_bytes()[:-3])
    assert_fails(stream(model, "--state", state, input=data.read_text(), ok=False), 1,
                 "--state", "stream state")
