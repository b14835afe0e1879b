"""Training-step time of eventsnn against snnTorch, SpikingJelly and Norse.

(a) 784-512-10 LIF MLP, T = 25, batch 128, Adam, Bernoulli(0.2) input:
    full step (forward + backward + optimizer), median of ``--repeats`` after warm-up.
(b) Open-neuromorphic layer Linear(n, n) + LIF, batch 16, T = 500, n = 4096,
    dense uniform input: forward and backward timed separately (median of ``--layer-repeats``).

eventsnn runs float32; its 784 -> 512 Linear layer is event-driven (spike input), the readout dense.

This shared VM's speed drifts by up to 20 % within minutes, so eventsnn's MLP
step is timed both before and after the peers, and ``mlp_step_s`` (against
which the ratios are taken) is the median of both sets; the JSON keeps each.

    NUMBA_NUM_THREADS=2 python benchmarks/train_step.py --json results/train_step.json
"""
from __future__ import annotations

import eventsnn  # noqa: F401  (first: it sets OpenBLAS's thread wait before NumPy loads it; see eventsnn/__init__.py)

import argparse
import json
import os
import statistics
import time
from typing import Callable

import numpy as np

from eventsnn import autodiff as ad
from eventsnn import nn

import _peers_train as peers

BETA = 0.9


def step_times(fn: Callable[[], None], repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def ours_mlp_step(x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    # The 784 -> 512 layer reads 2 KB weight rows per input spike: event-driven. The 512 -> 10 readout's
    # rows are 40 bytes, too short to repay listing the spikes: dense (the step: 31-35 -> 26-32 ms).
    model = nn.Sequential(nn.Linear(x.shape[2], 512, event=True, dtype=np.float32, seed=rng), nn.LIF(512, BETA),
                          nn.Linear(512, 10, dtype=np.float32, seed=rng), nn.LIF(10, BETA))
    opt = nn.Adam(model.named_parameters(), lr=1e-3)
    xt = ad.Tensor(x)

    def step() -> None:
        loss = ad.cross_entropy(ad.mean(model(xt), axis=0), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def ours_layer(x: np.ndarray) -> tuple[Callable, Callable]:
    n = x.shape[2]
    fc, lif = nn.Linear(n, n, dtype=np.float32, seed=0), nn.LIF(n, BETA)
    xt = ad.Tensor(x)
    holder = {}

    def forward() -> None:
        holder["out"] = lif(fc(xt))

    def backward() -> None:
        fc.zero_grad()
        ad.sum(holder.pop("out")).backward()
    return forward, backward


def timed_layer(pair: tuple[Callable, Callable], repeats: int) -> tuple[float, float]:
    forward, backward = pair
    fwd, bwd = [], []
    for i in range(repeats + 1):  # the first round is warm-up
        t0 = time.perf_counter()
        forward()
        t1 = time.perf_counter()
        backward()
        t2 = time.perf_counter()
        if i:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
    return statistics.median(fwd), statistics.median(bwd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write results to this JSON file")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--layer-repeats", type=int, default=3)
    parser.add_argument("--layer-n", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("NUMBA_NUM_THREADS", 2)))
    parser.add_argument("--peers", default=",".join(peers.PEERS), help="comma-separated, or empty for none")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x_mlp = (rng.random((25, 128, 784)) < 0.2).astype(np.float32)
    y_mlp = rng.integers(0, 10, 128)
    x_layer = rng.random((500, 16, args.layer_n), dtype=np.float32)

    ours_step = ours_mlp_step(x_mlp, y_mlp)
    first = step_times(ours_step, args.repeats)
    results = {"mlp_step_s": statistics.median(first)}
    results["layer_forward_s"], results["layer_backward_s"] = timed_layer(ours_layer(x_layer), args.layer_repeats)
    results["peers"] = {}
    if args.peers:
        import torch
        torch.set_num_threads(args.threads)
    for name in filter(None, args.peers.split(",")):
        step = peers.build_mlp_step(name, x_mlp, y_mlp, BETA)
        if step is None:
            print(f"{name}: not importable, skipped")
            continue
        entry = {"mlp_step_s": statistics.median(step_times(step, args.repeats))}
        entry["layer_forward_s"], entry["layer_backward_s"] = timed_layer(
            peers.build_layer(name, x_layer, BETA), args.layer_repeats)
        results["peers"][name] = entry
    if results["peers"]:
        last = step_times(ours_step, args.repeats)
        results["mlp_step_s_before_peers"] = statistics.median(first)
        results["mlp_step_s_after_peers"] = statistics.median(last)
        results["mlp_step_s"] = statistics.median(first + last)
    results["config"] = {"threads": args.threads, "repeats": args.repeats, "layer_repeats": args.layer_repeats,
                         "layer_n": args.layer_n, "dtype": "float32"}

    keys = ("mlp_step_s", "layer_forward_s", "layer_backward_s")
    print(f"{'':14}" + "".join(f"{k:>22}" for k in keys))
    print(f"{'eventsnn':14}" + "".join(f"{results[k] * 1e3:>19.1f} ms" for k in keys))
    for name, entry in results["peers"].items():
        print(f"{name:14}" + "".join(f"{entry[k] * 1e3:>12.1f} ms ({entry[k] / results[k]:4.1f}x)" for k in keys))
    if results["peers"]:
        print("(x = peer time / eventsnn time; > 1 means eventsnn is faster)")
        print(f"eventsnn's MLP step before / after the peers: {results['mlp_step_s_before_peers'] * 1e3:.1f} / "
              f"{results['mlp_step_s_after_peers'] * 1e3:.1f} ms (the median of both is the one compared)")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
