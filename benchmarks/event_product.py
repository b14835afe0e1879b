"""Throughput of the event product (sparse binary x dense) that dominates the MLP training step.

    NUMBA_NUM_THREADS=2 python benchmarks/event_product.py --json results/event_product.json

``sparse_matmul`` adds, for each nonzero x[m, k], the row W[k] (512 float32)
into out[m]. The MLP benchmark's forward X @ W (X: 3200 x 784 Bernoulli(0.2))
adds 502 k such rows. Keeping the number of rows added fixed while W shrinks
from 1.6 MB (larger than L2) to 196 KB (well inside it) tells whether the
product waits on the cache hierarchy (it would speed up as W shrinks) or on
the core's loads and adds (it would not). Median of ``--repeats`` calls.
"""
from __future__ import annotations

import eventsnn  # noqa: F401  (first: it sets OpenBLAS's thread wait before NumPy loads it)

import argparse
import json
import os
import time

import numba
import numpy as np

from eventsnn.kernels.event_linear import active_index, sparse_matmul

ROWS, COLS = 3200, 512
SHAPES = ((784, 0.2), (392, 0.4), (196, 0.8))  # (inputs K, activity): the same ~502 k rows added


def median_ms(fn, repeats: int) -> float:
    fn()  # compile / warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for k, activity in SHAPES:
        x = (rng.random((ROWS, k)) < activity).astype(np.float32)
        w = rng.standard_normal((k, COLS), dtype=np.float32)
        indptr, indices, values = active_index(x)
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            ms = median_ms(lambda: sparse_matmul(indptr, indices, values, w), args.repeats)
            rows.append({"k": k, "weight_bytes": w.nbytes, "rows_added": int(values.size), "threads": threads,
                         "ms": ms, "adds_per_s_per_thread": values.size * COLS / (ms / 1e3) / threads})
    print(f"{'W':>9}{'rows added':>12}{'threads':>9}{'ms':>8}{'G adds/s per thread':>22}")
    for r in rows:
        print(f"{r['weight_bytes'] / 1024:>6.0f} KB{r['rows_added']:>12}{r['threads']:>9}{r['ms']:>8.2f}"
              f"{r['adds_per_s_per_thread'] / 1e9:>22.1f}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": ROWS, "cols": COLS, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
