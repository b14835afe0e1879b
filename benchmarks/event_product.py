"""Throughput of the event product (sparse binary x dense) that dominates the MLP training step.

    NUMBA_NUM_THREADS=2 python benchmarks/event_product.py --json benchmarks/results/event_product.json

``sparse_matmul`` adds, for each nonzero x[m, k], the row W[k] (512 float32)
into out[m]. The MLP benchmark's forward X @ W (X: 3200 x 784 Bernoulli(0.2))
adds 502 k such rows; its weight gradient X^T g adds as many rows of g[3200, 512].

Three placements of the rows read, with the same index (the same ~502 k rows added):

- ``W`` shrinking from 1.6 MB to 392 KB (K inputs at activity 0.2 * 784 / K):
  all sizes exceed the 32 KB L1, the smaller ones fit the 1 MB L2;
- ``L1``: the index of the 784-input case folded onto 8 rows of W (16 KB), so
  every row read stays in L1: the kernel's speed when no row waits on L2;
- ``g``: the weight gradient, rows of the 6.5 MB g read in the transposed order.

The gap between the ``L1`` line and the others is what the cache hierarchy
costs; the ``L1`` line itself is the core's limit for this kernel. The cases
are timed in turn, one call each per round, and each reports the median of
``--repeats`` rounds: a machine whose speed drifts during the run (as this
shared VM's does, by 20 % within minutes) then shifts every case alike.
"""
from __future__ import annotations

import eventsnn  # noqa: F401  (first: it sets OpenBLAS's thread wait before NumPy loads it)

import argparse
import json
import os
import time
from typing import Callable

import numba
import numpy as np

from eventsnn.kernels.event_linear import active_index, sparse_matmul, transpose_index

ROWS, COLS = 3200, 512
SHAPES = ((784, 0.2), (392, 0.4), (196, 0.8))  # (inputs K, activity): the same ~502 k rows added
L1_ROWS = 8


def interleaved_median_ms(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median time of each function, timed in turn once per round."""
    for fn in fns:
        fn()  # compile / warm
    times = np.empty((repeats, len(fns)))
    for r in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[r, i] = time.perf_counter() - start
    return list(np.median(times, axis=0) * 1e3)


def cases(rng: np.random.Generator):
    """(label, CSR index, dense operand) for every placement measured."""
    for k, activity in SHAPES:
        x = (rng.random((ROWS, k)) < activity).astype(np.float32)
        index = active_index(x)
        yield f"W {k * COLS * 4 // 1024} KB", index, rng.standard_normal((k, COLS), dtype=np.float32)
        if k == SHAPES[0][0]:
            indptr, indices, values = index
            yield (f"L1 ({L1_ROWS} rows)", (indptr, indices % L1_ROWS, values),
                   rng.standard_normal((k, COLS), dtype=np.float32))
            yield ("g (weight grad)", transpose_index(*index, k),
                   rng.standard_normal((ROWS, COLS), dtype=np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    measured = list(cases(np.random.default_rng(0)))
    rows = []
    for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
        numba.set_num_threads(threads)
        fns = [lambda index=index, dense=dense: sparse_matmul(*index, dense) for _, index, dense in measured]
        for (label, index, dense), ms in zip(measured, interleaved_median_ms(fns, args.repeats)):
            added = index[2].size
            rows.append({"rows_read": label, "dense_bytes": dense.nbytes, "rows_added": int(added),
                         "threads": threads, "ms": ms, "adds_per_s_per_thread": added * COLS / (ms / 1e3) / threads})
    print(f"{'rows read from':>18}{'rows added':>12}{'threads':>9}{'ms':>8}{'G adds/s per thread':>22}")
    for r in rows:
        print(f"{r['rows_read']:>18}{r['rows_added']:>12}{r['threads']:>9}{r['ms']:>8.2f}"
              f"{r['adds_per_s_per_thread'] / 1e9:>22.1f}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": ROWS, "cols": COLS, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
