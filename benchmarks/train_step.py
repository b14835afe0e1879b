"""Training-step time of eventsnn against snnTorch, SpikingJelly and Norse.

(a) 784-512-10 LIF MLP, T = 25, batch 128, Adam, Bernoulli(0.2) input:
    full step (forward + backward + optimizer), ``--repeats`` steps per measurement after 2 warm-up steps.
(b) Open-neuromorphic layer Linear(n, n) + LIF, batch 16, T = 500, n = 4096,
    dense uniform input: forward and backward timed separately, ``--layer-repeats`` of each per measurement.

eventsnn runs float32; its 784 -> 512 Linear layer is event-driven (spike input), the readout dense.

Each side runs in its own process (benchmarks/_workers.py), each with
``--threads`` threads, and the measurements alternate: eventsnn, snnTorch,
eventsnn, SpikingJelly, eventsnn, Norse, eventsnn, ... for ``--rounds``
(``--layer-rounds``) rounds. A peer inside eventsnn's process shares its
thread pools and was slowed (SpikingJelly's step 55-66 ms there, 33 ms on
its own), and this shared VM's speed drifts by up to 20 % within minutes;
each ratio is a peer's time over the mean of eventsnn's just before and
after it, and the JSON keeps every measurement's median (``log``). Peers not
installed are skipped and listed (``missing_peers``): without torch eventsnn
runs alone.

    NUMBA_NUM_THREADS=2 python benchmarks/train_step.py --json benchmarks/results/train_step.json

``--device cuda`` runs (b) alone on a GPU at each n of ``--layer-sizes``
(default 4096 and 16384; eventsnn's side: benchmarks/_cuda_train.py), the
peers on torch CUDA, each in its own process as above:

    python benchmarks/train_step.py --device cuda --json benchmarks/results/train_step_cuda.json
"""
from __future__ import annotations

import eventsnn  # noqa: F401  (first: it sets OpenBLAS's thread wait before NumPy loads it; see eventsnn/__init__.py)

import argparse
import contextlib
import json
import os
import statistics
from typing import Callable

import numpy as np

from eventsnn import autodiff as ad
from eventsnn import nn

import _peers_train as peers
from _workers import MachineLoad, Worker, compare, interleave

BETA = peers.BETA
MLP, LAYER = ["mlp_step"], ["layer_forward", "layer_backward"]
KEYS = {"mlp_step_s": "mlp_step", "layer_forward_s": "layer_forward", "layer_backward_s": "layer_backward"}


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


def ours_tasks(layer_n: int) -> dict[str, Callable[[], None]]:
    """eventsnn's timed tasks, built in its own worker process (threads: NUMBA_NUM_THREADS)."""
    x_mlp, y_mlp, x_layer = peers.workload(layer_n)
    forward, backward = ours_layer(x_layer)
    return {"mlp_step": ours_mlp_step(x_mlp, y_mlp), "layer_forward": forward, "layer_backward": backward}


def measure(worker: Worker, tasks: list[str], repeats: int, warmup: int) -> Callable[[], dict[str, list[float]]]:
    return lambda: worker.time(tasks, repeats, warmup)


def run_cuda(args: argparse.Namespace, names: list[str], missing: list[str]) -> dict:
    """(b) on the GPU at each n of ``--layer-sizes``: eventsnn and every importable peer in its own process,
    interleaved. A peer that fails to start or to warm up is reported under ``peer_errors`` and skipped."""
    import _cuda_train

    results = {"device": "cuda", "gemm": _cuda_train.gemm_library(),
               "simulator": os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "missing_peers": missing,
               "peer_errors": {}, "sizes": {}}
    for n in (int(v) for v in args.layer_sizes.split(",")):
        with contextlib.ExitStack() as stack:
            ours = stack.enter_context(Worker("_cuda_train:layer_tasks", layer_n=n, steps=args.steps))
            ours.time(LAYER, 1)  # warm-up: compilation, first touch of every buffer
            others = {}
            for name in (name for name in names if name not in missing):
                try:  # one GPU run must not be lost to one peer (a missing CUDA piece, out of memory)
                    worker = stack.enter_context(Worker("_peers_train:layer_tasks", name=name, layer_n=n,
                                                        steps=args.steps, device="cuda"))
                    worker.time(LAYER, 1)
                    others[name] = worker
                except (RuntimeError, OSError) as err:
                    results["peer_errors"][f"{name}@{n}"] = str(err)
            log = interleave(measure(ours, LAYER, args.layer_repeats, 0),
                             {name: measure(w, LAYER, args.layer_repeats, 0) for name, w in others.items()},
                             args.layer_rounds)
        by_task = {task: compare(log, lambda r, t=task: statistics.median(r[t])) for task in LAYER}
        results["sizes"][str(n)] = {
            "ours": {task: by_task[task]["ours"]["median"] for task in LAYER},
            "peers": {name: {task: {k: by_task[task][name][k] for k in ("median", "ratio", "ratio_min", "ratio_max")}
                             for task in LAYER} for name in others},
            "log": [[name, {t: statistics.median(v) for t, v in r.items()}] for name, r in log],
        }
    results["config"] = {"batch": 16, "steps": args.steps, "layer_repeats": args.layer_repeats,
                         "layer_rounds": args.layer_rounds, "dtype": "float32"}
    results["scheme"] = ("each side in its own process; measurements interleaved (ours, peer, ours, ...); "
                         "ratio = peer / mean of ours just before and after, median over rounds; each task "
                         "waits for the device to finish")
    print(f"{'n':>6} {'':14}{'forward':>24}{'backward':>24}")
    for n, entry in results["sizes"].items():
        print(f"{n:>6} {'eventsnn':14}" + "".join(f"{entry['ours'][t] * 1e3:>21.2f} ms" for t in LAYER))
        for name, cells in entry["peers"].items():
            print(f"{'':>6} {name:14}" + "".join(f"{cells[t]['median'] * 1e3:>12.2f} ms {cells[t]['ratio']:6.2f}x"
                                                 for t in LAYER))
    return results


def run_cpu(args: argparse.Namespace, names: list[str], missing: list[str]) -> dict:
    """(a) and (b) on the CPU: eventsnn and every importable peer in its own process, interleaved."""
    load = MachineLoad()
    with contextlib.ExitStack() as stack:
        ours = stack.enter_context(Worker("train_step:ours_tasks", env={"NUMBA_NUM_THREADS": str(args.threads)},
                                          layer_n=args.layer_n))
        others = {name: stack.enter_context(Worker("_peers_train:tasks", name=name, layer_n=args.layer_n,
                                                   threads=args.threads)) for name in names if name not in missing}
        for worker in (ours, *others.values()):  # warm-up: compilation, first touch of every buffer
            worker.time(MLP + LAYER, 1)
        logs = {MLP[0]: interleave(measure(ours, MLP, args.repeats, 2),
                                   {name: measure(w, MLP, args.repeats, 2) for name, w in others.items()}, args.rounds)}
        logs["layer"] = interleave(measure(ours, LAYER, args.layer_repeats, 0),
                                   {name: measure(w, LAYER, args.layer_repeats, 0) for name, w in others.items()},
                                   args.layer_rounds)
    by_task = {task: compare(logs["layer" if task in LAYER else task], lambda r, t=task: statistics.median(r[t]))
               for task in KEYS.values()}
    results = {key: by_task[task]["ours"]["median"] for key, task in KEYS.items()}
    results["peers"] = {name: {key: by_task[task][name]["median"] for key, task in KEYS.items()} for name in others}
    for name, entry in results["peers"].items():
        entry["ratios"] = {task: {k: by_task[task][name][k] for k in ("ratio", "ratio_min", "ratio_max", "ratios")}
                           for task in KEYS.values()}
    results["missing_peers"] = missing
    results["scheme"] = ("each side in its own process; measurements interleaved (ours, peer, ours, ...); "
                         "ratio = peer / mean of ours just before and after, median over rounds")
    results["log"] = {task: [[name, {t: statistics.median(v) for t, v in r.items()}] for name, r in log]
                      for task, log in logs.items()}
    results["machine_load"] = load.result()
    results["config"] = {"threads": args.threads, "repeats": args.repeats, "rounds": args.rounds,
                         "layer_repeats": args.layer_repeats, "layer_rounds": args.layer_rounds,
                         "layer_n": args.layer_n, "dtype": "float32"}

    print(f"{'':14}" + "".join(f"{k:>30}" for k in KEYS))
    print(f"{'eventsnn':14}" + "".join(f"{results[k] * 1e3:>27.1f} ms" for k in KEYS))
    for name, entry in results["peers"].items():
        cells = [(entry[k] * 1e3, entry["ratios"][t]) for k, t in KEYS.items()]
        print(f"{name:14}" + "".join(f"{ms:>10.1f} ms {r['ratio']:4.1f}x ({r['ratio_min']:.1f}-{r['ratio_max']:.1f})"
                                     for ms, r in cells))
    if results["peers"]:
        print("x = peer time / eventsnn's just before and after it: median (range) over the rounds; > 1: eventsnn is faster")
    print(f"other processes kept {results['machine_load']['other_busy_cores']:.2f} of {os.cpu_count()} cores busy")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write results to this JSON file")
    parser.add_argument("--repeats", type=int, default=5, help="MLP steps per measurement")
    parser.add_argument("--rounds", type=int, default=15, help="MLP measurements of each peer")
    parser.add_argument("--layer-repeats", type=int, default=1, help="layer forward+backward per measurement")
    parser.add_argument("--layer-rounds", type=int, default=3, help="layer measurements of each peer")
    parser.add_argument("--layer-n", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("NUMBA_NUM_THREADS", 2)))
    parser.add_argument("--peers", default=",".join(peers.PEERS), help="comma-separated, or empty for none")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: benchmark (b) alone on the GPU at each of --layer-sizes")
    parser.add_argument("--layer-sizes", default="4096,16384", help="--device cuda: comma-separated n")
    parser.add_argument("--steps", type=int, default=500, help="--device cuda: time steps T of (b)")
    args = parser.parse_args()

    names = list(filter(None, args.peers.split(",")))
    missing = [name for name in names if not peers.available(name)]
    for name in missing:
        print(f"{name}: not installed (the bench extra), skipped")
    results = (run_cuda if args.device == "cuda" else run_cpu)(args, names, missing)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
