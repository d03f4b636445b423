"""The pca step against scikit-learn's PCA(svd_solver="full") on the shared
datasets and on wide data: components up to sign, to 1e-10; the number of
components chosen by an explained-variance fraction; whitening."""
import numpy as np
import pandas as pd
import pytest

from conftest import dataset_params, load_csv
from frames import PipelineError, fit_transform

sklearn = pytest.importorskip("sklearn.decomposition")


def compare(X, params, **sk):
    df = pd.DataFrame(X, columns=["x%d" % j for j in range(X.shape[1])])
    names, out = fit_transform(df, ["pca " + params])
    want = sklearn.PCA(svd_solver="full", **sk).fit_transform(X)
    assert out.shape == want.shape, (out.shape, want.shape)
    assert names == ["pca%d" % k for k in range(want.shape[1])]
    sign = np.where(np.sum(out * want, axis=0) < 0, -1.0, 1.0)
    scale = max(1.0, np.max(np.abs(want)))
    assert np.max(np.abs(out - want * sign)) <= 1e-10 * scale
    return out


@pytest.mark.parametrize("name", dataset_params(tabular_only=True))
def test_pca_equals_sklearn_on_shared_data(name):
    X, _ = load_csv(name)
    X = X[:20000]
    keep = np.std(X, axis=0) > 0
    X = X[:, keep]
    compare(X, "")
    compare(X, "n_components=2 whiten=true", n_components=2, whiten=True)
    compare(X, "n_components=0.9", n_components=0.9)


def test_wide_and_whitened():
    rng = np.random.default_rng(5)
    compare(rng.normal(size=(12, 30)), "n_components=5", n_components=5)
    X = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8)) + 100
    out = compare(X, "whiten=true n_components=0.95", whiten=True, n_components=0.95)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.eye(out.shape[1]), atol=1e-10)


def test_sign_rule_largest_entry_positive():
    # points along (1, -2): the component is (-1, 2)/sqrt 5, so the score of
    # the point with the largest y is positive
    df = pd.DataFrame({"x": [0.0, 1, 2, 3, 4], "y": [1.0, -1, -3, -5, -7]})
    _, out = fit_transform(df, ["pca n_components=1"])
    np.testing.assert_allclose(out[:, 0], -(df["x"] - 2) * np.sqrt(5), atol=1e-13)


def test_missing_values_are_refused():
    df = pd.DataFrame({"x": [0.0, 1, np.nan, 3], "y": [1.0, 2, 3, 5]})
    with pytest.raises(PipelineError, match="'x', row 2"):
        fit_transform(df, ["pca"])
