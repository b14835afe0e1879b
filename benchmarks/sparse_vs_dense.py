"""Event-driven vs dense inference: how cost follows activity.

    python benchmarks/sparse_vs_dense.py --json results/sparse_vs_dense.json [--plot results/speedup.png]

Sweep: one 4096 x 4096 float32 spiking layer, input activity from 1% to 50%.
Each call gets a fresh random spike vector, so the rows it reads are not
already cached (a fixed input would flatter the event engine). The event
engine sums the weight rows of active inputs (eventsnn.kernels.inference);
the dense engine is BLAS ``x @ W``. One thread each.

The bound: the dense product streams all n_in·n_out·4 bytes of W, so its
time gives the machine's effective memory bandwidth; the event engine reads
activity·n_in rows, so its floor is (active rows · row bytes) / bandwidth.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core: the edge-inference setting

import numpy as np  # noqa: E402

from eventsnn.kernels.inference import accumulate_rows, active_indices  # noqa: E402

ACTIVITIES = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5)


def median_time(fn, inputs) -> float:
    fn(inputs[0])  # warm-up (compilation, first touch)
    times = []
    for x in inputs[1:]:
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def sweep(n: int = 4096, repeats: int = 41, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((n, n), dtype=np.float32)
    scale, bias, out = np.ones(n, np.float32), np.zeros(n, np.float32), np.empty(n, np.float32)
    rows = []
    for activity in ACTIVITIES:
        inputs = [(rng.random(n) < activity).astype(np.float32) for _ in range(repeats)]
        event_s = median_time(lambda x: accumulate_rows(active_indices(x), weight, scale, bias, out), inputs)
        dense_s = median_time(lambda x: x @ weight + bias, inputs)
        rows.append({"activity": activity, "event_s": event_s, "dense_s": dense_s, "speedup": dense_s / event_s,
                     "speedup_over_inverse_activity": dense_s / event_s * activity})
    bandwidth = weight.nbytes / float(np.median([r["dense_s"] for r in rows]))
    for r in rows:
        r["event_bound_s"] = r["activity"] * weight.nbytes / bandwidth
    return {"n": n, "weight_bytes": weight.nbytes, "bandwidth_bytes_per_s": bandwidth, "sweep": rows}


def print_sweep(result: dict) -> None:
    print(f"single layer {result['n']} x {result['n']} float32, one thread; "
          f"dense streams {result['weight_bytes'] / 2**20:.0f} MiB at {result['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s")
    print(f"{'activity':>9}{'event ms':>10}{'bound ms':>10}{'dense ms':>10}{'speedup':>9}{'1/activity':>11}{'ratio':>7}")
    for r in result["sweep"]:
        print(f"{r['activity']:>9.2f}{r['event_s'] * 1e3:>10.3f}{r['event_bound_s'] * 1e3:>10.3f}{r['dense_s'] * 1e3:>10.3f}"
              f"{r['speedup']:>9.1f}{1 / r['activity']:>11.0f}{r['speedup_over_inverse_activity']:>7.2f}")
    print("ratio = speedup / (1/activity); the goal is 0.5 <= ratio <= 2 from 1% to 20% activity")


def plot_sweep(result: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    a = np.array([r["activity"] for r in result["sweep"]])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(a * 100, [r["speedup"] for r in result["sweep"]], "o-", label="event / dense speedup (measured)")
    ax.loglog(a * 100, 1 / a, "--", color="gray", label="1 / activity")
    ax.set(xlabel="input activity (%)", ylabel="speedup over dense", title=f"{result['n']}x{result['n']} float32 layer, 1 thread")
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", default="results/sparse_vs_dense.png", help="speedup plot (needs matplotlib)")
    args = parser.parse_args()
    result = sweep()
    print_sweep(result)
    plot_sweep(result, args.plot)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
