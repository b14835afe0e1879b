"""A float LIF network converted to Loihi integers (eventsnn.loihi.convert): how close, and what is refused."""
import pytest

import eventsnn as esnn
from eventsnn.loihi.convert import spike_agreement, to_loihi


def _feedforward(tau_i=5.0, t_ref=0.0, model=None):
    inputs = esnn.Population(200, esnn.Poisson(rate=40.0), name="inputs")
    model = model or esnn.LIF(tau_m=20.0, tau_e=5.0, tau_i=tau_i, v_rest=-65.0, v_th=-50.0, v_reset=-65.0,
                              t_ref=t_ref)
    pop = esnn.Population(100, model, name="pop")
    exc = esnn.Sparse.fixed_probability(inputs[:160], pop, 0.2, weight=lambda r, m: r.uniform(0, 8, m), seed=1)
    inh = esnn.Sparse.fixed_probability(inputs[160:], pop, 0.2, weight=lambda r, m: -r.uniform(0, 8, m),
                                        target="inh", seed=2)
    return esnn.Network(inputs, pop, exc, inh, dt=0.1, seed=3), pop


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_converted_network_fires_like_the_float_one(backend):
    net, pop = _feedforward()
    loihi, copies = to_loihi(net, backend=backend)
    assert isinstance(copies[pop].model, esnn.loihi.LoihiLIF)
    float_spikes, fixed_spikes = net.add(esnn.SpikeMonitor(pop)), loihi.add(esnn.SpikeMonitor(copies[pop]))
    net.run(500.0)
    loihi.run(500.0)
    agreement = spike_agreement(float_spikes, fixed_spikes, window=1.0)
    assert float_spikes.num_spikes > 1000
    assert abs(fixed_spikes.num_spikes / float_spikes.num_spikes - 1.0) < 0.01
    assert agreement["count_correlation"] > 0.99 and agreement["coincidence"] > 0.9


def test_a_coarse_threshold_loses_spikes_to_rounding():
    net, pop = _feedforward()
    loihi, copies = to_loihi(net, vth=256)
    a, b = net.add(esnn.SpikeMonitor(pop)), loihi.add(esnn.SpikeMonitor(copies[pop]))
    net.run(200.0)
    loihi.run(200.0)
    assert spike_agreement(a, b)["coincidence"] < 0.5


def test_a_perfect_integrator_keeps_its_constant_current():
    pop = esnn.Population(20, esnn.IF(tau_m=10.0, v_th=-50.0, v_reset=-65.0), name="if")
    pop["I_ext"] = 2.0  # mV: reaches threshold in 75 ms
    net = esnn.Network(pop, dt=0.1)
    loihi, copies = to_loihi(net)
    a, b = net.add(esnn.SpikeMonitor(pop)), loihi.add(esnn.SpikeMonitor(copies[pop]))
    net.run(300.0)
    loihi.run(300.0)
    # Float: at 74.9, 149.9, 224.9 and 299.9 ms; Loihi fires above (not at) threshold, with the bias rounded
    # to its mantissa: one step later each period, at 75.0, 150.1 and 225.2 ms.
    assert a.num_spikes == 20 * 4 and b.num_spikes == 20 * 3
    assert abs(b.t.min() - a.t.min()) <= 0.15 and abs(b.t.max() - 225.0) <= 0.5


def test_populations_named_only_by_projections_are_converted():
    net, pop = _feedforward()
    bare = esnn.Network(*net.projections, dt=0.1)
    loihi, copies = to_loihi(bare)
    assert isinstance(copies[pop].model, esnn.loihi.LoihiLIF)


def test_what_loihi_cannot_run_is_refused_by_name():
    with pytest.raises(ValueError, match="t_ref"):
        to_loihi(_feedforward(t_ref=2.0)[0])
    with pytest.raises(ValueError, match="tau_i"):
        to_loihi(_feedforward(tau_i=10.0)[0])
    to_loihi(_feedforward(tau_i=10.0, t_ref=2.0)[0], approximate=True)
    with pytest.raises(ValueError, match="CondLIF"):
        to_loihi(_feedforward(model=esnn.CondLIF())[0])
    with pytest.raises(ValueError, match="vth"):
        to_loihi(_feedforward()[0], vth=1 << 17)
    net, pop = _feedforward()
    net.add(esnn.Sparse.from_arrays(pop, pop, [0], [1], 1.0, target="v"))
    with pytest.raises(ValueError, match="target 'v'"):
        to_loihi(net)
    net, _ = _feedforward()
    net.run(1.0)
    with pytest.raises(ValueError, match="run"):
        to_loihi(net)
