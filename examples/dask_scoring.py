"""Score a Dask DataFrame on a cluster with one model fitted on a sample.

    python3 examples/dask_scoring.py                  # a local cluster on loopback
    python3 examples/dask_scoring.py tcp://host:8786  # an existing scheduler

Makes a dask DataFrame of random rows (generated on the workers), fits an
isolation forest on a sample of it, sends the model's bytes to every worker
once and scores every partition there; then checks the scores against the
same model in this process and prints the share of rows flagged.
(docs/scale-out.md)
"""
import argparse

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

import anoma
import anoma.dask

COLUMNS = ["a", "b", "c", "d"]


def partition(seed, rows):
    """One partition of random rows, ~1 % of them shifted far away."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(COLUMNS)))
    x[rng.random(rows) < 0.01] += 6
    return pd.DataFrame(x, columns=COLUMNS, index=pd.RangeIndex(seed * rows, (seed + 1) * rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scheduler", nargs="?", help="scheduler address (default: start a "
                        "local cluster of two worker processes on 127.0.0.1)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in all")
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()

    cluster = None
    if args.scheduler is None:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    client = Client(args.scheduler or cluster)
    try:
        rows = args.rows // args.partitions
        parts = [dask.delayed(partition)(k, rows) for k in range(args.partitions)]
        ddf = dd.from_delayed(parts, meta=partition(0, 0))

        sample = ddf.sample(frac=min(1.0, 20_000 / args.rows), random_state=0).compute()
        model = anoma.Model("contamination=0.01", [("iforest", "seed=1")]).fit(sample)

        shipped = anoma.dask.scatter_model(client, model)
        scores = anoma.dask.score(ddf, shipped).compute()
        flagged = (scores > model.threshold).mean()

        local = model.score(ddf.compute())
        print("rows %d  partitions %d  flagged %.2f %%  equal to one process: %s  loads per "
              "worker: %s" % (len(scores), ddf.npartitions, 100 * flagged,
                              np.array_equal(scores.to_numpy(), local),
                              sorted(anoma.dask.model_loads(client, shipped).values())))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
