"""Plasticity: the STDP window, R-STDP against NEST's closed form, backends, monitors, checkpoints, bad input."""
import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eventsnn as esnn
from eventsnn import NeuronModel, Variable
from eventsnn.plasticity import (DECAY_COLUMNS, DECAY_STEPS, DOPAMINE, POST, PRE, RATE_MINUS, RATE_N, RATE_PLUS,
                                 catch_up, decay_table, trace_at)
from eventsnn.testing import build_network, network_specs, spike_record

DT = 0.1


@dataclass(frozen=True, eq=False)
class Relay(NeuronModel):
    """Fires one step after its ``drive`` rises above 0.5: imposes postsynaptic spike times.
    The plastic projection under test drives ``sink``, which does nothing."""

    variables: ClassVar = (Variable("v", "1"), Variable("sink", "1"))
    targets: ClassVar = {"drive": "v", "sink": "sink"}

    @staticmethod
    def update(v, sink):
        return v, sink

    @staticmethod
    def threshold(v):
        return v > 0.5

    @staticmethod
    def after_spike(v, sink):
        return 0.0, sink


def imposed(pre_steps, post_steps, rule, *, delay_steps=0, weight=0.0, dopamine_steps=(), backend="numba"):
    """One plastic synapse between a presynaptic neuron firing at ``pre_steps`` and a postsynaptic one
    firing at ``post_steps`` (R-STDP dopamine spikes at ``dopamine_steps``)."""
    gen = lambda steps: esnn.Population(1, esnn.SpikeGenerator(np.zeros(len(steps), np.int64),  # noqa: E731
                                                               np.asarray(steps, float) * DT))
    pre, teacher, post = gen(pre_steps), gen([s - 1 for s in post_steps]), esnn.Population(1, Relay())
    if dopamine_steps:
        rule = esnn.RSTDP(**rule.parameters(), dopamine=gen(dopamine_steps))
    proj = esnn.Sparse.from_arrays(pre, post, [0], [0], weight, delay_steps * DT, target="sink", plasticity=rule)
    spikes = esnn.SpikeMonitor(post)
    net = esnn.Network(proj, esnn.Sparse.from_arrays(teacher, post, [0], [0], 1.0, target="drive"), spikes,
                       dt=DT, backend=backend)
    return net, proj, spikes


def window(dt_ms: float, rule) -> float:
    """The weight change of one pair Δt = t_post - t_arrival apart, from weight 0 (additive)."""
    return rule.A_plus * math.exp(-dt_ms / rule.tau_plus) if dt_ms >= 0 else -rule.A_minus * math.exp(dt_ms / rule.tau_minus)


taus = st.floats(1.0, 100.0)
amplitudes = st.floats(1e-3, 1.0)


@settings(max_examples=60, deadline=None)
@given(pre=st.integers(0, 300), post=st.integers(1, 300), delay=st.integers(0, 20), tau_plus=taus, tau_minus=taus,
       A_plus=amplitudes, A_minus=amplitudes, pairing=st.sampled_from(["all_to_all", "nearest"]))
def test_one_pair_changes_the_weight_by_the_stdp_window(pre, post, delay, tau_plus, tau_minus, A_plus, A_minus,
                                                        pairing):
    rule = esnn.STDP(tau_plus=tau_plus, tau_minus=tau_minus, A_plus=A_plus, A_minus=A_minus, w_min=-10.0,
                     w_max=10.0, pairing=pairing)
    net, proj, spikes = imposed([pre], [post], rule, delay_steps=delay)
    net.run((max(pre + delay, post) + 2) * DT)
    assert spikes.steps.tolist() == [post]
    expected = window((post - pre - delay) * DT, rule)
    assert math.isclose(proj.weight[0], expected, rel_tol=1e-12, abs_tol=1e-300)


@settings(max_examples=30, deadline=None)
@given(pre=st.integers(0, 100), post=st.integers(1, 100), w0=st.floats(0.0, 1.0), causal_first=st.booleans())
def test_multiplicative_stdp_scales_the_window_by_the_distance_to_the_bound(pre, post, w0, causal_first):
    rule = esnn.STDP(A_plus=0.3, A_minus=0.2, w_min=0.0, w_max=1.0, weight_dependence="multiplicative")
    net, proj, _ = imposed([pre], [post], rule, weight=w0)
    net.run((max(pre, post) + 2) * DT)
    f = (1.0 - w0) if post >= pre else w0
    assert math.isclose(proj.weight[0] - w0, window((post - pre) * DT, rule) * f, rel_tol=1e-9, abs_tol=1e-15)


def test_all_to_all_sums_every_earlier_spike_and_nearest_takes_the_last():
    sums = {}
    for pairing in ("all_to_all", "nearest"):
        rule = esnn.STDP(A_plus=0.1, A_minus=0.0, w_min=-1.0, w_max=1.0, pairing=pairing)
        net, proj, _ = imposed([10, 50], [100], rule)
        net.run(12.0)
        sums[pairing] = proj.weight[0]
    assert math.isclose(sums["all_to_all"], 0.1 * (math.exp(-9.0 / 20) + math.exp(-5.0 / 20)), rel_tol=1e-12)
    assert math.isclose(sums["nearest"], 0.1 * math.exp(-5.0 / 20), rel_tol=1e-12)


def test_weights_stay_within_their_bounds():
    rule = esnn.STDP(A_plus=0.4, A_minus=0.4, w_min=0.0, w_max=1.0)
    net, proj, _ = imposed(list(range(0, 400, 20)), list(range(2, 400, 20)), rule, weight=0.5)
    net.run(41.0)
    assert proj.weight[0] == 1.0
    net, proj, _ = imposed(list(range(2, 400, 20)), list(range(1, 400, 20)), rule, weight=0.5)
    net.run(41.0)
    assert proj.weight[0] == 0.0


def rstdp_closed_form(rule, t1, t2, t3, t4, w0):
    """NEST's stdp_dopamine_synapse for a pre spike at t1, a post spike at t2 > t1 and one dopamine spike at
    t3 > t2, read at t4 >= t3 (ms). From t2, c = A_plus·exp(-(t2 - t1)/tau_plus)·exp(-(t - t2)/tau_c); from
    t3, n = exp(-(t - t3)/tau_n)/tau_n; w(t4) = w0 + ∫ c·n dt - b·∫ c dt, both from the exponentials."""
    c2 = rule.A_plus * math.exp(-(t2 - t1) / rule.tau_plus)
    r = 1.0 / rule.tau_c + 1.0 / rule.tau_n
    c3 = c2 * math.exp(-(t3 - t2) / rule.tau_c)
    gain = c3 / rule.tau_n * (1.0 - math.exp(-r * (t4 - t3))) / r
    baseline = rule.b * c2 * rule.tau_c * (1.0 - math.exp(-(t4 - t2) / rule.tau_c))
    return w0 + gain - baseline, c2 * math.exp(-(t4 - t2) / rule.tau_c)


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.integers(1, 400), min_size=4, max_size=4, unique=True).map(sorted),
       tau_c=st.floats(50.0, 2000.0), tau_n=st.floats(20.0, 500.0), A_plus=st.floats(0.1, 2.0),
       b=st.floats(-1e-3, 1e-3), from_python=st.booleans())
def test_rstdp_matches_the_closed_form_of_nests_rule(steps, tau_c, tau_n, A_plus, b, from_python):
    t1, t2, t3, t4 = steps
    rule = esnn.RSTDP(A_plus=A_plus, tau_c=tau_c, tau_n=tau_n, b=b, w_min=-100.0, w_max=100.0)
    net, proj, spikes = imposed([t1], [t2], rule, weight=1.0, dopamine_steps=() if from_python else (t3,))
    elig = net.add(esnn.SynapseMonitor(proj, "eligibility", every=1))
    net.run(t3 * DT)
    if from_python:
        proj.deliver_dopamine(1.0)
    net.run((t4 - t3) * DT)
    w, c = rstdp_closed_form(rule, t1 * DT, t2 * DT, t3 * DT, t4 * DT, 1.0)
    assert spikes.steps.tolist() == [t2]
    assert math.isclose(proj.weight[0] - 1.0, w - 1.0, rel_tol=1e-9, abs_tol=1e-300)
    net.run(DT)  # the eligibility sample of step t4
    assert math.isclose(elig.values[t4, 0], c, rel_tol=1e-9)


catch_up_compiled, trace_at_compiled = numba.njit(catch_up), numba.njit(trace_at)


@settings(max_examples=40, deadline=None)
@given(gap=st.integers(1, DECAY_STEPS + 10), since=st.integers(0, 10**6), n_gap=st.integers(0, 10**4),
       c=st.floats(-5.0, 5.0), n=st.floats(0.0, 1.0), tau_plus=taus, tau_minus=taus, tau_c=st.floats(50.0, 2000.0),
       tau_n=st.floats(20.0, 500.0), b=st.floats(-1e-3, 1e-3), dt=st.sampled_from([0.1, 0.25, 1.0]))
def test_the_decay_table_gives_the_bits_the_equations_compute(gap, since, n_gap, c, n, tau_plus, tau_minus, tau_c,
                                                              tau_n, b, dt):
    k = esnn.RSTDP(tau_plus=tau_plus, tau_minus=tau_minus, tau_c=tau_c, tau_n=tau_n, b=b, w_min=-100.0,
                   w_max=100.0).constants(dt)
    table, untabulated = decay_table(k), np.zeros((0, len(DECAY_COLUMNS)))
    args = (1.0, c, since, n, since - n_gap, since + gap, k)
    computed = catch_up_compiled(*args, untabulated)  # the kernels without the table
    assert catch_up_compiled(*args, table) == computed
    assert catch_up(*args, table) == computed  # the NumPy backend
    for column, rate in ((PRE, k[RATE_PLUS]), (POST, k[RATE_MINUS]), (DOPAMINE, k[RATE_N])):
        computed = trace_at_compiled(c, since, since + gap, rate, untabulated, column)
        assert trace_at_compiled(c, since, since + gap, rate, table, column) == computed
        assert trace_at(c, since, since + gap, rate, table, column) == computed


@settings(max_examples=25, deadline=None)
@given(network_specs(max_size=15, max_duration=20.0, plastic=True), st.floats(0.0, 3.0))
def test_numpy_and_numba_learn_identically(spec, dopamine):
    results = {}
    for backend in ("numpy", "numba"):
        net, monitors = build_network(spec, backend)
        plastic = [pr for pr in net.projections if pr.plasticity is not None]
        samples = [net.add(esnn.SynapseMonitor(pr, var, every=3))
                   for pr in plastic if pr.n_synapses for var in ("weight", "pre_trace", "post_trace")]
        net.run(spec.duration / 2)
        for pr in plastic:
            if isinstance(pr.plasticity, esnn.RSTDP):
                pr.deliver_dopamine(dopamine)
        net.run(spec.duration / 2)
        results[backend] = (spike_record(monitors), [pr.weight.copy() for pr in net.projections],
                            [net.sim.plastic_state(pr) for pr in plastic], [m.values for m in samples],
                            [p.state.copy() for p in net.populations], net.syn_events)
    a, b = results["numpy"], results["numba"]
    for (steps_a, i_a), (steps_b, i_b) in zip(a[0], b[0]):
        np.testing.assert_array_equal(steps_a, steps_b)
        np.testing.assert_array_equal(i_a, i_b)
    for x, y in zip(a[1], b[1]):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a[2], b[2]):
        for name in x:
            np.testing.assert_array_equal(x[name], y[name], err_msg=name)
    for x, y in zip(a[3] + a[4], b[3] + b[4]):
        np.testing.assert_array_equal(x, y)
    assert a[5] == b[5]


def _plastic_network(backend: str = "numba"):
    """Poisson inputs onto LIF neurons through STDP (with delays) and R-STDP (dopamine from a population)."""
    drive = esnn.Population(40, esnn.Poisson(rate=30.0), name="drive")
    dopamine = esnn.Population(3, esnn.Poisson(rate=5.0), name="dopamine")
    pop = esnn.Population(10, esnn.LIF(), name="pop")
    stdp = esnn.Sparse.fixed_probability(drive, pop, 0.5, weight=6.0, delay=lambda rng, m: 0.1 * rng.integers(0, 15, m),
                                         plasticity=esnn.STDP(A_plus=0.5, A_minus=0.55, w_max=10.0), seed=1)
    rstdp = esnn.Sparse.fixed_probability(drive, pop, 0.3, weight=3.0, delay=1.0,
                                          plasticity=esnn.RSTDP(tau_c=100.0, w_max=10.0, dopamine=dopamine), seed=2)
    recurrent = esnn.Dense(pop, pop, np.full((10, 10), 0.5), plasticity=esnn.STDP(w_max=2.0,
                                                                                   weight_dependence="multiplicative"))
    monitors = [esnn.SpikeMonitor(pop), esnn.SynapseMonitor(rstdp, "weight", [0, 5], every=7)]
    return esnn.Network(stdp, rstdp, recurrent, *monitors, dt=DT, seed=5, backend=backend)


def _raw(net):
    """Weights as the simulation holds them (R-STDP's refer to their t_elig; proj.weight is a copy integrated
    to now)."""
    return [net.sim.synapse_block(pr, "weight").copy() for pr in net.projections]


def test_a_checkpoint_continues_bit_for_bit(tmp_path):
    whole = _plastic_network()
    whole.run(300.0)
    whole.projections[1].deliver_dopamine(2.0)
    whole.run(300.0)

    part = _plastic_network()
    part.run(150.0)
    esnn.save(part, tmp_path / "a.h5")  # saving changes nothing
    part = esnn.load(tmp_path / "a.h5")
    part.run(150.0)
    part.projections[1].deliver_dopamine(2.0)  # pending dopamine is saved too
    esnn.save(part, tmp_path / "b.h5")
    part = esnn.load(tmp_path / "b.h5")
    part.run(300.0)

    for a, b in zip(_raw(whole), _raw(part)):
        np.testing.assert_array_equal(a, b)
    for pr_a, pr_b in zip(whole.projections, part.projections):
        for name, value in whole.sim.plastic_state(pr_a).items():
            np.testing.assert_array_equal(value, part.sim.plastic_state(pr_b)[name], err_msg=name)
    for m_a, m_b in zip(whole.monitors, part.monitors):
        np.testing.assert_array_equal(m_a.t, m_b.t)
    np.testing.assert_array_equal(whole.monitors[0].i, part.monitors[0].i)
    np.testing.assert_array_equal(whole.monitors[1].values, part.monitors[1].values)
    assert isinstance(part.projections[1].plasticity.dopamine, esnn.PopulationView)
    for pr_a, pr_b in zip(whole.projections, part.projections):  # read at the step the network stands at
        np.testing.assert_array_equal(pr_a.weight if hasattr(pr_a, "weight") else pr_a.weights,
                                      pr_b.weight if hasattr(pr_b, "weight") else pr_b.weights)
    assert whole.monitors[0].num_spikes > 0 and not np.array_equal(_raw(whole)[0], _plastic_network().projections[0].weight)


def test_weights_read_and_written_after_a_load_are_those_of_the_step_it_stands_at(tmp_path):
    net = _plastic_network()
    net.run(100.0)
    before = net.projections[1].weight.copy()
    esnn.save(net, tmp_path / "a.h5")
    loaded = esnn.load(tmp_path / "a.h5")
    np.testing.assert_array_equal(loaded.projections[1].weight, before)
    for n in (net, loaded):
        n.projections[1].weight = 2.0
        n.run(50.0)
    np.testing.assert_array_equal(_raw(net)[1], _raw(loaded)[1])


def test_the_weight_monitor_samples_what_a_run_of_that_length_leaves():
    net = _plastic_network()
    net.run(70.0)  # samples at steps 0, 7, ..., 693
    shorter = _plastic_network()
    shorter.run(69.3)
    assert net.monitors[1].t[-1] == pytest.approx(69.3)
    np.testing.assert_array_equal(net.monitors[1].values[-1], shorter.projections[1].weight[[0, 5]])


def test_silent_inputs_neither_transmit_nor_learn():
    """With no presynaptic spikes nothing arrives (the synapse events count what arrived) and nothing changes."""
    silent = esnn.Population(50, esnn.Poisson(rate=0.0))
    post = esnn.Population(5, esnn.LIF())
    proj = esnn.Sparse.fixed_probability(silent, post, 1.0, weight=1.0, plasticity=esnn.STDP(w_max=2.0), seed=1)
    net = esnn.Network(proj)
    net.run(50.0)
    assert net.syn_events == 0 and np.all(proj.weight == 1.0)


@pytest.mark.parametrize("make, name", [
    (lambda: esnn.STDP(tau_plus=-1.0), "tau_plus"),
    (lambda: esnn.STDP(tau_minus=0.0), "tau_minus"),
    (lambda: esnn.STDP(A_plus=math.nan), "A_plus"),
    (lambda: esnn.STDP(w_min=2.0, w_max=1.0), "w_min"),
    (lambda: esnn.STDP(weight_dependence="soft"), "weight_dependence"),
    (lambda: esnn.STDP(pairing="triplet"), "pairing"),
    (lambda: esnn.STDP(A_plus=np.ones(3)), "A_plus"),
    (lambda: esnn.RSTDP(tau_c=-5.0), "tau_c"),
    (lambda: esnn.RSTDP(tau_n=0.0), "tau_n"),
    (lambda: esnn.RSTDP(w_min=5.0, w_max=5.0), "w_min"),
    (lambda: esnn.RSTDP(dopamine="vta"), "dopamine"),
    (lambda: esnn.RSTDP(b=math.inf), "b"),
])
def test_bad_rules_name_the_parameter(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_bad_uses_name_the_parameter():
    a, b = esnn.Population(3, esnn.LIF()), esnn.Population(3, esnn.LIF())
    with pytest.raises(ValueError, match="weight must lie in"):
        esnn.Sparse.fixed_probability(a, b, 1.0, weight=-1.0, target="inh", plasticity=esnn.STDP(), seed=1)
    with pytest.raises(ValueError, match="weight must lie in"):
        esnn.Dense(a, b, np.full((3, 3), 300.0), plasticity=esnn.RSTDP())
    with pytest.raises(ValueError, match="plasticity"):
        esnn.Sparse.from_arrays(a, b, [0], [0], 1.0, plasticity="stdp")
    c, d = esnn.Population(3, esnn.LIF()), esnn.Population(3, esnn.LIF())
    bounded = esnn.Sparse.from_arrays(c, d, [0], [0], 0.5, plasticity=esnn.STDP())
    with pytest.raises(ValueError, match="weight must lie in"):
        bounded.weight = 2.0
    esnn.Network(bounded).build()
    with pytest.raises(ValueError, match="weight must lie in"):
        bounded.weight = -1.0
    static = esnn.Sparse.from_arrays(a, b, [0], [0], 1.0)
    with pytest.raises(ValueError, match="projection"):
        esnn.SynapseMonitor(static)
    stdp = esnn.Sparse.from_arrays(a, b, [0], [0], 0.5, plasticity=esnn.STDP())
    with pytest.raises(ValueError, match="eligibility"):
        esnn.SynapseMonitor(stdp, "eligibility")
    with pytest.raises(ValueError, match="dopamine"):
        esnn.SynapseMonitor(stdp, "dopamine")
    with pytest.raises(ValueError, match="read-only"):
        stdp.weight[0] = 7.0  # in place would skip the bounds: assign instead
    with pytest.raises(ValueError, match="shape"):
        stdp.weight = [0.1, 0.2]
    with pytest.raises(ValueError, match="variable"):
        esnn.SynapseMonitor(stdp, "w")
    with pytest.raises(ValueError, match="indices"):
        esnn.SynapseMonitor(stdp, indices=[1])
    with pytest.raises(ValueError, match="plasticity must be RSTDP"):
        stdp.deliver_dopamine()
    rstdp = esnn.Sparse.from_arrays(a, b, [0], [0], 0.5, plasticity=esnn.RSTDP())
    with pytest.raises(RuntimeError, match="built"):
        rstdp.deliver_dopamine()
    esnn.Network(rstdp).build()
    with pytest.raises(ValueError, match="spikes"):
        rstdp.deliver_dopamine(-1.0)
    with pytest.raises(ValueError, match="spikes"):
        rstdp.deliver_dopamine(True)
    with pytest.raises(ValueError, match="SynapseMonitor's projection"):
        esnn.Network(a, esnn.SynapseMonitor(stdp)).build()
    with pytest.raises(ValueError, match="already belongs"):
        esnn.Network(stdp).build()


def _rstdp_pair(b: float):
    """One R-STDP synapse paired at 10-12 ms, then dopamine: w rises past w_max, and with b > 0 falls back
    (clipped only where a piece of the closed-form integration ends: a read must not end one)."""
    net, proj, _ = imposed([100], [120], esnn.RSTDP(tau_c=1000.0, tau_n=200.0, b=b, w_min=0.0, w_max=4.0),
                           weight=3.5, backend="numba")
    net.run(20.0)
    proj.deliver_dopamine(1.0)
    return net, proj


def test_reading_rstdp_weights_changes_nothing():
    results = []
    for read in (False, True):
        net, proj = _rstdp_pair(b=0.002)
        net.run(600.0)
        if read:
            seen = proj.weight
            assert 3.0 < seen[0] < 4.0 and not seen.flags.writeable  # integrated to now; a copy
            with pytest.raises(ValueError, match="read-only"):
                seen[0] = 1.0
        net.run(3000.0)
        results.append(net.sim.synapse_block(proj, "weight").copy())
    np.testing.assert_array_equal(results[0], results[1])


def test_writing_rstdp_weights_takes_effect_from_now():
    net, proj = _rstdp_pair(b=0.0)
    net.run(100.0)
    proj.weight = 1.0  # every synapse brought to now, then set
    assert proj.weight[0] == 1.0
    net.run(1.0)
    assert 1.0 < proj.weight[0] < 1.1  # the remaining eligibility and dopamine go on from 1.0
