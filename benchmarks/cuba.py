"""CUBA benchmark (Brette et al. 2007, benchmark 2): simulation speed against Brian2 and NEST.

    python benchmarks/cuba.py --n 4000 --duration 10 --json results/cuba.json [--compare brian2 nest]
    python benchmarks/cuba.py --n 4000 16000 64000 --duration 1

Mean out-degree 80 at every size (p = 80/n). Timed separately:
``build_s`` (connectivity generation and building the arrays), ``wall_s``
(the simulation loop only), ``compile_s`` (first-call Numba compilation,
measured in a fresh process with an empty cache). ``--compare`` runs the
same network in peers in the same run, one thread each, each measurement in
a fresh process: ``brian2`` (cpp_standalone and cython targets,
``_brian2_peer.py``), ``nest`` (``iaf_psc_exp``, ``_nest_peer.py``; the
same model except that spikes arrive one 0.1 ms step later, NEST's minimum
delay, and the refractory clamp lasts one step longer). Their rows and the
ratios of their times to eventsnn's are printed and written to the JSON
(``peers``, ``ratios``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import eventsnn
from eventsnn.reference_networks import cuba

sys.path.insert(0, str(Path(__file__).parent))  # the peer modules, also when imported from elsewhere
OUT_DEGREE = 80.0
COLD_COMPILE = """
import time
start = time.perf_counter()
from eventsnn.reference_networks import cuba
cuba(100).network.run(1.0)
print(time.perf_counter() - start)
"""


def measure_ours(n: int, duration_s: float, backend: str, seed: int) -> dict:
    cuba(100, backend=backend).network.run(1.0)  # compile (or load the cache) outside the timings
    start = time.perf_counter()
    bench = cuba(n, OUT_DEGREE, seed=seed, backend=backend)
    bench.network.build()
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    bench.network.run(duration_s * 1000.0)
    wall_s = time.perf_counter() - start
    net = bench.network
    return {
        "simulator": f"eventsnn-{eventsnn.__version__}", "n": n, "duration_s": duration_s, "backend": backend,
        "wall_s": wall_s, "build_s": build_s, "spikes": net.spike_count,
        "rate_hz": net.spike_count / n / duration_s, "synapses": int(net.sim.weight.size),
        "syn_events": net.syn_events, "syn_events_per_s": net.syn_events / wall_s,
    }


def cold_compile_seconds() -> float:
    """Import and first run of a tiny network in a fresh process with an empty Numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", COLD_COMPILE], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def measure_brian2(n: int, duration_s: float, seed: int) -> dict:
    """Brian2's cpp_standalone and cython targets: {"brian2_<target>": result of run_brian2_cuba}."""
    from _brian2_peer import run_brian2_cuba

    return {f"brian2_{t}": run_brian2_cuba(n, duration_s, t, OUT_DEGREE, seed) for t in ("cpp_standalone", "cython")}


def measure_nest(n: int, duration_s: float, seed: int) -> dict:
    """NEST's iaf_psc_exp: {"nest": result of run_nest_cuba}."""
    from _nest_peer import run_nest_cuba

    return {"nest": run_nest_cuba(n, duration_s, OUT_DEGREE, seed)}


PEERS = {"brian2": measure_brian2, "nest": measure_nest}


def print_table(records: list[dict]) -> None:
    head = f"{'simulator':<26}{'n':>7}{'T (s)':>7}{'build s':>9}{'run s':>8}{'rate Hz':>9}{'synapses':>11}{'Mev/s':>8}{'x ours':>8}"
    print(head)
    print("-" * len(head))
    for rec in records:
        rows = [(rec["simulator"] + f" ({rec['backend']})", rec)] + list(rec.get("peers", {}).items())
        for name, r in rows:
            ratio = r["wall_s"] / rec["wall_s"]
            print(f"{name:<26}{r['n']:>7}{r['duration_s']:>7g}{r['build_s']:>9.3f}{r['wall_s']:>8.3f}"
                  f"{r['rate_hz']:>9.2f}{r['synapses']:>11}{r['syn_events_per_s'] / 1e6:>8.1f}{ratio:>8.2f}")
    print("x ours: the simulator's loop time divided by eventsnn's (above 1: eventsnn is faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[4000, 16000, 64000])
    parser.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", nargs="+", choices=list(PEERS), default=[], help="also run these peers in the same run")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    compile_s = cold_compile_seconds() if args.backend == "numba" else 0.0
    records = []
    for n in args.n:
        rec = measure_ours(n, args.duration, args.backend, args.seed)
        rec["compile_s"] = compile_s
        if args.compare:
            rec["peers"] = {key: res for name in dict.fromkeys(args.compare)
                            for key, res in PEERS[name](n, args.duration, args.seed).items()}
            rec["ratios"] = {k: {"loop": p["wall_s"] / rec["wall_s"],
                                 "build_and_loop": (p["wall_s"] + p["build_s"]) / (rec["wall_s"] + rec["build_s"])}
                             for k, p in rec["peers"].items()}
        records.append(rec)
    print_table(records)
    print(f"first-call compile time (fresh process, empty cache): {compile_s:.2f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(records[0] if len(records) == 1 else {"runs": records}, indent=2))


if __name__ == "__main__":
    main()
