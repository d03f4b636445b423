"""Column names with a space, a comma, '=' or a quote, from a DataFrame
through the pipeline steps (compared with pandas and scikit-learn), the
quoting rule of parameter text as Python writes it, hostile text refused
with a clear error, and the CLI's --step with a quoted name."""
import io
import os
import subprocess

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()
pd = pytest.importorskip("pandas")

CLI = os.environ.get("ANOMA_CLI")
AWKWARD = ["device type", "a,b", "x=y", 'say "hi"', "back\\slash"]


def awkward_frame(rows=60, seed=4):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "device type": rng.choice(["web", "tv", "ios"], rows),
        "a,b": rng.choice(["p", "q"], rows),
        "x=y": rng.standard_normal(rows),
        'say "hi"': rng.standard_normal(rows) * 3 + 1,
        "back\\slash": rng.choice(["u", "v w"], rows),
    })


def test_quote():
    assert anoma.model.quote("amount") == "amount"
    assert anoma.model.quote("x=y") == "x=y"
    assert anoma.model.quote("device type") == '"device type"'
    assert anoma.model.quote("a,b") == '"a,b"'
    assert anoma.model.quote('say "hi"') == '"say \\"hi\\""'
    assert anoma.model.quote("back\\slash") == '"back\\\\slash"'
    assert anoma.model.quote("") == '""'
    with pytest.raises(ValueError, match="NUL"):
        anoma.model.quote("a\0b")


def test_one_hot_and_select_on_awkward_names_equal_pandas():
    df = awkward_frame()
    text = ["device type", "a,b", "back\\slash"]
    numbers = ["x=y", 'say "hi"']
    pipe = anoma.Pipeline([anoma.Select(columns=numbers + text),
                           anoma.OneHotEncoder(columns=text, handle_unknown="ignore"),
                           anoma.ZScore()]).fit(df)
    expected = pd.get_dummies(df[numbers + text], columns=text, prefix_sep="=", dtype=float)
    assert list(pipe.get_feature_names_out()) == list(expected.columns)
    assert np.array_equal(pipe.transform(df), expected.to_numpy())
    # a column given alone, as a str, is one name even with a comma in it
    one = anoma.Pipeline([anoma.Select(columns="a,b"), anoma.OneHotEncoder(),
                          anoma.ZScore()]).fit(df)
    assert list(one.get_feature_names_out()) == ["a,b=p", "a,b=q", "a,b=<unseen>"]
    # select drop= with awkward names
    kept = anoma.Pipeline([anoma.Select(drop=text), anoma.ZScore()]).fit(df)
    assert list(kept.get_feature_names_out()) == numbers
    assert np.array_equal(kept.transform(df), df[numbers].to_numpy())


def test_scaler_ratio_and_imputer_on_awkward_names():
    df = awkward_frame()
    sk_pre = pytest.importorskip("sklearn.preprocessing")
    pipe = anoma.Pipeline([anoma.Select(columns=["x=y", 'say "hi"']),
                           anoma.StandardScaler(columns=['say "hi"']),
                           anoma.ZScore()]).fit(df)
    scaled = sk_pre.StandardScaler().fit_transform(df[['say "hi"']])[:, 0]
    out = pipe.transform(df)
    assert np.allclose(out[:, 1], scaled, rtol=0, atol=1e-12)
    assert np.array_equal(out[:, 0], df["x=y"].to_numpy())

    ratio = anoma.Pipeline([anoma.Select(columns=["x=y", 'say "hi"']),
                            anoma.Ratio('say "hi"', "x=y", name="hi per x y"),
                            anoma.ZScore()]).fit(df)
    assert list(ratio.get_feature_names_out()) == ["x=y", 'say "hi"', "hi per x y"]
    assert np.array_equal(ratio.transform(df)[:, 2], (df['say "hi"'] / df["x=y"]).to_numpy())

    holes = df[["device type"]].copy()
    holes.iloc[::5, 0] = None
    filled = anoma.Pipeline([anoma.SimpleImputer(strategy="constant", fill_value="not given",
                                                 columns=["device type"]),
                             anoma.OneHotEncoder(handle_unknown="ignore"),
                             anoma.ZScore()]).fit(holes)
    assert "device type=not given" in list(filled.get_feature_names_out())


def test_hostile_names_and_values_are_refused():
    df = awkward_frame()
    df.columns = ["device\0type"] + list(df.columns[1:])
    with pytest.raises(ValueError, match="NUL"):
        anoma.Pipeline([anoma.OneHotEncoder(), anoma.ZScore()]).fit(df)
    with pytest.raises(ValueError, match="whitespace must be inside double quotes"):
        anoma.model.format_params({"fill_value": "not given"})
    assert anoma.model.format_params({"columns": '"device type",b'}) == 'columns="device type",b'
    model = anoma.Model("", [("zscore", "")])
    for text, says in (('columns="device type', "unterminated quote"),
                       ('columns="a\\x"', "stray backslash"),
                       ('columns=de"vice', "a quote may only open an item")):
        with pytest.raises(anoma.ParameterValueError, match=says):
            anoma.errors.check(anoma.pipeline.lib.anoma_model_add_step(
                model._handle, b"one_hot", text.encode(), None))
    assert anoma.pipeline.lib.anoma_model_n_steps(model._handle) == 0


@pytest.mark.skipif(not CLI, reason="needs the anoma tool (ANOMA_CLI)")
def test_cli_step_with_a_quoted_name(tmp_path):
    df = awkward_frame(200)
    data = tmp_path / "awkward.csv"
    df[["device type", "x=y"]].to_csv(data, index=False)
    model = tmp_path / "m.anoma"
    p = subprocess.run([CLI, "train", "--step", 'one_hot columns="device type"',
                        "-d", "zscore", "-o", str(model), str(data)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([CLI, "inspect", str(model)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert 'columns="device type"' in p.stdout
    p = subprocess.run([CLI, "train", "--step", 'one_hot columns="device type',
                        "-d", "zscore", "-o", str(model), str(data)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "unterminated quote" in p.stderr and "one_hot" in p.stderr


@pytest.mark.skipif(not CLI, reason="needs the anoma tool (ANOMA_CLI)")
def test_cli_keeps_a_column_whose_name_has_a_space(tmp_path):
    """--keep passes a column through to the output (a list under the
    library's quoting rule); the reader is told its type in quoted parameter
    text."""
    data = tmp_path / "k.csv"
    pd.DataFrame({"device id": ["d 1", "d", 'd "q"', "d,1"], "x": [1.0, 2, 3, 2.5],
                  "y": [2.0, 2.5, 1, 2.2]}).to_csv(data, index=False)
    model = tmp_path / "k.anoma"
    p = subprocess.run([CLI, "train", "-d", "zscore", "-o", str(model), "--features", "x,y",
                        str(data)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([CLI, "score", "--keep", '"device id"', str(model), str(data)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = pd.read_csv(io.StringIO(p.stdout))
    assert list(out["device id"]) == ["d 1", "d", 'd "q"', "d,1"]


@pytest.mark.skipif(not CLI, reason="needs the anoma tool (ANOMA_CLI)")
def test_cli_lists_take_quoted_names_with_commas(tmp_path):
    """--features and --keep read the library's list rule: a quoted name may
    hold a comma; a broken list is refused naming the option."""
    data = tmp_path / "c.csv"
    pd.DataFrame({"id, user": ["u1", "u2", "u3", "u4"], "a,b": [1.0, 2, 3, 2.5],
                  "y": [2.0, 2.5, 1, 2.2]}).to_csv(data, index=False)
    model = tmp_path / "c.anoma"
    p = subprocess.run([CLI, "train", "-d", "zscore", "-o", str(model), "--features",
                        '"a,b",y', str(data)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "features (2): a,b, y" in p.stdout + p.stderr
    p = subprocess.run([CLI, "score", "--keep", '"id, user"', str(model), str(data)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = pd.read_csv(io.StringIO(p.stdout))
    assert list(out["id, user"]) == ["u1", "u2", "u3", "u4"]
    p = subprocess.run([CLI, "score", "--keep", '"id, user', str(model), str(data)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "--keep" in p.stderr and "unterminated quote" in p.stderr
