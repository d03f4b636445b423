"""The MCD objective that both the FastMCD comparison test
(test_mcd_datasets.py) and its benchmark (bench/mcd_search.py) score a
search by, kept in one place so the two cannot drift apart."""
import numpy as np


def objective(raw_covariance, X):
    """log det of a raw covariance, -inf when it is singular to rounding: its
    smallest eigenvalue, in units of the data's standard deviations, below
    1e-10 of the largest (a constant column's rounding leaves it ~1e-34,
    which numpy's slogdet may still count as a determinant)."""
    s = X.std(axis=0)
    s[s == 0] = 1
    eigenvalues = np.linalg.eigvalsh(raw_covariance / np.outer(s, s))
    if eigenvalues[0] <= 1e-10 * eigenvalues[-1]:
        return -np.inf
    return np.linalg.slogdet(raw_covariance)[1]
