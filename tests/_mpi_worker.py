"""Runs networks for tests/test_mpi.py, in one process or as one rank of ``mpiexec -n K``.

    python tests/_mpi_worker.py reference cuba|coba N DELAY_MS DURATION_MS OUT.json  (v lowered half-way)
    python tests/_mpi_worker.py drawn SPECS.pkl numba|numpy OUT.json
    python tests/_mpi_worker.py save cuba|coba N DELAY_MS DURATION_MS CKPT  (v lowered at the end)
    python tests/_mpi_worker.py resume CKPT DURATION_MS OUT.json
    python tests/_mpi_worker.py chunks cuba|coba N DELAY_MS EVERY_MS DURATION_MS CKPT  (saved after each chunk)
    python tests/_mpi_worker.py finish CKPT DURATION_MS OUT.json  (loaded, run until DURATION_MS in all)
    python tests/_mpi_worker.py refusals OUT.json

Rank 0 writes OUT.json: each run's spike digest (eventsnn.monitors.spike_digest of the (step, global
neuron) pairs), spike and synapse-event counts, a digest of the final state and of the sampled states,
and whether every rank ended with the same record (each rank computes it; they are compared here).
"""
from __future__ import annotations

import hashlib
import json
import pickle
import sys

import numpy as np

import eventsnn as esnn
from eventsnn import reference_networks
from eventsnn.mpi import rank, world
from eventsnn.testing import build_network


def digest(*arrays: np.ndarray) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


def spike_digest(steps: np.ndarray, neurons: np.ndarray) -> str:
    """SHA-256 of the (step, global neuron) pairs sorted by step then neuron, little-endian int64 [n, 2]."""
    order = np.lexsort((neurons, steps))
    return digest(np.stack([steps[order], neurons[order]], axis=1).astype("<i8"))


def summary(net: esnn.Network) -> dict:
    """What must not depend on the number of ranks."""
    spikes = [m for m in net.monitors if isinstance(m, esnn.SpikeMonitor)]
    offsets = {id(p): int(b) for p, b in zip(net.populations, np.cumsum([0] + [p.n for p in net.populations]))}
    steps = np.concatenate([m.steps for m in spikes])
    neurons = np.concatenate([offsets[id(m.view.population)] + m.view.start + m.i for m in spikes])
    sampled = [m.values for m in net.monitors if isinstance(m, esnn.StateMonitor)]
    rates = [m.counts for m in net.monitors if isinstance(m, esnn.RateMonitor)]
    result = {"spike_digest": spike_digest(steps, neurons), "spikes": int(steps.size),
              "spike_count": net.spike_count, "syn_events": net.syn_events, "step": net.step,
              "state": digest(*[p.state for p in net.populations], *[p.refractory for p in net.populations],
                              net.sim.ring()),
              "sampled": digest(*sampled), "rates": digest(*rates), "rate_spikes": [int(r.sum()) for r in rates]}
    comm = world()
    views = [result] if comm is None else comm.allgather(result)
    return {**result, "ranks": len(views), "ranks_agree": all(v == result for v in views)}


def reference(name: str, n: int, delay: float) -> esnn.Network:
    """A reference network with a sampled membrane, rate monitors (all of it: from spike counts; a part: from
    its spikes), a timed current into a quarter of it and a spike
    generator onto it (by synapses in no particular order within a row, where the reference network's
    rows ascend)."""
    bench = getattr(reference_networks, name)(n, delay=delay)
    cells, net = bench.neurons, bench.network
    generator = esnn.Population(20, esnn.SpikeGenerator(indices=np.tile(np.arange(20), 3),
                                                        times=np.repeat([5.0, 17.3, 29.9], 20) + np.tile(
                                                            0.1 * np.arange(20), 3)), name="generator")
    drive = cells["I_ext"][0] + np.linspace(0.0, 3.0, 30)
    rng = np.random.default_rng(5)
    net.add(esnn.Sparse.from_arrays(generator, cells, rng.integers(0, 20, 10 * n), rng.integers(0, n, 10 * n), 2.0,
                                    delay),
            esnn.TimedCurrent(cells[n // 4:n // 2], drive, dt=1.0), esnn.SpikeMonitor(generator),
            esnn.StateMonitor(cells, "v", indices=[0, n // 3, n - 1], every=7), esnn.RateMonitor(cells),
            esnn.RateMonitor(cells[n // 3:n // 2]))
    return net


def write(path: str, result) -> None:
    if rank() == 0:
        with open(path, "w") as f:
            json.dump(result, f)


def refusals() -> dict:
    """The message of each layout a distributed network refuses (run with more than one rank)."""
    def error(build) -> str:
        try:
            build().run(1.0)
        except (ValueError, NotImplementedError) as err:
            return f"{type(err).__name__}: {err}"
        return "no error"

    def tiny():
        return esnn.Network(esnn.Population(1, esnn.LIF(), name="one"))

    def instant():
        pop = esnn.Population(10, esnn.LIF(), name="cells")
        drive = esnn.Population(10, esnn.Poisson(rate=100.0), name="drive")
        return esnn.Network(esnn.Sparse.fixed_probability(drive, pop, 0.5, 1.0, delay=0.2, seed=1),
                            esnn.Sparse.fixed_probability(pop[:5], pop, 0.5, 1.0, delay=0.0, seed=2))

    def plastic():
        pop = esnn.Population(10, esnn.LIF(), name="cells")
        return esnn.Network(esnn.Sparse.fixed_probability(pop, pop, 0.5, 1.0, delay=0.2, seed=1,
                                                          plasticity=esnn.STDP(w_max=2.0)))

    return {"more_ranks_than_neurons": error(tiny), "zero_delay": error(instant), "plastic": error(plastic)}


def main(mode: str, *args: str) -> None:
    if mode == "reference":  # half the run, every membrane lowered by 0.5 mV (read and written), the other half
        name, n, delay, duration, out = args
        net = reference(name, int(n), float(delay))
        net.run(float(duration) / 2)
        net.populations[0]["v"] = net.populations[0]["v"] - 0.5
        net.run(float(duration) / 2)
        write(out, summary(net))
    elif mode == "drawn":
        specs, backend, out = args
        results = []
        for spec in pickle.load(open(specs, "rb")):
            net, _ = build_network(spec, backend)
            net.run(spec.duration)
            results.append(summary(net))
        write(out, results)
    elif mode == "save":  # the first half of "reference" (v lowered at the end), saved
        name, n, delay, duration, path = args
        net = reference(name, int(n), float(delay))
        net.run(float(duration))
        net.populations[0]["v"] = net.populations[0]["v"] - 0.5
        esnn.save(net, path)
    elif mode == "resume":
        path, duration, out = args
        net = esnn.load(path)
        net.run(float(duration))
        write(out, summary(net))
    elif mode == "chunks":
        name, n, delay, every, duration, path = args
        net = reference(name, int(n), float(delay))
        while net.t < float(duration) - 1e-9:
            net.run(float(every))
            esnn.save(net, path)
    elif mode == "finish":
        path, duration, out = args
        net = esnn.load(path)
        net.run(float(duration) - net.t)
        write(out, summary(net))
    elif mode == "refusals":
        write(args[0], refusals())
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
