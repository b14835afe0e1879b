"""CUBA benchmark (Brette et al. 2007, benchmark 2): simulation speed against Brian2 and NEST.

    python benchmarks/cuba.py --n 4000 --duration 10 --json benchmarks/results/cuba.json [--compare brian2 nest]
    python benchmarks/cuba.py --n 4000 16000 64000 --duration 1

Mean out-degree 80 at every size (p = 80/n). Timed separately:
``build_s`` (connectivity generation and building the arrays), ``wall_s``
(the simulation loop only), ``compile_s`` (first-call Numba compilation,
measured in a fresh process with an empty cache). ``--compare`` runs
the same network in peers in the same run, one thread each, each measurement in
a fresh process: ``brian2`` (cpp_standalone and cython targets,
``_brian2_peer.py``), ``nest`` (``iaf_psc_exp``, ``_nest_peer.py``; the
same model except that spikes arrive one 0.1 ms step later, NEST's minimum
delay, and the refractory clamp lasts one step longer). eventsnn runs in
this process, which loads no peer, and the measurements alternate (ours,
cpp_standalone, ours, cython, ours, NEST, ours, ... for ``--rounds``
rounds; benchmarks/_workers.py): each ratio is a peer's time over the mean
of ours just before and after it, the median over the rounds (``ratios``;
``loop_range`` and ``build_and_loop_range`` the extremes). The rows shown
are each side's run of median loop time; ``wall_s_runs`` keeps them all.

    python benchmarks/cuba.py --n 64000 --duration 1 --threads 1 2 [--compare brian2] --json benchmarks/results/cuba_threads.json

``--threads`` measures eventsnn on each thread count (``Network.threads``)
and, with ``--compare brian2``, Brian2's cpp_standalone on as many OpenMP
threads (``openmp_threads``, its own process each time), interleaved
round by round (ours on 1, Brian2 on 1, ours on 2, Brian2 on 2, ...);
``speedup`` is each side's loop time on one thread over that on k threads
in the same round, the median over the rounds.

    python benchmarks/cuba.py --backend cuda --n 4000 64000 1000000 --duration 0.1 --json benchmarks/results/cuba_cuda.json

``--backend cuda`` runs eventsnn on the GPU (``backend="cuda"``, docs/cuda.md)
and, in the same run, the one-core Numba backend as its peer (``numba_1_thread``,
interleaved as above, in this process): its ``x ours`` is the GPU's speed-up.
Without a GPU it stops at once, saying what is missing.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import eventsnn
from eventsnn.backends.cuda_backend import device_kernels
from eventsnn.reference_networks import cuba

sys.path.insert(0, str(Path(__file__).parent))  # the peer modules, also when imported from elsewhere
from _workers import MachineLoad, compare, interleave  # noqa: E402

OUT_DEGREE = 80.0
COLD_COMPILE = """
import time
start = time.perf_counter()
from eventsnn.reference_networks import cuba
cuba(100).network.run(1.0)
print(time.perf_counter() - start)
"""


def measure_ours(n: int, duration_s: float, backend: str, seed: int, exc_plasticity=None,
                 threads: int | None = None) -> dict:
    """One measurement of CUBA (its excitatory synapses learning by ``exc_plasticity`` if given) in this
    process on ``threads`` threads (None: Numba's count): loop and build times, activity, the mean
    excitatory weight at the end."""
    warm = cuba(100, backend=backend, exc_plasticity=exc_plasticity).network
    warm.threads = threads
    warm.run(1.0)  # compile outside the timings
    start = time.perf_counter()
    bench = cuba(n, OUT_DEGREE, seed=seed, backend=backend, exc_plasticity=exc_plasticity)
    bench.network.threads = threads
    bench.network.build()
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    bench.network.run(duration_s * 1000.0)
    wall_s = time.perf_counter() - start
    net = bench.network
    return {
        "simulator": f"eventsnn-{eventsnn.__version__}", "n": n, "duration_s": duration_s, "backend": backend,
        "threads": threads,
        "wall_s": wall_s, "build_s": build_s, "spikes": net.spike_count,
        "rate_hz": net.spike_count / n / duration_s, "synapses": int(net.sim.syn.weight.size),
        "syn_events": net.syn_events, "syn_events_per_s": net.syn_events / wall_s,
        "mean_exc_weight_mv": float(net.projections[0].weight.mean()),
    }


def cold_compile_seconds() -> float:
    """Import and first run of a tiny network in a fresh process with an empty Numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", COLD_COMPILE], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def brian2_peers(n: int, duration_s: float, seed: int) -> dict:
    """Brian2's cpp_standalone and cython targets: {"brian2_<target>": measurement, a fresh process per call}."""
    from _brian2_peer import run_brian2_cuba

    return {f"brian2_{t}": functools.partial(run_brian2_cuba, n, duration_s, t, OUT_DEGREE, seed)
            for t in ("cpp_standalone", "cython")}


def nest_peers(n: int, duration_s: float, seed: int) -> dict:
    """NEST's iaf_psc_exp: {"nest": measurement, a fresh process per call}."""
    from _nest_peer import run_nest_cuba

    return {"nest": functools.partial(run_nest_cuba, n, duration_s, OUT_DEGREE, seed)}


def numba_peer(n: int, duration_s: float, seed: int) -> dict:
    """The Numba backend on one thread, in this process (the peer of ``--backend cuda``)."""
    return {"numba_1_thread": functools.partial(measure_ours, n, duration_s, "numba", seed, threads=1)}


PEERS = {"brian2": brian2_peers, "nest": nest_peers, "numba": numba_peer}


def median_run(runs: list[dict]) -> dict:
    """The run of median loop time (the lower middle one of an even count), with every run's loop time."""
    runs = sorted(runs, key=lambda r: r["wall_s"])
    return {**runs[(len(runs) - 1) // 2], "wall_s_runs": [r["wall_s"] for r in runs]}


def measure_with_peers(n: int, args: argparse.Namespace) -> dict:
    """eventsnn's record with its peers' (``peers``) and the paired ratios (``ratios``)."""
    peers = {key: measure for name in dict.fromkeys(args.compare)
             for key, measure in PEERS[name](n, args.duration, args.seed).items()}
    log = interleave(lambda: measure_ours(n, args.duration, args.backend, args.seed), peers, args.rounds)
    loop = compare(log, lambda r: r["wall_s"])
    total = compare(log, lambda r: r["wall_s"] + r["build_s"])
    rec = median_run([r for name, r in log if name == "ours"])
    rec["peers"] = {key: median_run([r for name, r in log if name == key]) for key in peers}
    rec["ratios"] = {key: {"loop": loop[key]["ratio"], "loop_range": [loop[key]["ratio_min"], loop[key]["ratio_max"]],
                           "build_and_loop": total[key]["ratio"],
                           "build_and_loop_range": [total[key]["ratio_min"], total[key]["ratio_max"]]}
                     for key in peers}
    return rec


def measure_threads(n: int, args: argparse.Namespace) -> dict:
    """Ours (and Brian2 cpp_standalone with ``--compare brian2``) on each of ``args.threads``, interleaved
    round by round; each side's median run per thread count (``runs``) and its speed-ups (``speedup``)."""
    from _brian2_peer import run_brian2_cuba

    sides = {"eventsnn": lambda t: measure_ours(n, args.duration, args.backend, args.seed, threads=t)}
    if "brian2" in args.compare:
        sides["brian2_cpp_standalone"] = lambda t: run_brian2_cuba(n, args.duration, "cpp_standalone", OUT_DEGREE,
                                                                   args.seed, threads=t)
    log = []  # (side, threads, round, result)
    for r in range(args.rounds):
        for t in args.threads:
            for side, measure in sides.items():
                print(f"round {r + 1}/{args.rounds}: {side} on {t} thread(s)", file=sys.stderr, flush=True)
                log.append((side, t, r, measure(t)))
    wall = {(side, t, r): res["wall_s"] for side, t, r, res in log}
    base = args.threads[0]
    return {
        "n": n, "duration_s": args.duration, "threads": args.threads, "rounds": args.rounds,
        "runs": {side: {str(t): median_run([res for s_, t_, _, res in log if (s_, t_) == (side, t)])
                        for t in args.threads} for side in sides},
        "speedup": {side: {str(t): statistics.median(wall[side, base, r] / wall[side, t, r] for r in range(args.rounds))
                           for t in args.threads} for side in sides},
        "speedup_over": base,
    }


def print_threads_table(records: list[dict]) -> None:
    head = f"{'simulator':<26}{'n':>7}{'threads':>8}{'build s':>9}{'run s':>8}{'rate Hz':>9}{'speed-up':>10}"
    print(head)
    print("-" * len(head))
    for rec in records:
        for side, runs in rec["runs"].items():
            for t, r in runs.items():
                print(f"{side:<26}{rec['n']:>7}{t:>8}{r['build_s']:>9.3f}{r['wall_s']:>8.3f}{r['rate_hz']:>9.2f}"
                      f"{rec['speedup'][side][t]:>10.2f}")
    print(f"speed-up: loop time on {records[0]['speedup_over']} thread(s) over that on this many, same round, "
          "median over the rounds")


def print_table(records: list[dict]) -> None:
    head = f"{'simulator':<26}{'n':>7}{'T (s)':>7}{'build s':>9}{'run s':>8}{'rate Hz':>9}{'synapses':>11}{'Mev/s':>8}{'x ours':>8}"
    print(head)
    print("-" * len(head))
    for rec in records:
        rows = [(rec["simulator"] + f" ({rec['backend']})", rec)] + list(rec.get("peers", {}).items())
        for name, r in rows:
            ratio = rec["ratios"][name]["loop"] if name in rec.get("ratios", {}) else 1.0
            print(f"{name:<26}{r['n']:>7}{r['duration_s']:>7g}{r['build_s']:>9.3f}{r['wall_s']:>8.3f}"
                  f"{r['rate_hz']:>9.2f}{r['synapses']:>11}{r['syn_events_per_s'] / 1e6:>8.1f}{ratio:>8.2f}")
    print("x ours: the simulator's loop time over eventsnn's just before and after it, median over the rounds "
          "(above 1: eventsnn is faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[4000, 16000, 64000])
    parser.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy", "cuda"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", nargs="+", choices=list(PEERS), default=[], help="also run these peers in the same run")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each peer, interleaved with ours")
    parser.add_argument("--threads", type=int, nargs="+",
                        help="measure on each of these thread counts (ours and Brian2 cpp_standalone)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.threads and set(args.compare) - {"brian2"}:
        parser.error("--threads compares with brian2 only")
    if args.backend == "cuda":
        try:
            device_kernels()
        except (ImportError, RuntimeError) as err:
            parser.exit(1, f"--backend cuda: {err}\n")
        args.compare = ["numba", *args.compare]

    load = MachineLoad()
    compile_s = cold_compile_seconds() if args.backend == "numba" else 0.0
    records = []
    for n in args.n:
        if args.threads:
            rec = measure_threads(n, args)
        elif args.compare:
            rec = measure_with_peers(n, args)
        else:
            rec = measure_ours(n, args.duration, args.backend, args.seed)
        rec["compile_s"] = compile_s
        records.append(rec)
    machine_load = load.result()
    (print_threads_table if args.threads else print_table)(records)
    print(f"first-call compile time (fresh process, empty cache): {compile_s:.2f} s")
    print(f"other processes kept {machine_load['other_busy_cores']:.2f} of {machine_load['cpus']} cores busy")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({**records[0], "machine_load": machine_load} if len(records) == 1
                                              else {"runs": records, "machine_load": machine_load}, indent=2))


if __name__ == "__main__":
    main()
