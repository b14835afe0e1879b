"""Firing patterns of the AdEx neuron (Naud, Marcille, Clopath & Gerstner 2008).

Eight single AdEx neurons (``eventsnn.AdEx``, Brette & Gerstner 2005), one
population each, receive a step current at t = 50 ms and are simulated for
550 ms with forward Euler at dt = 0.1 ms:

    C dv/dt = -g_L (v - E_L) + g_L Delta_T exp((v - V_T)/Delta_T) - w + I
    tau_w dw/dt = a (v - E_L) - w
    v >= V_peak:  v <- V_reset,  w <- w + b

Parameters (C in pF, g_L and a in nS, potentials in mV, tau_w in ms, b and
the step current I in pA; Delta_T = 2 mV, V_T = -50 mV, V_peak = 0 mV,
t_ref = 0 for all) are those of Naud et al. (2008), Biol Cybern 99:335-347,
Table 1 and Fig. 4, as published in Brian2's example
``examples/frompapers/Naud_et_al_2008_adex_firing_patterns.py`` (Schmitt &
Billaudelle 2022), which notes that they were adapted by P. Müller to match
the paper's figures:

    pattern                    C    g_L  E_L    a   tau_w    b  V_reset    I
    tonic                    200    10   -70    2     30     0    -58     500
    adapting                 200    12   -70    2    300    60    -58     500
    initial_burst            130    18   -58    4    150   120    -50     400
    regular_bursting         200    10   -58    2    120   100    -46     210
    delayed_accelerating     200    12   -70  -10    300     0    -58     300
    delayed_regular_bursting 100    10   -65  -10     90    30    -47     110
    transient                100    10   -65   10     90   100    -47     180
    irregular                100    12   -60  -11    130    30    -48     160

:func:`classify` names the pattern of a spike train from its interspike
intervals (ISIs); the script prints, for each neuron, its spike count, first
ISIs and whether the classification matches the intended pattern.

    python examples/adex_patterns.py [--json PATH] [--plot PATH.png] [--backend numba|numpy|cuda]

``--json`` writes {"patterns": {name: {"spike_times_ms": [...],
"parameters": {...}, "current_pA": I}}}; ``--plot`` draws the membrane
potentials (needs matplotlib).
"""
from __future__ import annotations

import argparse
import json

import numpy as np

import eventsnn as esnn

DT = 0.1  # ms
ONSET = 50.0  # ms, the step current switches on
DURATION = 550.0  # ms, whole simulation
COMMON = {"V_T": -50.0, "Delta_T": 2.0, "V_peak": 0.0, "t_ref": 0.0}  # mV, mV, mV, ms
# name: C (pF), g_L (nS), E_L (mV), a (nS), tau_w (ms), b (pA), V_reset (mV), I (pA)
_TABLE = {
    "tonic": (200.0, 10.0, -70.0, 2.0, 30.0, 0.0, -58.0, 500.0),
    "adapting": (200.0, 12.0, -70.0, 2.0, 300.0, 60.0, -58.0, 500.0),
    "initial_burst": (130.0, 18.0, -58.0, 4.0, 150.0, 120.0, -50.0, 400.0),
    "regular_bursting": (200.0, 10.0, -58.0, 2.0, 120.0, 100.0, -46.0, 210.0),
    "delayed_accelerating": (200.0, 12.0, -70.0, -10.0, 300.0, 0.0, -58.0, 300.0),
    "delayed_regular_bursting": (100.0, 10.0, -65.0, -10.0, 90.0, 30.0, -47.0, 110.0),
    "transient": (100.0, 10.0, -65.0, 10.0, 90.0, 100.0, -47.0, 180.0),
    "irregular": (100.0, 12.0, -60.0, -11.0, 130.0, 30.0, -48.0, 160.0),
}
PATTERNS: dict[str, dict[str, float]] = {
    name: {**dict(zip(("C", "g_L", "E_L", "a", "tau_w", "b", "V_reset"), row[:7])), **COMMON}
    for name, row in _TABLE.items()
}
"""AdEx parameters (keyword arguments of ``eventsnn.AdEx``) of each pattern."""
CURRENTS: dict[str, float] = {name: row[7] for name, row in _TABLE.items()}
"""Step current (pA) of each pattern."""


def simulate(dt: float = DT, backend: str = "numba", record_v: bool = False) -> dict | tuple[dict, dict]:
    """Run every pattern's neuron: step current from ONSET, DURATION ms in all.

    Returns {name: spike times (ms)} and, with ``record_v``, also
    {name: (t, v)}: each neuron's membrane potential (mV) at every step.
    """
    net = esnn.Network(dt=dt, backend=backend)
    pops, spikes, traces = {}, {}, {}
    for name, params in PATTERNS.items():
        pops[name] = net.add(esnn.Population(1, esnn.AdEx(**params), name=name))
        spikes[name] = net.add(esnn.SpikeMonitor(pops[name]))
        if record_v:
            traces[name] = net.add(esnn.StateMonitor(pops[name], "v"))
    net.run(ONSET)
    for name, pop in pops.items():
        pop["I_ext"] = CURRENTS[name]
    net.run(DURATION - ONSET)
    times = {name: mon.t for name, mon in spikes.items()}
    if record_v:
        return times, {name: (mon.t, mon.values[:, 0]) for name, mon in traces.items()}
    return times


def adaptation_index(isi: np.ndarray) -> float:
    """Mean of (ISI_k+1 - ISI_k)/(ISI_k+1 + ISI_k) (Naud et al. 2008): > 0 slowing down, < 0 speeding up."""
    return float(np.mean(np.diff(isi) / (isi[1:] + isi[:-1])))


def _cv(x: np.ndarray) -> float:
    """Coefficient of variation: standard deviation / mean."""
    return float(np.std(x) / np.mean(x))


def classify(spike_times: np.ndarray, onset: float = ONSET, end: float = DURATION) -> str:
    """Name the firing pattern of a response to a step current at ``onset`` (ms) lasting until ``end``.

    A burst ends where an ISI is more than 3 times the one before (a jump);
    steady adaptation never lengthens an ISI that much at once.

    - ``silent``: no spike; ``transient``: spikes only in the first 100 ms after onset;
    - no jump: ``delayed_accelerating`` when the first spike comes more than
      25 ms after onset and the ISIs shorten (adaptation index < 0, the last
      ISI below 0.8 times the first), ``adapting`` when they lengthen
      (adaptation index > 0.05), ``tonic`` when the longest ISI is within
      20% of the shortest;
    - one jump, after which the ISIs are regular (the ones after the first
      long one have a coefficient of variation, CV, below 0.05): ``initial_burst``;
    - at least two jumps and the inter-burst ISIs regular (CV < 0.05):
      ``regular_bursting``, or ``delayed_regular_bursting`` when the first
      spike comes more than 25 ms after onset;
    - anything else: ``irregular``.
    """
    t = np.asarray(spike_times, dtype=float)
    if t.size == 0:
        return "silent"
    if t[-1] < onset + 100.0 < end:
        return "transient"
    isi = np.diff(t)
    if isi.size < 3:
        return "irregular"
    delayed = t[0] - onset > 25.0
    jumps = np.flatnonzero(isi[1:] > 3.0 * isi[:-1]) + 1
    if jumps.size == 0:
        if delayed and adaptation_index(isi) < 0.0 and isi[-1] < 0.8 * isi[0]:
            return "delayed_accelerating"
        if adaptation_index(isi) > 0.05:
            return "adapting"
        if not delayed and isi.max() < 1.2 * isi.min():
            return "tonic"
    elif jumps.size == 1 and isi.size - jumps[0] >= 4 and _cv(isi[jumps[0] + 1:]) < 0.05:
        return "initial_burst"
    elif jumps.size >= 2 and _cv(isi[jumps]) < 0.05:
        return "delayed_regular_bursting" if delayed else "regular_bursting"
    return "irregular"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the spike times, parameters and currents here")
    parser.add_argument("--plot", help="write the membrane potentials as a PNG here (needs matplotlib)")
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy", "cuda"])
    args = parser.parse_args()
    times, traces = simulate(backend=args.backend, record_v=True)
    print(f"AdEx firing patterns (Naud et al. 2008): step current at {ONSET:g} ms, {DURATION:g} ms, dt {DT} ms")
    print(f"{'pattern':26s} {'spikes':>6s}  {'classified as':26s} first ISIs (ms)")
    for name, t in times.items():
        found = classify(t)
        isi = " ".join(f"{x:.1f}" for x in np.diff(t)[:8])
        print(f"{name:26s} {t.size:6d}  {found:26s} {isi}  {'ok' if found == name else 'MISMATCH'}")
    if args.json:
        result = {"patterns": {name: {"spike_times_ms": [round(float(x), 6) for x in t],
                                      "parameters": PATTERNS[name], "current_pA": CURRENTS[name]}
                               for name, t in times.items()}}
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"spike times written to {args.json}")
    if args.plot:
        plot(times, traces, args.plot)
        print(f"figure written to {args.plot}")


def plot(times: dict, traces: dict, path: str) -> None:
    """One panel per pattern: v (mV) against time (ms), spikes drawn up to V_peak."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 2, figsize=(11, 9), sharex=True)
    for ax, (name, (t, v)) in zip(axes.T.ravel(), traces.items()):
        ax.plot(t, v, "k", lw=0.7)
        ax.vlines(times[name], v[np.rint(times[name] / DT).astype(int)], COMMON["V_peak"], "k", lw=0.7)
        ax.set_title(f"{name.replace('_', ' ')} ({CURRENTS[name]:g} pA)", fontsize=10)
        ax.set_ylabel("v (mV)")
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
