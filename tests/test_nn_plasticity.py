"""The nn three-factor rule (eventsnn.nn.plasticity) against the simulator's R-STDP, and its reward sign."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eventsnn as esnn
from eventsnn.nn.plasticity import EventRSTDP, RSTDPParams, RSTDPState, rstdp_step
from test_plasticity import Relay

DT = 0.1


def _trains(rng, n, steps, p):
    return rng.random((steps, n)) < p


def _simulated(pre, post, dopamine, weight, rule):
    """The same spikes in the simulator: pre as spike generators, post imposed through a relay, dopamine
    spikes from a generator; synapses without delay. Weights and eligibility as they stand at step ``steps``
    (sampled at its start)."""
    steps = pre.shape[0]
    gen = lambda spikes: esnn.Population(spikes.shape[1], esnn.SpikeGenerator(  # noqa: E731
        np.nonzero(spikes)[1], np.nonzero(spikes)[0] * DT))
    teacher = np.zeros_like(post)
    teacher[:-1] = post[1:]  # the relay fires one step after its drive
    source, drive, da = gen(pre), gen(teacher), gen(dopamine[:, None])
    target = esnn.Population(post.shape[1], Relay())
    i, j = np.nonzero(np.ones(weight.shape))
    proj = esnn.Sparse.from_arrays(source, target, i, j, weight.ravel(), target="sink",
                                   plasticity=esnn.RSTDP(**rule.parameters(), dopamine=da))
    elig, weights = esnn.SynapseMonitor(proj, "eligibility"), esnn.SynapseMonitor(proj, "weight")
    relay = esnn.Sparse.from_arrays(drive, target, np.arange(post.shape[1]), np.arange(post.shape[1]), 1.0,
                                    target="drive")
    spikes = esnn.SpikeMonitor(target)
    net = esnn.Network(proj, relay, elig, weights, spikes, dt=DT)
    net.run((steps + 1) * DT)
    fired = np.zeros((steps + 1, post.shape[1]), bool)
    fired[spikes.steps, spikes.i] = True
    assert np.array_equal(fired[:steps], post)
    return weights.values[steps].reshape(weight.shape), elig.values[steps].reshape(weight.shape)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(20.0, 500.0), st.floats(20.0, 300.0), st.floats(-2e-3, 2e-3))
def test_the_nn_rule_is_the_simulators_rule(seed, tau_c, tau_n, b):
    rng = np.random.default_rng(seed)
    steps, n_pre, n_post = 300, 4, 3
    rule = esnn.RSTDP(A_plus=0.5, A_minus=0.6, tau_c=tau_c, tau_n=tau_n, b=b, w_min=-50.0, w_max=50.0)
    pre, post = _trains(rng, n_pre, steps, 0.05), _trains(rng, n_post, steps, 0.05)
    post[0] = False  # the relay cannot fire at step 0
    dopamine = (rng.random(steps) < 0.02).astype(float)
    dopamine[steps // 2] = 1.0  # at least one reward
    weight = rng.uniform(-1.0, 1.0, (n_pre, n_post))
    state, w = RSTDPState.initial(n_pre, n_post), weight
    params = RSTDPParams(rule, DT)
    for t in range(steps):
        w, state = rstdp_step(pre[t], post[t], w, state, dopamine[t], params)
    w, state = rstdp_step(np.zeros(n_pre), np.zeros(n_post), w, state, 0.0, params)  # integrate to the last step
    sim_w, sim_c = _simulated(pre, post, dopamine, weight, rule)
    np.testing.assert_allclose(state.elig, sim_c, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w, sim_w, rtol=1e-9, atol=1e-12)
    assert np.abs(w - weight).max() > 1e-6  # something was learned


@pytest.mark.parametrize("event_driven", [False, True])
@pytest.mark.parametrize("reward, sign", [(5.0, 1.0), (-5.0, -1.0)])
def test_reward_moves_exactly_the_paired_synapses_its_way(reward, sign, event_driven):
    rule = esnn.RSTDP(A_plus=1.0, A_minus=1.0, w_min=-10.0, w_max=10.0)
    params, state = RSTDPParams(rule, 1.0), RSTDPState.initial(3, 2)
    w = np.zeros((3, 2))
    events = EventRSTDP(w.copy(), params)
    for t in range(40):  # pre 0 fires 2 ms before post 0; nothing else fires
        pre, post = np.array([t == 10, 0, 0]), np.array([t == 12, 0])
        r = reward if t == 20 else 0.0
        w, state = rstdp_step(pre, post, w, state, r, params)
        events.step(pre, post, r)
    if event_driven:
        events.state()
        w = events.weight
    assert sign * w[0, 0] > 0.01
    assert np.count_nonzero(w) == 1


def test_bad_input_names_the_value():
    params, state = RSTDPParams(esnn.RSTDP()), RSTDPState.initial(2, 2)
    w = np.zeros((2, 2))
    with pytest.raises(ValueError, match="reward"):
        rstdp_step([0, 1], [1, 0], w, state, math.nan, params)
    with pytest.raises(ValueError, match="pre must be spikes"):  # a rule on a projection that is not spike-driven
        rstdp_step([0.3, 1.0], [1, 0], w, state, 0.0, params)
    with pytest.raises(ValueError, match="post"):
        rstdp_step([0, 1], [1, 0, 0], w, state, 0.0, params)
    with pytest.raises(ValueError, match="state"):
        rstdp_step([0, 1], [1, 0, 0], np.zeros((2, 3)), state, 0.0, params)
    with pytest.raises(ValueError, match="params.rule"):
        rstdp_step([0, 1], [1, 0], w, state, 0.0, RSTDPParams(esnn.STDP()))


@pytest.mark.parametrize("state, match", [
    (None, "state must be an RSTDPState"),
    ((np.zeros(2), np.zeros(2), np.zeros((2, 2)), np.zeros(())), "state must be an RSTDPState"),
    (RSTDPState(np.zeros(2), np.zeros(2), np.full((2, 2), np.nan), np.zeros(())), "state.elig must be finite"),
    (RSTDPState(np.zeros(2), np.zeros(2), np.zeros((2, 2)), np.array(np.nan)), "state.dopamine must be finite"),
    (RSTDPState(np.zeros(2), np.zeros(2), np.zeros((2, 2)), np.zeros(2)), "state.dopamine must be a single value"),
    (RSTDPState(-np.ones(2), np.zeros(2), np.zeros((2, 2)), np.zeros(())), "state.x_pre must be >= 0"),
    (RSTDPState(np.zeros(2), np.zeros(3), np.zeros((2, 2)), np.zeros(())), r"state.x_post must have shape \(2,\)"),
])
def test_bad_state_names_the_field(state, match):
    with pytest.raises(ValueError, match=match):
        rstdp_step([0, 1], [1, 0], np.zeros((2, 2)), state, 0.0, RSTDPParams(esnn.RSTDP()))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(2.0, 300.0), st.floats(2.0, 300.0), st.floats(-2e-3, 2e-3),
       st.integers(1, 6), st.integers(1, 6), st.floats(0.5, 40.0))
def test_the_event_driven_kernel_is_the_numpy_step(seed, tau_c, tau_n, b, n_pre, n_post, tau_plus):
    """EventRSTDP (Numba, lazy rows and column sums, rebased clock) against rstdp_step on the same spikes and
    rewards; short tau_plus rebases the column history every few steps."""
    rng = np.random.default_rng(seed)
    rule = esnn.RSTDP(A_plus=0.5, A_minus=0.6, tau_c=tau_c, tau_n=tau_n, b=b, w_min=-1e3, w_max=1e3,
                      tau_plus=tau_plus)
    params = RSTDPParams(rule, 1.0)
    weight = rng.uniform(-1.0, 1.0, (n_pre, n_post))
    w, state, events = weight, RSTDPState.initial(n_pre, n_post), EventRSTDP(weight.copy(), params)
    for t in range(400):  # long enough for several rebases at the short time constants
        pre, post = _trains(rng, n_pre, 1, 0.1)[0], _trains(rng, n_post, 1, 0.1)[0]
        reward = rng.normal() if rng.random() < 0.1 else 0.0
        w, state = rstdp_step(pre, post, w, state, reward, params)
        events.step(pre, post, reward)
        if t % 97 == 0:  # observing the state in between changes nothing
            events.state()
    got = events.state()
    np.testing.assert_allclose(events.weight, w, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(got.elig, state.elig, rtol=1e-9, atol=1e-11)
    for name in ("x_pre", "x_post", "dopamine"):
        np.testing.assert_allclose(getattr(got, name), getattr(state, name), rtol=1e-12, atol=1e-15)


def test_the_event_driven_kernel_touches_only_synapses_with_events():
    """Without dopamine or baseline nothing drifts: a step changes the eligibility of the rows of its presynaptic
    spikes and the columns of its postsynaptic ones, nothing else."""
    params = RSTDPParams(esnn.RSTDP(w_min=-10.0, w_max=10.0), 1.0)
    events = EventRSTDP(np.zeros((4, 3)), params)
    events.step([0, 1, 0, 0], [0, 0, 0], 0.0)
    events.step([0, 0, 0, 0], [0, 0, 1], 0.0)
    touched = events.state().elig != 0
    assert touched.tolist() == [[False, False, False], [False, False, True], [False, False, False],
                                [False, False, False]]


def test_the_event_driven_kernel_refuses_bad_input():
    params = RSTDPParams(esnn.RSTDP())
    events = EventRSTDP(np.zeros((2, 2), np.float32), params)
    with pytest.raises(ValueError, match="reward must be finite"):
        events.step([0, 1], [1, 0], math.nan)
    with pytest.raises(ValueError, match="pre must be spikes"):  # a dense projection: its inputs are not spikes
        events.step([0.5, 1.0], [1, 0], 0.0)
    with pytest.raises(ValueError, match="post"):
        events.step([0, 1], [1, 0, 1], 0.0)
    with pytest.raises(ValueError, match="weight must be a writable"):
        EventRSTDP(np.zeros((2, 2), np.int64), params)
    with pytest.raises(ValueError, match="weight must be a writable"):
        EventRSTDP(np.zeros(3), params)


def test_a_decaying_trace_skips_the_subnormal_floats():
    """Subnormal operands cost ~100 cycles each on x86: a silent neuron's trace goes from >= TRACE_FLOOR to 0."""
    from eventsnn.kernels.nn_plasticity import TRACE_FLOOR, decay_traces

    x, seen = np.array([1.0]), []
    for _ in range(1500):  # e^{-0.5 t} reaches the subnormals (< 2.2e-308) after ~1417 steps
        decay_traces(x, np.empty(0), 0.5)
        seen.append(x[0])
    seen = np.array(seen)
    assert seen[-1] == 0.0 and np.all((seen == 0) | (seen >= TRACE_FLOOR))
    assert np.count_nonzero(seen) > 1350  # it decayed exactly until the floor
