"""Neuron dynamics against their analytic solutions (property-based)."""
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import eventsnn as esnn
from eventsnn import testing
from eventsnn.testing import lif_models

DT = 0.1


def run_single(model, steps, i_ext=0.0, i_e=0.0, i_i=0.0, v0=None, backend="numba"):
    pop = esnn.Population(1, model)
    pop["I_ext"] = i_ext
    if i_e or i_i:
        pop["I_e"], pop["I_i"] = i_e, i_i
    if v0 is not None:
        pop["v"] = v0
    v = esnn.StateMonitor(pop, "v")
    spikes = esnn.SpikeMonitor(pop)
    net = esnn.Network(pop, v, spikes, dt=DT, backend=backend)
    net.run(steps * DT)
    return v.values[:, 0], spikes.steps


def lif_analytic(m, t, v0, i_ext, i_e, i_i):
    """Closed-form subthreshold LIF membrane with exponential current synapses."""
    def kernel(tau_s):
        if abs(tau_s - m.tau_m) < 1e-6:  # the degenerate form, accurate to O(tau_s - tau_m)
            return t / m.tau_m * np.exp(-t / m.tau_m)
        return tau_s / (tau_s - m.tau_m) * (np.exp(-t / tau_s) - np.exp(-t / m.tau_m))
    return (m.v_rest + i_ext + (v0 - m.v_rest - i_ext) * np.exp(-t / m.tau_m)
            + i_e * kernel(m.tau_e) + i_i * kernel(m.tau_i))


@given(lif_models(), st.floats(-20, 20), st.floats(-20, 20), st.floats(-20, 20), st.floats(-10, 10))
def test_subthreshold_lif_equals_analytic_solution(model, i_ext, i_e, i_i, dv0):
    model = esnn.LIF(**{**model.__dict__, "v_th": 1e6})  # never fires
    v0 = model.v_rest + dv0
    v, spikes = run_single(model, 300, i_ext, i_e, i_i, v0)
    t = np.arange(300) * DT
    np.testing.assert_allclose(v, lif_analytic(model, t, v0, i_ext, i_e, i_i), rtol=1e-10, atol=1e-9)
    assert spikes.size == 0


def test_equal_synaptic_and_membrane_time_constants_are_exact():
    model = esnn.LIF(tau_m=10.0, tau_e=10.0, tau_i=10.0 + 1e-9, v_th=1e6)
    v, _ = run_single(model, 200, 0.0, 5.0, -3.0, model.v_rest)
    t = np.arange(200) * DT
    np.testing.assert_allclose(v, lif_analytic(model, t, model.v_rest, 0.0, 5.0, -3.0), rtol=1e-9, atol=1e-9)


@given(lif_models(refractory=False), st.floats(1.0, 40.0))
def test_spikes_exactly_when_threshold_is_crossed(model, drive):
    """The first spike falls in the first step whose exact end value reaches v_th."""
    model = esnn.LIF(**{**model.__dict__, "reset": "hard"})
    i_ext = (model.v_th - model.v_rest) + drive  # suprathreshold
    t_end = (np.arange(1, 2001)) * DT
    v_end = lif_analytic(model, t_end, model.v_rest, i_ext, 0.0, 0.0)
    first = int(np.argmax(v_end >= model.v_th))
    assume(v_end[first] >= model.v_th and abs(v_end[first] - model.v_th) > 1e-9)
    assume(first == 0 or abs(v_end[first - 1] - model.v_th) > 1e-9)
    _, spikes = run_single(model, first + 1, i_ext, v0=model.v_rest)
    assert spikes.tolist() == [first]


@given(lif_models(), st.floats(1.0, 40.0))
def test_f_i_curve_matches_analytic_rate_within_one_step(model, drive):
    """Under constant current the inter-spike interval is t_ref + tau_m ln((I+E_L-v_r)/(I+E_L-v_th)),
    to within one step (t_ref taken as the whole steps it lasts)."""
    model = esnn.LIF(**{**model.__dict__, "reset": "hard"})
    i_ext = (model.v_th - model.v_rest) + drive
    t_star = model.tau_m * math.log((model.v_rest + i_ext - model.v_reset) / (model.v_rest + i_ext - model.v_th))
    isi = round(model.t_ref / DT) * DT + t_star
    _, spikes = run_single(model, int(6 * isi / DT) + 20, i_ext, v0=model.v_reset)
    measured = np.diff(spikes) * DT
    assert measured.size >= 3
    assert np.all(np.abs(measured - isi) <= DT + 1e-9), (measured, isi)


@given(lif_models(), st.integers(0, 2**16))
def test_no_spike_inside_the_refractory_period(model, seed):
    pop = esnn.Population(20, model)
    drive = esnn.Population(20, esnn.Poisson(rate=2000.0))
    proj = esnn.Sparse.fixed_probability(drive, pop, 0.5, weight=model.v_th - model.v_rest, target="v", seed=seed)
    mon = esnn.SpikeMonitor(pop)
    net = esnn.Network(pop, drive, proj, mon, dt=DT, seed=seed)
    net.run(50.0)
    n_ref = round(model.t_ref / DT)
    assert mon.num_spikes > 0
    for train in np.split(mon.steps[np.argsort(mon.i, kind="stable")], np.cumsum(mon.count)[:-1]):
        assert np.all(np.diff(train) >= max(n_ref, 1))


def test_alif_threshold_adapts_and_recovers():
    model = esnn.ALIF(v_rest=-65.0, v_th=-50.0, v_reset=-65.0, tau_a=50.0, beta=3.0)
    _, spikes = run_single(model, 3000, i_ext=30.0, v0=-65.0)
    isi = np.diff(spikes)
    assert isi[-1] > isi[0]  # spike-frequency adaptation
    lif_spikes = run_single(esnn.LIF(v_rest=-65.0, v_th=-50.0, v_reset=-65.0), 3000, i_ext=30.0, v0=-65.0)[1]
    assert lif_spikes.size > spikes.size


def test_if_integrates_without_leak():
    model = esnn.IF(tau_m=10.0, v_th=1e6, v_reset=0.0)
    v, _ = run_single(model, 101, i_ext=2.0, v0=0.0)
    np.testing.assert_allclose(v[100], 2.0 * 10.0 / 10.0, rtol=1e-12)  # dv/dt = I/tau_m for 10 ms


def test_coba_relaxes_to_leak_reversal():
    v, _ = run_single(esnn.CondLIF(v_th=1e6), 50, v0=-70.0)
    np.testing.assert_allclose(v, -60.0 + (-70.0 + 60.0) * np.exp(-np.arange(50) * DT / 20.0), rtol=1e-12)


def test_coba_conductance_pulls_towards_its_reversal_potential():
    pop = esnn.Population(1, esnn.CondLIF(v_th=1e6))
    pop["g_e"] = 2.0  # decays with tau_e = 5 ms
    v = esnn.StateMonitor(pop, "v")
    esnn.Network(pop, v, dt=DT).run(5.0)
    assert v.values[-1, 0] > -60.0 + 5.0


def test_izhikevich_regular_spiking_fires_tonically():
    _, spikes = run_single(esnn.Izhikevich(), 10000, i_ext=10.0)
    assert 5 <= spikes.size <= 30  # about 10-15 Hz for I = 10 over 1 s
    assert np.diff(spikes)[-1] >= np.diff(spikes)[0]


@pytest.mark.parametrize("model_cls, field, value", [
    (esnn.LIF, "tau_m", -1.0), (esnn.LIF, "tau_e", 0.0), (esnn.LIF, "v_th", float("nan")),
    (esnn.LIF, "t_ref", -0.5), (esnn.LIF, "reset", "soft"), (esnn.ALIF, "tau_a", -3.0),
    (esnn.CondLIF, "tau_i", float("inf")), (esnn.Izhikevich, "a", float("nan")), (esnn.Poisson, "rate", -1.0),
])
def test_invalid_parameters_name_the_parameter_and_value(model_cls, field, value):
    with pytest.raises(ValueError, match=field) as err:
        model_cls(**{field: value})
    assert str(value) in str(err.value)


@pytest.mark.parametrize("call, message", [
    (lambda: testing.time_constants(-1.0, 5.0), "min_ms must be > 0, got -1.0"),
    (lambda: testing.time_constants(10.0, 1.0), "max_ms must be >= min_ms = 10.0, got 1.0"),
    (lambda: testing.spike_trains(0, 10), "n must be >= 1, got 0"),
    (lambda: testing.plasticity_rules(1.0, 0.0), "w_max must be > w_min = 1.0, got 0.0"),
    (lambda: testing.build_network("x"), "spec must be a NetworkSpec"),
    (lambda: given(testing.network_specs(max_size=0))(lambda spec: None)(), "max_size must be >= 1, got 0"),
    (lambda: given(testing.network_specs(max_duration=0.5))(lambda spec: None)(), "max_duration must be >= 1.0 ms"),
])
def test_the_testing_strategies_refuse_arguments_that_would_draw_invalid_values(call, message):
    with pytest.raises(ValueError, match=message):
        call()
