"""Benchmark of the gap metrics (not a test): Fréchet distance at D = 2048 and memory for 10k-image feature sets.

Prints:
* the time of ``frechet_distance`` on two random full-rank 2048×2048 covariances (target <= 3 s), with the
  machine's BLAS threads and with one thread (a shared, loaded machine favours one);
* the time and peak extra memory (tracemalloc, numpy allocations) of ``fd`` on two 10 000 × 2048 float32
  feature matrices (the covariances are accumulated in row chunks, no float64 copy of the features), and the
  memory budget of 10k-image features (target <= 2 GB);
* optionally (``--all``) the time of every metric of one :func:`simgen.gap.stats.compare` repetition at N = 1000.

Usage: ``.venv/bin/python scripts/bench_gap_metrics.py [--all] [--n 10000] [--dim 2048]``
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from simgen.gap import metrics as M

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="images per set for the memory benchmark")
    ap.add_argument("--dim", type=int, default=2048, help="feature width")
    ap.add_argument("--all", action="store_true", help="also time every metric at N = 1000")
    args = ap.parse_args()
    d, n = args.dim, args.n
    rng = np.random.default_rng(0)
    load = os.getloadavg()
    threads = max((i.get("num_threads", 1) for i in threadpool_info()), default=1)
    print(f"machine: {os.cpu_count()} CPUs, BLAS threads {threads}, load average {load[0]:.1f} {load[1]:.1f}")

    # ------------------------------------------------------------------ FD from covariances at D = 2048
    a = rng.standard_normal((d, d)) / np.sqrt(d)
    b = rng.standard_normal((d, d)) / np.sqrt(d)
    s1, s2 = a @ a.T + 0.01 * np.eye(d), b @ b.T + 0.01 * np.eye(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    M.frechet_distance(mu1[:8], s1[:8, :8], mu2[:8], s2[:8, :8])  # warm imports
    for method, reps in (("auto", 3), ("eigh", 1)):
        times = [_timed(M.frechet_distance, mu1, s1, mu2, s2, method=method)[1] for _ in range(reps)]
        with threadpool_limits(1):
            times1 = [_timed(M.frechet_distance, mu1, s1, mu2, s2, method=method)[1] for _ in range(reps)]
        print(f"frechet_distance D={d} method={method}: best {min(times):.2f} s with {threads} BLAS threads, "
              f"{min(times1):.2f} s with 1 (target <= 3 s)")  # fmt: skip
    del a, b, s1, s2

    # ------------------------------------------------------------------ 10k-image features
    x = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.standard_normal((n, d), dtype=np.float32) + np.float32(0.01)
    feat_mb = 2 * x.nbytes / 2**20
    tracemalloc.start()
    val, t_fd = _timed(M.fd, x, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"fd on two {n}×{d} float32 sets: {t_fd:.2f} s (value {val:.3f}); features {feat_mb:.0f} MiB, "
          f"peak extra during fd {peak / 2**20:.0f} MiB, total {(feat_mb + peak / 2**20) / 1024:.2f} GiB "
          f"(target <= 2 GiB)")  # fmt: skip
    est = {
        "features per set (float32)": n * d * 4,
        "Gaussian fit per set (mean + cov, float64)": (d + d * d) * 8,
        "chunk buffer (4096 rows float64, x2)": 2 * 4096 * d * 8,
        "eigendecomposition workspace (~3 D×D float64)": 3 * d * d * 8,
    }
    for k, v in est.items():
        print(f"  estimate: {k}: {v / 2**20:.0f} MiB")
    total = 2 * est["features per set (float32)"] + 2 * est["Gaussian fit per set (mean + cov, float64)"] + sum(
        v for k, v in est.items() if "set" not in k
    )
    print(f"  estimate: both sets held + FD: {total / 2**30:.2f} GiB")

    if args.all:
        from simgen.gap.stats import make_metric

        m = 1000
        xs, ys = x[:m].astype(np.float64), y[:m].astype(np.float64)
        g = np.arange(m) // 10
        for key in ("fd", "kid", "mmd", "precision_recall", "density_coverage", "classifier"):
            fn = make_metric(key)
            _, t = _timed(fn, xs, ys, np.random.default_rng(0), g, g)
            print(f"  one repetition of {key:17s} at N={m}, D={d}: {t:.2f} s")
        _, t = _timed(M.mmd_rbf, xs, ys, n_permutations=200, rng=np.random.default_rng(0))
        print(f"  mmd_rbf with 200 permutations at N={m}: {t:.2f} s")


if __name__ == "__main__":
    main()
