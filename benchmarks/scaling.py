"""MPI scaling: one CUBA-like network on 1 and 2 ranks, and language-model training tokens/s on 1 and 2 ranks.

    python benchmarks/scaling.py [--n 64000] [--duration 1.0] [--delay 1.0] [--ranks 1 2] [--rounds 3]
                                 [--lm-steps 30] [--json PATH]

Every measurement is a fresh ``mpiexec -n K`` (one Numba thread per rank, so that ranks x threads stay
within the cores; the 1-rank run is the ordinary one-process path), the rank counts interleaved round
by round (1, 2, 1, 2, ...), because this machine is shared and its speed drifts.

Simulation: ``reference_networks.cuba(n, delay=DELAY)`` (Brette et al.'s CUBA with mean out-degree 80
and every synaptic delay DELAY ms, so spikes are exchanged every DELAY/dt steps); ``wall_s`` is
``net.run`` alone (after the build, after a small network loaded the compiled kernels), the slowest
rank's. Reported per rank count: the median wall time and the speed-up over one rank, the spike
exchanges, spikes and bytes per exchange (16 bytes a spike, 8 per rank for the counts), synapses held
and peak resident memory per rank (each rank still draws the whole connectivity before keeping its
part), and the spike digest, which must not change with the rank count.

Language model: ``eventsnn train --preset tiny --steps N --json`` (fresh run, bundled corpus) under
``mpiexec -n K``: tokens/s from its summary (``--lm-steps 0`` leaves it out).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _workers import MachineLoad  # noqa: E402

MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
ENV = {**os.environ, "NUMBA_NUM_THREADS": "1"}


def simulate(n: int, duration_s: float, delay: float, out: str) -> None:
    """One measurement, on this rank of however many ``mpiexec`` started; rank 0 writes ``out``."""
    import numpy as np

    from eventsnn import spike_digest
    from eventsnn.mpi import rank, world
    from eventsnn.reference_networks import cuba

    cuba(400, delay=delay).network.run(5.0)  # loads the compiled kernels outside the timings
    comm = world()
    barrier = comm.Barrier if comm is not None else (lambda: None)
    barrier()
    start = time.perf_counter()
    bench = cuba(n, delay=delay)
    sim = bench.network.build()
    build_s = time.perf_counter() - start
    barrier()
    start = time.perf_counter()
    bench.network.run(duration_s * 1000.0)
    wall_s = time.perf_counter() - start
    layout = sim.layout
    held = {"wall_s": wall_s, "build_s": build_s, "synapses_held": int(sim.syn.weight.size),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    ranks = [held] if comm is None else comm.gather(held)
    if rank() != 0:
        return
    spikes = bench.spikes
    per_exchange = layout.exchanged_spikes / layout.exchanges if layout.exchanges else 0.0
    result = {
        "ranks": layout.size, "n": n, "duration_s": duration_s, "delay_ms": delay,
        "exchange_every_steps": sim.min_delay if layout.distributed else None,
        "wall_s": max(r["wall_s"] for r in ranks), "build_s": max(r["build_s"] for r in ranks),
        "synapses": sum(r["synapses_held"] for r in ranks), "per_rank": ranks,
        "spikes": spikes.num_spikes, "rate_hz": spikes.num_spikes / n / duration_s,
        "spike_digest": spike_digest(spikes.steps, spikes.i),
        "exchanges": layout.exchanges, "spikes_per_exchange": per_exchange,
        "bytes_per_exchange": 16.0 * per_exchange + 8.0 * layout.size if layout.exchanges else 0.0,
        "syn_events": bench.network.syn_events, "numpy": np.__version__,
    }
    Path(out).write_text(json.dumps(result))


def launch(ranks: int, command: list[str], timeout: float) -> None:
    full = [MPIEXEC, "-n", str(ranks), *command] if ranks > 1 else command
    proc = subprocess.run(full, env=ENV, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(full)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")


def measure_simulation(ranks: int, args, tmp: Path) -> dict:
    out = tmp / f"sim_{ranks}.json"
    launch(ranks, [sys.executable, __file__, "--worker", str(args.n), str(args.duration), str(args.delay), str(out)],
           timeout=3600)
    return json.loads(out.read_text())


def measure_training(ranks: int, steps: int, tmp: Path) -> dict:
    out = tmp / f"lm_{ranks}.json"
    cli = [sys.executable, "-c", "import sys; from eventsnn.cli import main; sys.exit(main())"]
    launch(ranks, [*cli, "train", "--preset", "tiny", "--steps", str(steps), "--out", str(tmp / f"run_{ranks}"),
                   "--force", "--json", str(out)], timeout=3600)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64000, help="neurons")
    parser.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    parser.add_argument("--delay", type=float, default=1.0, help="every synaptic delay, ms (at least dt = 0.1)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lm-steps", type=int, default=30, help="training steps per LM measurement (0: none)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        n, duration, delay, out = args.worker
        simulate(int(n), float(duration), float(delay), out)
        return
    if MPIEXEC is None:
        raise SystemExit("no mpiexec: pip install '.[mpi]' (mpi4py and mpich)")
    load = MachineLoad()
    runs: dict[str, dict[int, list[dict]]] = {"simulation": {k: [] for k in args.ranks},
                                              "training": {k: [] for k in args.ranks}}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for k in args.ranks:
                print(f"round {r + 1}/{args.rounds}: {k} rank(s)", file=sys.stderr, flush=True)
                runs["simulation"][k].append(measure_simulation(k, args, Path(tmp)))
                if args.lm_steps:
                    runs["training"][k].append(measure_training(k, args.lm_steps, Path(tmp)))
    first = args.ranks[0]
    sim = {k: {"wall_s_median": statistics.median(r["wall_s"] for r in v), "wall_s_runs": [r["wall_s"] for r in v],
               **{key: v[0][key] for key in ("exchanges", "spikes_per_exchange", "bytes_per_exchange", "spikes",
                                             "rate_hz", "synapses", "exchange_every_steps", "spike_digest")},
               "per_rank_synapses": [p["synapses_held"] for p in v[0]["per_rank"]],
               "per_rank_peak_rss_mb": [max(r["per_rank"][i]["peak_rss_mb"] for r in v) for i in range(k)]}
           for k, v in runs["simulation"].items()}
    for k in sim:
        sim[k]["speedup"] = sim[first]["wall_s_median"] / sim[k]["wall_s_median"]
    digests = {r["spike_digest"] for v in runs["simulation"].values() for r in v}
    lm = {k: {"tokens_per_s_median": statistics.median(r["tokens_per_s"] for r in v),
              "tokens_per_s_runs": [r["tokens_per_s"] for r in v]} for k, v in runs["training"].items() if v}
    for k in lm:
        lm[k]["speedup"] = lm[k]["tokens_per_s_median"] / lm[first]["tokens_per_s_median"]
    result = {"network": {"model": "cuba", "n": args.n, "duration_s": args.duration, "delay_ms": args.delay},
              "simulation": sim, "same_spikes_for_every_rank_count": len(digests) == 1,
              "training": {"preset": "tiny", "steps": args.lm_steps, "ranks": lm}, "rounds": args.rounds,
              "threads_per_rank": 1, "machine_load": load.result()}
    print(f"CUBA {args.n} neurons, {sim[first]['synapses']} synapses, {args.duration:g} s, delay {args.delay:g} ms, "
          f"{sim[first]['rate_hz']:.2f} Hz; same spikes on every rank count: {len(digests) == 1}")
    print(f"{'ranks':>5} {'wall s':>8} {'speed-up':>8} {'exchanges':>9} {'spikes/exch':>11} {'bytes/exch':>10} "
          f"{'peak MB/rank':>12} {'LM tok/s':>9} {'LM speed-up':>11}")
    for k in args.ranks:
        s, t = sim[k], lm.get(k, {})
        print(f"{k:>5} {s['wall_s_median']:>8.2f} {s['speedup']:>8.2f} {s['exchanges']:>9} "
              f"{s['spikes_per_exchange']:>11.1f} {s['bytes_per_exchange']:>10.0f} "
              f"{max(s['per_rank_peak_rss_mb']):>12.0f} {t.get('tokens_per_s_median', float('nan')):>9.0f} "
              f"{t.get('speedup', float('nan')):>11.2f}")
    print(f"machine load: {result['machine_load']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
