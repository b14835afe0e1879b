"""Song, Miller & Abbott (2000): STDP makes the weights bimodal and regulates the output rate.

As in Brian2's ``examples/synapses/STDP.py``: ``--inputs`` (1000) Poisson
inputs at ``--rate`` (15 Hz) drive one conductance-based integrate-and-fire
neuron, integrated with forward Euler at dt = 0.1 ms:

    tau_m dv/dt = ge (E_e - v) + v_rest - v,    dge/dt = -ge / tau_e,    v > v_th:  v <- v_reset
    tau_m = 10 ms, tau_e = 5 ms, E_e = 0 mV, v_rest = -74 mV, v_th = -54 mV, v_reset = -60 mV

Every input synapse is plastic: additive all-to-all STDP with
tau_plus = tau_minus = 20 ms, A_plus = 0.01 gmax, A_minus = 0.0105 gmax
(depression slightly stronger than potentiation), weights clipped to
[0, gmax], gmax = 0.01 (a conductance relative to the leak); initial weights
uniform in [0, gmax]. Expected (Song et al. 2000, Fig. 2): the weights are
driven towards the bounds (a bimodal distribution, its two modes at 0 and
gmax) and the output rate falls from its initial value to a lower, steady
one. The same inputs give Brian2's weights to 1e-9 gmax and its output
spikes (``tests/test_brian2_stdp.py``).

    python examples/stdp_song2000.py [--duration 100] [--seed 1] [--rate 15] [--json PATH] [--plot PATH]

The summary gives the output rate in the first and last ``window`` seconds
(10 s, or half the run if shorter), the fraction of weights in the bottom and
top tenth of [0, gmax], and a 10-bin histogram of w / gmax, called bimodal
when each outer bin holds more weights than any inner bin and more than
twice their mean. ``--json``
writes them with the output rate in each second, the final weights and the
weights of synapses 0 and 1 every 100 ms; ``--plot`` (default
``stdp_song2000.png``, "" for none) draws them when matplotlib is installed.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

import eventsnn as esnn
from eventsnn import Variable, parameter

DT = 0.1  # ms
GMAX = 0.01  # maximum weight: a conductance relative to the leak
TAU_STDP = 20.0  # ms, tau_plus = tau_minus
A_PLUS = 0.01 * GMAX
A_MINUS = 0.0105 * GMAX
BINS = 10  # histogram of w / gmax; "near 0" and "near gmax" are the outer bins
TRACE_EVERY = 100.0  # ms between samples of the traced weights


@dataclass(frozen=True, eq=False)
class SongNeuron(esnn.NeuronModel):
    """The conductance-based integrate-and-fire neuron of Brian2's STDP example, forward Euler
    (the update Brian2 generates for ``method='euler'``), no refractory period:
    tau_m dv/dt = ge (E_e - v) + v_rest - v (mV, ms), dge/dt = -ge/tau_e (ge relative to the leak),
    a spike when v > v_th, then v <- v_reset."""

    tau_m: float = parameter(10.0, "ms", positive=True)
    tau_e: float = parameter(5.0, "ms", positive=True)
    E_e: float = parameter(0.0, "mV")
    v_rest: float = parameter(-74.0, "mV")
    v_th: float = parameter(-54.0, "mV")
    v_reset: float = parameter(-60.0, "mV")

    variables: ClassVar = (Variable("v", "mV", "v_reset"), Variable("ge", "1"))
    targets: ClassVar = {"exc": "ge", "ge": "ge"}

    def check(self) -> None:
        esnn.neuron_model.require("v_reset", self.v_reset < self.v_th,
                                  f"must be below v_th = {self.v_th} mV", self.v_reset)

    def constants(self, dt):
        return {"dt": dt, "tau_m": self.tau_m, "tau_e": self.tau_e, "E_e": self.E_e, "v_rest": self.v_rest,
                "v_th": self.v_th, "v_reset": self.v_reset}

    @staticmethod
    def update(v, ge, dt, tau_m, tau_e, E_e, v_rest):
        return dt * (v_rest + ge * (E_e - v) - v) / tau_m + v, -dt * ge / tau_e + ge

    @staticmethod
    def threshold(v, v_th):
        return v > v_th

    @staticmethod
    def after_spike(v, ge, v_reset):
        return v_reset, ge


def stdp_rule() -> esnn.STDP:
    """The additive all-to-all rule of Brian2's example (A_plus = dApre, A_minus = -dApost)."""
    return esnn.STDP(tau_plus=TAU_STDP, tau_minus=TAU_STDP, A_plus=A_PLUS, A_minus=A_MINUS, w_min=0.0, w_max=GMAX,
                     weight_dependence="additive", pairing="all_to_all")


def simulate(duration_s: float = 100.0, seed: int = 1, rate_hz: float = 15.0, n_inputs: int = 1000,
             backend: str = "numba") -> dict:
    """Run the network for ``duration_s`` simulated seconds.

    Returns the steps of the output spikes (``spike_steps``), the final weights
    (``weights``), the weights of synapses 0 and 1 every TRACE_EVERY ms
    (``trace_t_ms``, ``trace_w``) and the loop's wall time (``wall_s``).
    """
    inputs = esnn.Population(n_inputs, esnn.Poisson(rate=rate_hz), name="inputs")
    neuron = esnn.Population(1, SongNeuron(), name="neuron")
    w0 = np.random.default_rng(seed).uniform(0.0, GMAX, n_inputs)
    proj = esnn.Sparse.from_arrays(inputs, neuron, np.arange(n_inputs), np.zeros(n_inputs, np.int64), weight=w0,
                                   target="exc", plasticity=stdp_rule())
    spikes = esnn.SpikeMonitor(neuron)
    trace = esnn.SynapseMonitor(proj, "weight", indices=[0, 1], every=int(round(TRACE_EVERY / DT)))
    net = esnn.Network(inputs, neuron, proj, spikes, trace, dt=DT, seed=seed, backend=backend)
    start = time.perf_counter()
    net.run(duration_s * 1000.0)
    wall_s = time.perf_counter() - start
    return {"spike_steps": spikes.steps, "weights": np.array(proj.weight), "trace_t_ms": trace.t,
            "trace_w": trace.values, "wall_s": wall_s}


def summarise(sim: dict, duration_s: float) -> dict:
    """Output rates (first and last window, every second) and the weight distribution, as JSON-ready values."""
    steps, per_s = sim["spike_steps"], int(round(1000.0 / DT))
    n_steps = int(round(duration_s * per_s))
    window = min(10.0, duration_s / 2)
    in_window = int(round(window * per_s))
    seconds = -(-n_steps // per_s)
    per_second = np.bincount(steps // per_s, minlength=seconds) / np.minimum(1.0, duration_s - np.arange(seconds))
    w = sim["weights"] / GMAX
    counts = np.histogram(w, bins=BINS, range=(0.0, 1.0))[0]
    near_zero, near_max = counts[0] / w.size, counts[-1] / w.size
    return {
        "duration_s": duration_s,
        "window_s": window,
        "rate_first_hz": float(np.sum(steps < in_window) / window),
        "rate_last_hz": float(np.sum(steps >= n_steps - in_window) / window),
        "rate_per_second_hz": per_second.tolist(),
        "output_spikes": int(steps.size),
        "gmax": GMAX,
        "fraction_near_zero": float(near_zero),
        "fraction_near_max": float(near_max),
        "mean_weight_over_gmax": float(w.mean()),
        "weight_histogram": {"edges_over_gmax": np.linspace(0.0, 1.0, BINS + 1).tolist(), "counts": counts.tolist()},
        "bimodal": bool(min(counts[0], counts[-1]) > max(counts[1:-1].max(), 2 * counts[1:-1].mean())),
        "final_weights": sim["weights"].tolist(),
        "trace_t_ms": np.asarray(sim["trace_t_ms"]).tolist(),
        "trace_w": np.asarray(sim["trace_w"]).tolist(),
        "wall_s": sim["wall_s"],
    }


def plot(result: dict, path: str) -> None:
    """Brian2's three panels (final w / gmax per synapse, its histogram, w of synapses 0 and 1) and the output rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = np.asarray(result["final_weights"]) / GMAX
    fig, axes = plt.subplots(4, 1, figsize=(7, 10))
    axes[0].plot(w, ".k", ms=2)
    axes[0].set(xlabel="synapse index", ylabel="w / gmax")
    axes[1].hist(w, bins=BINS * 2, range=(0.0, 1.0), color="k")
    axes[1].set(xlabel="w / gmax", ylabel="synapses")
    axes[2].plot(np.asarray(result["trace_t_ms"]) / 1000.0, np.asarray(result["trace_w"]) / GMAX)
    axes[2].set(xlabel="time (s)", ylabel="w / gmax (synapses 0, 1)")
    axes[3].plot(np.arange(len(result["rate_per_second_hz"])) + 0.5, result["rate_per_second_hz"], "k")
    axes[3].set(xlabel="time (s)", ylabel="output rate (Hz)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=100.0, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1, help="seeds the initial weights and the Poisson inputs")
    parser.add_argument("--rate", type=float, default=15.0, help="input rate (Hz)")
    parser.add_argument("--inputs", type=int, default=1000, help="number of Poisson inputs")
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy", "cuda"])
    parser.add_argument("--json", help="write the summary, rates and weights here")
    parser.add_argument("--plot", default="stdp_song2000.png", help='PNG to write if matplotlib is installed ("": none)')
    args = parser.parse_args(argv)
    if args.duration <= 0:
        parser.error(f"--duration must be > 0 s, got {args.duration}")
    result = summarise(simulate(args.duration, args.seed, args.rate, args.inputs, args.backend), args.duration)
    result.update(seed=args.seed, input_rate_hz=args.rate, inputs=args.inputs)
    print(f"Song, Miller & Abbott (2000): {args.inputs} Poisson inputs at {args.rate:g} Hz, additive STDP, "
          f"{args.duration:g} s simulated in {result['wall_s']:.1f} s")
    print(f"output rate: {result['rate_first_hz']:.1f} Hz in the first {result['window_s']:g} s, "
          f"{result['rate_last_hz']:.1f} Hz in the last {result['window_s']:g} s")
    print(f"weights: {100 * result['fraction_near_zero']:.1f}% below 0.1 gmax, "
          f"{100 * result['fraction_near_max']:.1f}% above 0.9 gmax, mean {result['mean_weight_over_gmax']:.3f} gmax; "
          f"bimodal: {'yes' if result['bimodal'] else 'no'}")
    print("histogram of w / gmax (10 bins from 0 to 1):", " ".join(map(str, result["weight_histogram"]["counts"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"results written to {args.json}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        print("matplotlib is not installed: no figure")
    elif args.plot:
        plot(result, args.plot)
        print(f"figure written to {args.plot}")
    return result


if __name__ == "__main__":
    main()
