"""Brette et al. (2007) benchmark 2 (CUBA), as in Brian2's example.

4000 LIF neurons (3200 excitatory, 800 inhibitory), connection probability
0.02, exponential current synapses. Brian2 and NEST give 5.5-5.7 Hz.

    python examples/cuba.py [--duration 1000] [--backend numba|numpy|cuda] [--threads N] [--json run.json]
                            [--plot cuba.png]
    mpiexec -n 2 python examples/cuba.py --delay 0.1 --threads 1 --json run.json

``--json`` writes the summary with ``spikes`` (the count) and
``spike_digest`` (:func:`eventsnn.spike_digest`), the same for any
``--threads`` and, with ``--delay`` of at least one step, any number of MPI
ranks (rank 0 prints and writes it).
"""
import argparse
import json
import time
from pathlib import Path

from eventsnn import mpi, spike_digest
from eventsnn.reference_networks import cuba


def main(build=cuba, name="CUBA") -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4000, help="number of neurons")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated time in ms")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy", "cuda"])
    parser.add_argument("--threads", type=int, default=None, help="Numba threads (default: Numba's count)")
    parser.add_argument("--delay", type=float, default=0.0, help="synaptic delay in ms (under MPI: at least dt)")
    parser.add_argument("--json", help="write the summary and the spike digest here")
    parser.add_argument("--plot", help="write a spike raster PNG here (needs matplotlib)")
    args = parser.parse_args()
    bench = build(args.n, seed=args.seed, backend=args.backend, delay=args.delay)
    bench.network.threads = args.threads
    start = time.perf_counter()
    bench.network.run(args.duration)
    wall = time.perf_counter() - start
    spikes = bench.spikes.num_spikes
    rate = spikes / args.n / (args.duration / 1000.0)
    synapses = sum(pr.n_synapses for pr in bench.network.projections)
    if mpi.rank() != 0:
        return
    print(f"{name}: {args.n} neurons, {synapses} synapses, {args.duration:g} ms simulated")
    print(f"mean rate {rate:.2f} Hz, {spikes} spikes; "
          f"build {bench.network.build_seconds:.2f} s, run {wall:.2f} s ({args.backend}, first run includes compilation)")
    if args.json:
        summary = {"network": name, "n": args.n, "synapses": int(synapses), "duration_ms": args.duration,
                   "seed": args.seed, "backend": args.backend, "threads": args.threads, "delay_ms": args.delay,
                   "ranks": mpi.launched_size(), "rate_hz": rate,
                   "build_s": bench.network.build_seconds, "run_s": wall, "spikes": spikes,
                   "spike_digest": spike_digest(bench.spikes.steps, bench.spikes.i)}
        Path(args.json).write_text(json.dumps(summary, indent=2))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4))
        ax.plot(bench.spikes.t, bench.spikes.i, ",k")
        ax.set(xlabel="time (ms)", ylabel="neuron", title=f"{name}, {rate:.2f} Hz")
        fig.savefig(args.plot, dpi=120)
        print(f"raster written to {args.plot}")


if __name__ == "__main__":
    main()
