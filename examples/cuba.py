"""Brette et al. (2007) benchmark 2 (CUBA), as in Brian2's example.

4000 LIF neurons (3200 excitatory, 800 inhibitory), connection probability
0.02, exponential current synapses. Brian2 and NEST give 5.5-5.7 Hz.

    python examples/cuba.py [--duration 1000] [--backend numba|numpy] [--plot cuba.png]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import eventsnn as esnn


def build_cuba(n: int = 4000, out_degree: float = 80.0, seed: int = 1, backend: str = "numba") -> tuple:
    """The CUBA network scaled to ``n`` neurons with mean out-degree ``out_degree``."""
    v_t, v_r = -50.0, -60.0
    model = esnn.LIF(tau_m=20.0, tau_e=5.0, tau_i=10.0, v_rest=-49.0, v_th=v_t, v_reset=v_r, t_ref=5.0)
    rng = np.random.default_rng(seed)
    neurons = esnn.Population(n, model, name="neurons")
    neurons["v"] = rng.uniform(v_r, v_t, n)
    n_exc = int(0.8 * n)
    p = out_degree / n
    exc = esnn.Sparse.fixed_probability(neurons[:n_exc], neurons, p, weight=60 * 0.27 / 10, target="exc", seed=rng)
    inh = esnn.Sparse.fixed_probability(neurons[n_exc:], neurons, p, weight=-20 * 4.5 / 10, target="inh", seed=rng)
    spikes = esnn.SpikeMonitor(neurons)
    net = esnn.Network(neurons, exc, inh, spikes, dt=0.1, seed=seed, backend=backend)
    return net, neurons, spikes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated time in ms")
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy"])
    parser.add_argument("--plot", help="write a spike raster PNG here (needs matplotlib)")
    args = parser.parse_args()
    net, neurons, spikes = build_cuba(backend=args.backend)
    start = time.perf_counter()
    net.run(args.duration)
    wall = time.perf_counter() - start
    rate = spikes.num_spikes / neurons.n / (args.duration / 1000.0)
    print(f"CUBA: {neurons.n} neurons, {net.sim.weight.size} synapses, {args.duration:g} ms simulated")
    print(f"mean rate {rate:.2f} Hz, {spikes.num_spikes} spikes, run {wall:.2f} s ({args.backend})")
    if args.plot:
        import matplotlib.pyplot as plt

        plt.figure(figsize=(8, 4))
        plt.plot(spikes.t, spikes.i, ",k")
        plt.xlabel("time (ms)")
        plt.ylabel("neuron")
        plt.title(f"CUBA, {rate:.2f} Hz")
        plt.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
