"""Independent check against NEST (``benchmarks/_nest_peer.py``).

Runs only where NEST is installed (``pip install .[bench]``). The peer's
CUBA must fire at the published rate and at eventsnn's; and NEST's network,
run by eventsnn with NEST's one-step synaptic delay and one-step longer
refractory clamp, must give the same spikes, which checks the conversion of
the weights from mV to pA.
"""
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

import eventsnn as esnn
from eventsnn.reference_networks import cuba

nest = pytest.importorskip("nest")
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from _nest_peer import RESOLUTION_MS, build_cuba, connection_indices, reset_kernel, run_nest_cuba  # noqa: E402


def test_nest_cuba_rate_matches_published_and_eventsnn():
    theirs = run_nest_cuba(4000, 1.0, seed=1)
    ours = cuba(4000, seed=1)
    ours.network.run(1000.0)
    ours_hz = ours.spikes.num_spikes / 4000
    assert 4.5 < theirs["rate_hz"] < 6.8  # published 5.5-5.7 Hz, widened for one realisation of 1 s
    assert abs(theirs["rate_hz"] - ours_hz) < 0.15 * ours_hz
    assert theirs["syn_events_exact"] and theirs["synapses"] == pytest.approx(4000 * 80, rel=0.02)


def test_same_network_same_spikes_as_nest():
    n, duration = 1000, 200.0
    reset_kernel(nest, seed=3)
    neurons, recorder = build_cuba(nest, n, 80.0)
    v0 = np.asarray(neurons.get("V_m"), float)
    n_exc = int(0.8 * n)
    exc = connection_indices(nest, neurons, neurons[:n_exc], ("source", "target"))
    inh = connection_indices(nest, neurons, neurons[n_exc:], ("source", "target"))
    nest.Simulate(duration)
    ev = recorder.events
    # NEST stamps a spike with the end of the step in which V_m crossed threshold; eventsnn with the step itself
    theirs = sorted(zip((np.rint(np.asarray(ev["times"]) / RESOLUTION_MS).astype(int) - 1).tolist(),
                        (np.asarray(ev["senders"]) - neurons[0].global_id).tolist()))

    model = cuba(n).neurons.model
    pop = esnn.Population(n, dataclasses.replace(model, t_ref=model.t_ref + RESOLUTION_MS))
    pop["v"] = v0
    ce = esnn.Sparse.from_arrays(pop, pop, *exc, weight=1.62, delay=RESOLUTION_MS, target="exc")
    ci = esnn.Sparse.from_arrays(pop, pop, *inh, weight=-9.0, delay=RESOLUTION_MS, target="inh")
    mon = esnn.SpikeMonitor(pop)
    esnn.Network(pop, ce, ci, mon, dt=RESOLUTION_MS).run(duration)
    mine = sorted(zip(mon.steps.tolist(), mon.i.tolist()))
    assert len(theirs) > 500
    assert mine == theirs
