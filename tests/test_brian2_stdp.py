"""Independent check of STDP: the same input spikes in Brian2 give the same weights and output spikes.

Runs only where Brian2 is installed (``pip install .[bench]``). The network
is Brian2's ``examples/synapses/STDP.py`` on a shorter run: Poisson spike
trains drawn once with NumPy feed one conductance-based neuron
(``SongNeuron`` of ``examples/stdp_song2000.py``, forward Euler) through
plastic synapses, in Brian2 as a SpikeGeneratorGroup with event-driven
traces and in eventsnn as a SpikeGenerator with ``eventsnn.STDP``. The rule
maps as A_plus = dApre, A_minus = -dApost (Brian2's traces hold the
amplitudes; ours count spikes). After each of two runs the weights agree to
1e-9 gmax and the output spikes fall in the same steps.
"""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import eventsnn as esnn
from _examples import load_example

if importlib.util.find_spec("brian2") is None:
    pytest.skip("Brian2 is not installed (pip install .[bench])", allow_module_level=True)
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from _brian2_peer import _numpy_compat_shim  # noqa: E402

_numpy_compat_shim()  # Brian2 2.9 still calls ndarray.ptp, which NumPy 2.4 removed
import brian2 as b2  # noqa: E402

N, RATE, DT = 1000, 15.0, 0.1  # inputs, Hz, ms
RUNS = (1000.0, 2000.0)  # ms: weights compared after each run
GMAX, TAU, A_PLUS, A_MINUS = 0.01, 20.0, 0.01 * 0.01, 0.0105 * 0.01
V0 = -60.0  # mV, the neuron's initial potential on both sides

# Brian2's synapse: on_pre runs before on_post within a step; traces decay exactly between events.
BRIAN2_TRACES = """w : 1
                   dApre/dt = -Apre/taupre : 1 (event-driven)
                   dApost/dt = -Apost/taupost : 1 (event-driven)"""
UPDATE = {  # (on_pre weight update, on_post weight update)
    "additive": ("w = clip(w + Apost, 0, gmax)", "w = clip(w + Apre, 0, gmax)"),
    "multiplicative": ("w = clip(w + Apost * w / gmax, 0, gmax)", "w = clip(w + Apre * (gmax - w) / gmax, 0, gmax)"),
}
TRACE = {"all_to_all": ("Apre += dApre", "Apost += dApost"), "nearest": ("Apre = dApre", "Apost = dApost")}
CASES = [("additive", "all_to_all", False), ("additive", "nearest", False), ("multiplicative", "all_to_all", False),
         ("additive", "all_to_all", True)]


SongNeuron = load_example("stdp_song2000").SongNeuron


def inputs(seed: int, with_delays: bool):
    """Input spikes (steps, indices; at most one per neuron and step), initial weights, delays (ms)."""
    rng = np.random.default_rng(seed)
    steps, idx = np.nonzero(rng.random((int(round(sum(RUNS) / DT)), N)) < RATE * DT / 1000.0)
    w0 = rng.uniform(0.0, GMAX, N)
    delays = DT * rng.integers(0, 30, N) if with_delays else np.zeros(N)
    return steps, idx, w0, delays


def brian2_run(steps, idx, w0, delays, dependence: str, pairing: str):
    """Brian2's STDP example on these inputs: the weights after each run, the output spike steps."""
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT * b2.ms
    ms, mV = b2.ms, b2.mV
    ns = dict(taum=10 * ms, taue=5 * ms, Ee=0 * mV, El=-74 * mV, vt=-54 * mV, vr=-60 * mV, gmax=GMAX,
              taupre=TAU * ms, taupost=TAU * ms, dApre=A_PLUS, dApost=-A_MINUS)
    source = b2.SpikeGeneratorGroup(N, idx, steps * DT * ms)
    neuron = b2.NeuronGroup(1, """dv/dt = (ge * (Ee - v) + El - v) / taum : volt
                                  dge/dt = -ge / taue : 1""",
                            threshold="v > vt", reset="v = vr", method="euler", namespace=ns)
    neuron.v = V0 * mV
    (w_pre, w_post), (trace_pre, trace_post) = UPDATE[dependence], TRACE[pairing]
    syn = b2.Synapses(source, neuron, BRIAN2_TRACES, on_pre=f"ge += w\n{trace_pre}\n{w_pre}",
                      on_post=f"{trace_post}\n{w_post}", namespace=ns)
    syn.connect(i=np.arange(N), j=0)
    syn.w = w0
    syn.delay = delays * ms
    mon = b2.SpikeMonitor(neuron)
    net = b2.Network(source, neuron, syn, mon)
    weights = []
    for duration in RUNS:
        net.run(duration * ms)
        weights.append(np.array(syn.w))
    return weights, np.rint(np.array(mon.t / ms) / DT).astype(np.int64)


def eventsnn_run(steps, idx, w0, delays, dependence: str, pairing: str):
    """The same network in eventsnn: the weights after each run, the output spike steps."""
    source = esnn.Population(N, esnn.SpikeGenerator(indices=idx, times=steps * DT))
    neuron = esnn.Population(1, SongNeuron())
    neuron["v"] = V0
    rule = esnn.STDP(tau_plus=TAU, tau_minus=TAU, A_plus=A_PLUS, A_minus=A_MINUS, w_min=0.0, w_max=GMAX,
                     weight_dependence=dependence, pairing=pairing)
    proj = esnn.Sparse.from_arrays(source, neuron, np.arange(N), np.zeros(N, np.int64), weight=w0, delay=delays,
                                   target="exc", plasticity=rule)
    mon = esnn.SpikeMonitor(neuron)
    net = esnn.Network(source, neuron, proj, mon, dt=DT)
    weights = []
    for duration in RUNS:
        net.run(duration)
        weights.append(np.array(proj.weight))
    return weights, mon.steps


@pytest.mark.parametrize("dependence,pairing,with_delays", CASES,
                         ids=["additive", "nearest", "multiplicative", "additive-delays"])
def test_stdp_gives_brian2s_weights_and_spikes(dependence, pairing, with_delays):
    steps, idx, w0, delays = inputs(seed=3, with_delays=with_delays)
    theirs, their_spikes = brian2_run(steps, idx, w0, delays, dependence, pairing)
    mine, my_spikes = eventsnn_run(steps, idx, w0, delays, dependence, pairing)
    assert their_spikes.size > 50  # the neuron fires: both sides of the window are exercised
    assert np.abs(theirs[-1] - w0).mean() > 0.01 * GMAX  # the weights moved
    if dependence == "additive":  # clipping happened
        assert np.any((theirs[-1] == 0.0) | (theirs[-1] == GMAX))
    np.testing.assert_array_equal(my_spikes, their_spikes)
    for run, (a, b) in enumerate(zip(mine, theirs)):
        err = np.abs(a - b).max()
        assert err <= 1e-9 * GMAX, f"run {run + 1}: weights differ by {err / GMAX:.3g} gmax"
