"""seq_autoencoder inference against PyTorch CPU inference, and the dense
autoencoder's training against PyTorch's, in one run.

An LSTM autoencoder (4 features, hidden 32 and 128, one layer, T = 64) with
the same weights in both; time per window at batch 1 and 256, torch with
set_num_threads(1) and (2) under no_grad, libanoma with n_threads 1 and 2,
as wall and process CPU time (medians) and their ratios;
then the per-point latency of a stream (anoma.Stream.push from Python, so
it includes the ctypes call). Prints a Markdown table of medians and
ratios for docs/benchmarks.md. Never run as a test.

Then (dense_training) the dense autoencoder ("autoencoder" detector,
anoma.Autoencoder) trained natively against the same architecture trained
by a plain torch loop, on one thread each, as CPU-time ratios. `--dense`
runs only that part.

    OPENBLAS_NUM_THREADS=1 ANOMA_LIBRARY=build/lib/libanoma.so \\
        PYTHONPATH=bindings/python /usr/bin/python3 bench/nn.py [--dense]
"""
import datetime
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import anoma  # noqa: E402
import anoma.torch as at  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blas_info import openblas_line  # noqa: E402

T, F = 64, 4


def best_of(fn, repeats, inner):
    """Median seconds of one call of fn over `repeats` rounds of `inner`
    calls: (wall, process CPU). With one thread the CPU time is the fair
    measure on a loaded machine (waiting for a core is not counted); with
    two it sums both threads' work."""
    fn()  # warm up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(inner):
            fn()
        wall.append((time.perf_counter() - t0) / inner)
        cpu.append((time.process_time() - c0) / inner)
    return statistics.median(wall), statistics.median(cpu)


def main():
    rng = np.random.default_rng(0)
    print("- %s UTC, `%s`; load average %.2f; %d cores; torch %s; %s" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), " ".join(sys.argv),
        os.getloadavg()[0], os.cpu_count(), torch.__version__, openblas_line()))
    print()
    print("| hidden | batch | threads | torch µs/window | anoma µs/window | torch / anoma "
          "| torch CPU µs | anoma CPU µs | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for hidden in (32, 128):
        torch.manual_seed(0)
        net = at.LSTMAutoencoder(F, hidden).eval()
        seq = anoma.from_torch(net, window=T)
        for batch in (1, 256):
            W = rng.normal(size=(batch, T, F)).astype(np.float32)
            Wt, Wd = torch.from_numpy(W), W.astype(np.float64)
            inner = 20 if batch == 1 else 2
            for threads in (1, 2):
                torch.set_num_threads(threads)
                seq.model.n_threads = threads

                def run_torch():
                    with torch.no_grad():
                        net(Wt)
                t_torch, c_torch = (v / batch for v in best_of(run_torch, 7, inner))
                t_anoma, c_anoma = (v / batch for v in
                                    best_of(lambda: seq.predict_windows(Wd), 7, inner))
                print("| %d | %d | %d | %.1f | %.1f | %.2fx | %.1f | %.1f | %.2fx |" % (
                    hidden, batch, threads, t_torch * 1e6, t_anoma * 1e6, t_torch / t_anoma,
                    c_torch * 1e6, c_anoma * 1e6, c_torch / c_anoma))
    print()
    print("load average after: %.2f" % os.getloadavg()[0])
    print()
    print("| hidden | stream µs/point (Python push, window of 64) |")
    print("|---|---|")
    for hidden in (32, 128):
        torch.manual_seed(0)
        seq = anoma.from_torch(at.LSTMAutoencoder(F, hidden).eval(), window=T)
        stream = anoma.Stream(seq.model)
        rows = rng.normal(size=(2000, F))
        for r in rows[:T]:
            stream.push("s", r)
        t0 = time.perf_counter()
        for r in rows[T:]:
            stream.push("s", r)
        per = (time.perf_counter() - t0) / (len(rows) - T)
        print("| %d | %.1f |" % (hidden, per * 1e6))


def dense_training(rounds=3):
    """Training time of the dense autoencoder: torch's loop (Adam, MSELoss,
    shuffled mini-batches) against the native fit, same data, architecture,
    epochs, batch size and learning rate, both on one thread; CPU seconds
    (process time), the median of `rounds` fits."""
    torch.set_num_threads(1)
    data_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data")
    print()
    print("| data | rows x features | hidden | epochs | batch | torch CPU s | anoma CPU s "
          "| torch / anoma |")
    print("|---|---|---|---|---|---|---|---|")
    for name, hidden, epochs, batch in (("thyroid", (64, 16, 64), 20, 64),
                                        ("satellite", (64, 16, 64), 20, 64),
                                        ("satellite", (256, 64, 256), 10, 256)):
        path = os.path.join(data_dir, name + ".csv")
        if not os.path.exists(path):
            print("| %s | (absent) |" % name)
            continue
        X = np.loadtxt(path, delimiter=",", skiprows=1)[:, :-1]
        sd = X.std(axis=0)
        Z = torch.from_numpy(((X - X.mean(axis=0)) / np.where(sd > 0, sd, 1)).astype(np.float32))

        def fit_torch():
            torch.manual_seed(0)
            net = at.DenseAutoencoder(X.shape[1], hidden)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            for _ in range(epochs):
                for idx in torch.randperm(len(Z)).split(batch):
                    loss = torch.nn.functional.mse_loss(net(Z[idx]), Z[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()

        def fit_anoma():
            anoma.Autoencoder(hidden=hidden, epochs=epochs, batch_size=batch,
                              validation_fraction=0, n_jobs=1).fit(X)

        def cpu(fn):
            times = []
            for _ in range(rounds):
                t0 = time.process_time()
                fn()
                times.append(time.process_time() - t0)
            return statistics.median(times)
        t_torch, t_anoma = cpu(fit_torch), cpu(fit_anoma)
        print("| %s | %d x %d | %s | %d | %d | %.2f | %.2f | %.1fx |" % (
            name, X.shape[0], X.shape[1], ",".join(map(str, hidden)), epochs, batch, t_torch,
            t_anoma, t_torch / t_anoma))


if __name__ == "__main__":
    if "--dense" in sys.argv:
        print("- %s UTC, `%s`; load average %.2f; %d cores; torch %s; %s" % (
            datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), " ".join(sys.argv),
            os.getloadavg()[0], os.cpu_count(), torch.__version__, openblas_line()))
        dense_training()
    else:
        main()
        dense_training()
