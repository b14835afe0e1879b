"""Spikes, surrogates and the fused LIF / ALIF kernels against per-step tape composition."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import eventsnn.autodiff as ad
from eventsnn.autodiff import Tensor

SURROGATES = [ad.FastSigmoid(2.0), ad.ATan(2.0), ad.Sigmoid(3.0), ad.Triangle(0.5)]


def alif_per_step(current, beta, thr, rho, gamma, surrogate, reset, detach_reset, state=None):
    """The oracle: the same neuron written as T steps of elementary tape ops."""
    T, B, N = current.shape
    mem = a = s = Tensor(np.zeros((B, N)))
    if state is not None:  # constants: no gradient flows into the initial state
        mem, s, a = (Tensor(x) for x in state)
    out = []
    for t in range(T):
        r = s.detach() if detach_reset else s
        a = rho * a + s
        th = thr + gamma * a
        if reset == "subtract":
            mem = beta * mem + current[t] - r * th
        elif reset == "zero":
            mem = beta * (1 - r) * mem + current[t]
        else:
            mem = beta * mem + current[t]
        s = ad.spike(mem - th, surrogate)
        out.append(s)
    return ad.stack(out)


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 7), B=st.integers(1, 3), N=st.integers(1, 4),
       reset=st.sampled_from(["subtract", "zero", "none"]), detach=st.booleans(), adaptive=st.booleans(), per_neuron=st.booleans(), sur=st.sampled_from(SURROGATES),
       seed=st.integers(0, 2**31))
def test_fused_matches_per_step(T, B, N, reset, detach, adaptive, per_neuron, sur, seed):
    rng = np.random.default_rng(seed)
    shape = (N,) if per_neuron else ()
    current = Tensor(rng.normal(0.6, 1.0, (T, B, N)), requires_grad=True)
    params = [Tensor(rng.uniform(0.3, 0.95, shape), requires_grad=True),      # beta
              Tensor(rng.uniform(0.5, 1.5, shape), requires_grad=True)]       # threshold
    params += [Tensor(rng.uniform(0.2, 0.9, shape), requires_grad=True),      # rho
               Tensor(rng.uniform(0.1, 0.5, shape), requires_grad=True)] if adaptive else [0.0, 0.0]
    w = rng.standard_normal((T, B, N))

    grads = []
    for run in (ad.alif_sequence, alif_per_step):
        for p in [current] + params:
            if isinstance(p, Tensor):
                p.grad = None
        spk = run(current, *params, sur, reset, detach)
        (spk * w).sum().backward()
        grads.append((spk.data, [p.grad for p in [current] + params if isinstance(p, Tensor)]))
    (s_fused, g_fused), (s_step, g_step) = grads
    np.testing.assert_array_equal(s_fused, s_step)
    for gf, gs in zip(g_fused, g_step):
        np.testing.assert_allclose(gf, gs, rtol=1e-10, atol=1e-10)


def test_lif_forward_hand_computed():
    # beta = 0.5, threshold 1, subtract reset, constant input 0.8
    spk = ad.lif_sequence(Tensor(np.full((5, 1, 1), 0.8)), 0.5, 1.0)
    # mem: 0.8, 1.2 (spike), 0.6+0.8-1=0.4, 1.0 (not > 1), 1.3 (spike)
    np.testing.assert_array_equal(spk.data.ravel(), [0, 1, 0, 0, 1])


def test_zero_reset_forward():
    spk = ad.lif_sequence(Tensor(np.full((4, 1, 1), 0.8)), 0.5, 1.0, reset="zero")
    # mem: 0.8, 1.2 (spike), 0 * .. + 0.8 = 0.8, 1.2 (spike)
    np.testing.assert_array_equal(spk.data.ravel(), [0, 1, 0, 1])


def test_adaptation_raises_threshold():
    x = Tensor(np.full((40, 1, 1), 0.6))
    plain = ad.lif_sequence(x, 0.9, 1.0).data.sum()
    adapted = ad.alif_sequence(x, 0.9, 1.0, rho=0.95, gamma=0.5).data.sum()
    assert 0 < adapted < plain


def test_float32_path_matches_float64():
    rng = np.random.default_rng(1)
    x = rng.normal(0.3, 1.0, (20, 4, 8))
    s64 = ad.lif_sequence(Tensor(x), 0.9, 1.0).data
    s32 = ad.lif_sequence(Tensor(x.astype(np.float32)), 0.9, 1.0)
    assert s32.dtype == np.float32
    assert np.mean(s32.data == s64) > 0.99  # rounding may flip a spike at the threshold


@pytest.mark.parametrize("sur", SURROGATES)
def test_surrogate_shapes(sur):
    x = np.linspace(-50, 50, 200001)
    d = sur(x)
    assert np.all(d >= 0) and d[100000] == d.max() and np.allclose(d, d[::-1])
    area = 2 / sur.slope if isinstance(sur, ad.FastSigmoid) else 1.0  # fast sigmoid is unnormalised
    assert np.trapezoid(d, x) == pytest.approx(area, abs=0.01)


def test_surrogates_match_snntorch_formulas():
    x = np.array([-0.3, 0.0, 0.1])
    np.testing.assert_allclose(ad.FastSigmoid(25)(x), 1 / (25 * np.abs(x) + 1) ** 2)
    np.testing.assert_allclose(ad.ATan(2)(x), 2 / 2 / (1 + (np.pi / 2 * 2 * x) ** 2))
    np.testing.assert_allclose(ad.Sigmoid(25)(x), 25 * np.exp(-25 * x) / (np.exp(-25 * x) + 1) ** 2)


def test_spike_gradient_is_surrogate():
    x = Tensor(np.array([-0.2, 0.0, 0.3]), requires_grad=True)
    s = ad.spike(x, ad.Triangle(2.0))
    np.testing.assert_array_equal(s.data, [0, 0, 1])
    s.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.maximum(0, 1 - 2 * np.abs(x.data)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(beta=1.5), "beta"), (dict(beta=-0.1), "beta"), (dict(threshold=np.nan), "threshold"),
    (dict(beta=np.ones(3)), r"beta must have shape \(\) or \(4,\)"), (dict(reset="soft"), "reset"),
    (dict(threshold=0.0), "threshold must be > 0"), (dict(threshold=np.array([1, 1, -1, 1])), "threshold must be > 0"),
    (dict(beta="0.9"), "beta must be a number"), (dict(beta=None), "beta must be a number.*got None"),
])
def test_bad_neuron_arguments(kwargs, match):
    args = dict(beta=0.9, threshold=1.0) | kwargs
    with pytest.raises(ValueError, match=match):
        ad.lif_sequence(Tensor(np.zeros((2, 1, 4))), **args)


def test_bad_current():
    with pytest.raises(ValueError, match="current"):
        ad.lif_sequence(Tensor(np.zeros((2, 4))), 0.9)
    with pytest.raises(ValueError, match="current"):
        ad.lif_sequence(Tensor(np.full((2, 1, 4), np.inf)), 0.9)
    with pytest.raises(ValueError, match="slope"):
        ad.FastSigmoid(-1.0)


@settings(max_examples=25, deadline=None)
@given(T1=st.integers(1, 5), T2=st.integers(1, 5), reset=st.sampled_from(["subtract", "zero", "none"]),
       detach=st.booleans(), sur=st.sampled_from(SURROGATES), seed=st.integers(0, 2**31))
def test_state_carries_across_chunks(T1, T2, reset, detach, sur, seed):
    """T1 steps, then T2 from the returned state == T1 + T2 at once; chunk-2 gradients match the oracle."""
    rng = np.random.default_rng(seed)
    B, N = 2, 3
    beta, thr, rho, gamma = 0.8, 1.0, 0.9, 0.3
    current = rng.normal(0.7, 1.0, (T1 + T2, B, N))
    whole = ad.alif_sequence(Tensor(current), beta, thr, rho, gamma, sur, reset, detach)
    first, state = ad.alif_sequence_from(Tensor(current[:T1]), beta, thr, rho, gamma, sur, reset, detach)
    second_in = Tensor(current[T1:], requires_grad=True)
    second, _ = ad.alif_sequence_from(second_in, beta, thr, rho, gamma, sur, reset, detach, state)
    np.testing.assert_array_equal(np.concatenate([first.data, second.data]), whole.data)

    w = rng.standard_normal((T2, B, N))
    (second * w).sum().backward()
    oracle_in = Tensor(current[T1:], requires_grad=True)
    (alif_per_step(oracle_in, beta, thr, rho, gamma, sur, reset, detach, state) * w).sum().backward()
    np.testing.assert_allclose(second_in.grad, oracle_in.grad, rtol=1e-10, atol=1e-10)


def test_state_of_the_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="state.mem"):
        ad.alif_sequence_from(Tensor(np.zeros((3, 2, 4))), 0.9, 1.0, state=ad.NeuronState.zeros(2, 5))


@pytest.mark.parametrize("kwargs, match", [
    (dict(state=(np.zeros((2, 4)),) * 2), "state must be a NeuronState"),
    (dict(state=5), "state must be a NeuronState"),
    (dict(gamma=-1.0), r"gamma must lie in \[0.0, inf\]"),
])
def test_bad_state_and_gamma_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ad.alif_sequence_from(Tensor(np.zeros((3, 2, 4))), **dict(beta=0.9, threshold=1.0, rho=0.5) | kwargs)


@pytest.mark.parametrize("reset", [0, 1, 2])
def test_kernels_without_adaptation_history_match_full_history(reset):
    """With gamma = 0 the layer skips storing a[t]; spikes, final state and gradients are unchanged."""
    from eventsnn.kernels import bptt
    rng = np.random.default_rng(reset)
    T, B, N = 6, 3, 5
    current = rng.normal(0.6, 1.0, (T, B, N))
    beta, thr, rho, gamma = rng.uniform(0.5, 0.9, N), rng.uniform(0.5, 1.5, N), rng.uniform(0.2, 0.9, N), np.zeros(N)
    state = [rng.normal(0, 1, (B, N)), (rng.random((B, N)) < 0.5).astype(float), rng.uniform(0, 1, (B, N))]
    spk, mem, ad = bptt.neuron_forward(current, beta, thr, rho, gamma, reset, *state)
    spk2, mem2, empty, a_last = bptt.neuron_run(current, beta, thr, rho, gamma, reset, *state, False)
    assert empty.shape == (0, B, N)
    np.testing.assert_array_equal(spk, spk2)
    np.testing.assert_array_equal(mem, mem2)
    np.testing.assert_array_equal(ad[-1], a_last)
    g = rng.standard_normal((T, B, N))
    for detach in (True, False):
        full = bptt.neuron_backward(g, spk, mem, ad, beta, thr, rho, gamma, reset, detach, 0, 2.0, *state)
        lean = bptt.neuron_backward(g, spk, mem, empty, beta, thr, rho, gamma, reset, detach, 0, 2.0, *state)
        for a, b in zip(full[:4], lean[:4]):  # d_gamma needs the history; it is not asked for here
            np.testing.assert_array_equal(a, b)


def test_float32_kernels_stay_float32_and_match_float64():
    rng = np.random.default_rng(3)
    x = rng.normal(0.3, 1.0, (15, 4, 8))
    w = rng.standard_normal(x.shape)
    grads = {}
    for dtype in (np.float64, np.float32):
        current = Tensor(x.astype(dtype), requires_grad=True)
        beta = Tensor(np.full(8, 0.9, dtype), requires_grad=True)
        spk = ad.alif_sequence(current, beta, 1.0, 0.9, 0.2, ad.Sigmoid(3.0), "zero", False)
        (spk * w.astype(dtype)).sum().backward()
        assert spk.dtype == current.grad.dtype == beta.grad.dtype == dtype
        grads[dtype] = (spk.data, current.grad, beta.grad)
    if np.array_equal(grads[np.float32][0], grads[np.float64][0]):  # rounding may flip a spike at the threshold
        for a, b in zip(grads[np.float32][1:], grads[np.float64][1:]):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
