"""A quantised spiking MLP (eventsnn.loihi.mlp) follows the float nn model within its rounding errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsnn import autodiff as ad
from eventsnn import nn
from eventsnn.loihi.fixed_point import MAX_UV, VTH_SHIFT, SignMode, run_layers
from eventsnn.loihi.mlp import A_MAX, align_traces, mlp_chain, mlp_scores, quantize_mlp
from eventsnn.loihi.quantize import effective_weights
from _examples import load_example


def float_run(modules, x: np.ndarray):
    """The float model on spikes x [T, B, n_in], written out: per LIF layer (spikes, mem) [T, B, n] with
    mem[t] = beta (1 - spk[t-1]) mem[t-1] + I[t]; and the outputs (readout logits or last spike counts)."""
    layers, h = [], x
    for k in range(0, len(modules) - 1, 2):
        fc, lif = modules[k], modules[k + 1]
        current = h @ fc.weight.data + fc.bias.data
        beta = float(np.asarray(getattr(lif.beta, "data", lif.beta)).flat[0])
        thr = np.broadcast_to(getattr(lif.threshold, "data", lif.threshold), current.shape[2:])
        mem, spk = np.zeros_like(current), np.zeros_like(current)
        for t in range(len(current)):
            previous, fired = (mem[t - 1], spk[t - 1]) if t else (0.0, 0.0)
            mem[t] = beta * (1.0 - fired) * previous + current[t]
            spk[t] = mem[t] > thr
        with ad.no_grad():  # the layer itself gives the same spikes: this test's float model is nn's
            np.testing.assert_array_equal(lif(ad.Tensor(current)).data, spk)
        layers.append((spk, mem))
        h = spk
    if len(modules) % 2:
        return layers, h.mean(axis=0) @ modules[-1].weight.data + modules[-1].bias.data
    return layers, h.sum(axis=0)


def rounding_per_step(dense, lif, scale: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per neuron, the most the quantised input a + bias / 64 can differ from scale (I - ...) in one step,
    in units of mem: weights (all inputs at once), the floor of a negative exponent, the bias."""
    weights = np.abs(effective_weights(dense) - scale[:, None] * w).sum(axis=1)
    bias = np.abs((np.asarray(lif.bias_mant) << np.asarray(lif.bias_exp)) / 64 - scale * b)
    return (weights + (dense.weight_exp < 0) + bias) / scale


def random_model(draw, spiking_output: bool):
    n_in, n_hidden, n_out = draw(st.integers(2, 20)), draw(st.integers(1, 24)), draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31))
    beta, thr = draw(st.floats(0.3, 0.98)), draw(st.floats(0.3, 3.0))
    fc = nn.Linear(n_in, n_hidden, seed=seed)
    fc.weight.data *= draw(st.floats(0.5, 4.0)) * thr
    lif = nn.LIF(n_hidden, beta=beta, threshold=thr, reset="zero", learn_threshold=draw(st.booleans()))
    if isinstance(lif.threshold, ad.Tensor):
        lif.threshold.data *= np.random.default_rng(seed).uniform(0.5, 2.0, n_hidden)
    modules = [fc, lif, nn.Linear(n_hidden, n_out, seed=seed + 1)]
    if spiking_output:  # a later layer cannot rest at v = 0 with a bias below -beta * threshold (see below)
        beta_out = draw(st.floats(0.3, 0.98))
        modules[-1].bias.data[:] = np.maximum(modules[-1].bias.data, -0.9 * beta_out * 0.5)
        modules.append(nn.LIF(n_out, beta=beta_out, threshold=0.5, reset="zero"))
    return modules


@st.composite
def models_and_inputs(draw):
    modules = random_model(draw, draw(st.booleans()))
    steps = draw(st.integers(5, 25))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    x = (rng.random((steps, 6, modules[0].weight.shape[0])) < draw(st.floats(0.05, 0.8))).astype(np.float64)
    return modules, x, draw(st.integers(6, 8))


def assert_within_rounding(modules, mlp, x: np.ndarray) -> None:
    """Run the chain for each sample of x [T, B, n_in]. Until a hidden neuron's spikes first differ from the
    float model's, v / (64 s) stays within the summed rounding of mem (a geometric sum of the per-step
    rounding, the beta rounding and the decay's truncation); where all hidden spikes agree, the readout's
    scores are the float logits to within their rounding."""
    steps = len(x)
    float_layers, outputs = float_run(modules, x)
    (dense, lif), scale = mlp.layers[0], mlp.scales[0]
    per_step = rounding_per_step(dense, lif, scale, modules[0].weight.data.T, modules[0].bias.data)
    beta = float(modules[1].beta)
    beta_q = 1 - lif.dv / 4096
    assert abs(beta_q - beta) <= 2**-13 + 1e-12
    for b in range(x.shape[1]):
        traces = run_layers(*mlp_chain(mlp, x[:, b]), backend="numba")
        hidden = align_traces(mlp, traces)[0]
        spk, mem = (a[:, b] for a in float_layers[0])
        same_so_far = np.cumprod(hidden.spikes == spk.astype(bool), axis=0).astype(bool)
        error = np.zeros_like(scale)
        for t in range(steps):
            error = max(beta, beta_q) * error + per_step + abs(beta - beta_q) * np.abs(mem[t - 1] if t else 0.0) \
                + 1 / (64 * scale)  # the decay truncates to whole v units
            check = same_so_far[t] & ~hidden.spikes[t]
            assert np.all(np.abs(hidden.v[t] / (64 * scale) - mem[t])[check] <= 1.001 * error[check] + 1e-9)
        scores = mlp_scores(mlp, traces)
        if mlp.readout and np.all(hidden.spikes == spk.astype(bool)):
            (rdense, rlif), rscale = mlp.layers[1], mlp.scales[1]
            bound = rounding_per_step(rdense, rlif, rscale, modules[2].weight.data.T, modules[2].bias.data)
            np.testing.assert_array_less(np.abs(scores - outputs[b]), 1.001 * bound + 1e-9)
        elif not mlp.readout:
            assert scores.shape == outputs[b].shape and np.all((scores >= 0) & (scores <= steps))


@settings(max_examples=40, deadline=None)
@given(models_and_inputs())
def test_the_chain_follows_the_float_mlp_within_its_rounding(case):
    modules, x, bits = case
    assert_within_rounding(modules, quantize_mlp(modules, len(x), num_weight_bits=bits), x)


def test_a_small_trained_like_mlp_predicts_the_same_classes():
    """A random 30-64-10 MLP scaled to spike at a useful rate: hidden spikes agree almost always, and so do
    the classes wherever the float logits are not near a tie."""
    rng = np.random.default_rng(5)
    fc, lif, readout = nn.Linear(30, 64, seed=1), nn.LIF(64, beta=0.9, threshold=1.0, reset="zero"), \
        nn.Linear(64, 10, seed=2)
    fc.weight.data *= 3.0
    readout.weight.data *= 4.0
    x = (rng.random((20, 200, 30)) < 0.3).astype(np.float64)
    (hidden_float,), logits = float_run([fc, lif, readout], x)
    assert 0.05 < hidden_float[0].mean() < 0.5
    mlp = quantize_mlp([fc, lif, readout], 20)
    classes, spikes = [], []
    for b in range(x.shape[1]):
        traces = run_layers(*mlp_chain(mlp, x[:, b]), backend="numba")
        classes.append(mlp_scores(mlp, traces).argmax())
        spikes.append(np.mean(align_traces(mlp, traces)[0].spikes == hidden_float[0][:, b].astype(bool)))
    same = np.array(classes) == logits.argmax(axis=1)
    top2 = np.sort(logits, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.1  # an untrained readout: many images are near ties
    assert np.mean(spikes) > 0.99 and np.mean(same) >= 0.9 and np.all(same[clear]) and np.mean(clear) > 0.5


def test_fewer_weight_bits_cost_agreement():
    """The agreement measure sees quantisation: 3-bit weights agree less with the float model than 8-bit ones."""
    rng = np.random.default_rng(2)
    fc, lif = nn.Linear(40, 50, seed=3), nn.LIF(50, beta=0.85, threshold=1.0, reset="zero")
    fc.weight.data *= 3.0
    x = (rng.random((25, 40, 40)) < 0.3).astype(np.float64)
    ((spk, _),), _ = float_run([fc, lif], x)
    agreement = {}
    for bits in (3, 8):
        mlp = quantize_mlp([fc, lif], 25, num_weight_bits=bits)
        agreement[bits] = np.mean([align_traces(mlp, run_layers(*mlp_chain(mlp, x[:, b])))[0].spikes
                                   == spk[:, b].astype(bool) for b in range(x.shape[1])])
    assert agreement[8] > 0.99 and agreement[3] < agreement[8] - 0.01, agreement


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.floats(0.05, 0.999), st.floats(-3.0, 3.0), st.integers(1, 3))
def test_biases_are_cancelled_until_the_first_input_arrives(seed, beta, bias, depth):
    """Layer l receives nothing but its bias for l + 1 steps; it must come out of them at v = 0, unspiked,
    as nn's mem starts from 0, however large the bias and the leak (the first layer's bias may be anything,
    layer l's no lower than -threshold / (1/beta + ... + 1/beta^l))."""
    modules, n = [], 4
    for k in range(depth):
        fc = nn.Linear(n, n, seed=seed + k)
        fc.bias.data[:] = bias * np.random.default_rng(seed + k).uniform(0.1, 1.0, n)
        if k:
            fc.bias.data[:] = np.maximum(fc.bias.data, -0.99 / sum(beta ** -j for j in range(1, k + 1)))
        modules += [fc, nn.LIF(n, beta=beta, threshold=1.0, reset="zero")]
    modules.append(nn.Linear(n, 3, seed=seed))
    mlp = quantize_mlp(modules, 10)
    traces = run_layers(*mlp_chain(mlp, np.zeros((10, n), bool)))
    for l, trace in enumerate(traces):
        assert not trace.spikes[:l + 1].any()
        np.testing.assert_array_equal(trace.v[l], 0)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_no_integer_leaves_its_range_under_the_worst_input(data):
    """Every input spiking at every step: a stays within 16 bits, v never saturates, the readout never spikes,
    and the chain still follows the float model."""
    modules = random_model(data.draw, data.draw(st.booleans()))
    steps = data.draw(st.integers(5, 30))
    mlp = quantize_mlp(modules, steps)
    x = np.ones((steps, modules[0].weight.shape[0]), bool)
    traces = run_layers(*mlp_chain(mlp, x))
    for trace in traces:
        assert np.abs(trace.u).max() <= A_MAX << 6
        assert np.abs(trace.v).max() < MAX_UV - 1
    if mlp.readout:
        assert not traces[-1].spikes.any() and traces[-1].v.max() <= mlp.layers[-1][1].vth << VTH_SHIFT
    assert_within_rounding(modules, mlp, x[:, None, :].astype(np.float64))


class DigitsLike(nn.Module):
    """examples/digits.py's structure: fc, lif, readout as attributes."""

    def __init__(self):
        self.fc = nn.Linear(8, 16, seed=0)
        self.lif = nn.LIF(16, beta=0.9, threshold=1.0, reset="zero")
        self.readout = nn.Linear(16, 3, seed=1)


def test_modules_lists_and_sequentials_give_one_chain():
    model = DigitsLike()
    a = quantize_mlp(model, 12, vth=500)
    b = quantize_mlp(nn.Sequential(model.fc, model.lif, model.readout), 12, vth=500)
    c = quantize_mlp([model.fc, model.lif, model.readout], 12, vth=500)
    for other in (b, c):
        for (d1, l1), (d2, l2) in zip(a.layers, other.layers):
            np.testing.assert_array_equal(d1.weights, d2.weights)
            assert (d1.weight_exp, l1.vth, l1.dv, l1.du) == (d2.weight_exp, l2.vth, l2.dv, l2.du)
    assert a.layers[0][1].vth == 500 and a.layers[0][1].dv == round(4096 * 0.1) and a.layers[0][1].du == 4095
    assert a.layers[1][1].dv == 0 and a.readout and a.layers[0][0].sign_mode == SignMode.MIXED
    np.testing.assert_allclose(a.scales[0], 500.0)


def _lif(**kwargs):
    return nn.LIF(4, **{"reset": "zero", **kwargs})


@pytest.mark.parametrize("modules, match", [
    (lambda: [nn.Linear(3, 4), _lif(reset="subtract")], "reset"),
    (lambda: [nn.Linear(3, 4), _lif(reset="none")], "reset"),
    (lambda: [nn.Linear(3, 4), nn.ALIF(4, reset="zero")], "ALIF"),
    (lambda: [nn.Linear(3, 4), nn.LayerNorm(4)], "LayerNorm"),
    (lambda: [_lif(), nn.Linear(4, 2)], "must follow an nn.Linear"),
    (lambda: [nn.Linear(3, 4), nn.Linear(4, 2)], "must be an nn.LIF"),
    (lambda: [nn.Linear(3, 4), _lif(), nn.Linear(5, 2)], "takes 5 inputs"),
    (lambda: [nn.Linear(3, 5), _lif()], "has 4 neurons"),
    (lambda: [nn.Linear(3, 4), _lif(learn_beta=True)], None),
    (lambda: 3, "model"),
])
def test_models_loihi_cannot_run_are_refused_naming_the_layer(modules, match):
    model = modules()
    if match is None:  # a learned beta that differs between neurons
        model[1].beta_logit.data[0] += 1.0
        match = "beta must be one value"
    with pytest.raises(ValueError, match=match):
        quantize_mlp(model, 10)


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps"), (dict(steps=2.0), "steps"), (dict(vth=0), "vth"), (dict(vth=2**17), "vth"),
    (dict(vth=1.5), "vth"), (dict(vth=100000), "vth"), (dict(num_weight_bits=9), "num_weight_bits"),
    (dict(num_weight_bits=1), "num_weight_bits"),
])
def test_bad_settings_are_refused(kwargs, match):
    model = [nn.Linear(6, 4, seed=0), _lif(), nn.Linear(4, 2, seed=1)]
    with pytest.raises(ValueError, match=match):
        quantize_mlp(model, **{"steps": 10, **kwargs})


def test_a_later_layer_that_would_spike_at_rest_is_refused():
    """Held at v = 0 before its first input, a second layer with a bias below -beta * threshold would spike."""
    second = nn.Linear(4, 3, seed=1)
    second.bias.data[:] = [0.0, -0.95, 0.0]
    with pytest.raises(ValueError, match="layer 2 -> 3: neuron 1's negative bias is too strong"):
        quantize_mlp([nn.Linear(5, 4, seed=0), _lif(), second, nn.LIF(3, beta=0.9, reset="zero")], 10)


def test_an_unrepresentable_bias_is_refused():
    fc = nn.Linear(3, 4, seed=0)
    fc.bias.data[:] = [0.1, 2e4, 0.0, 0.0]
    with pytest.raises(ValueError, match="layer 0 -> 1: no vth >= 1"):
        quantize_mlp([fc, _lif()], 10, vth=1)


def test_bad_spikes_and_traces_are_refused():
    mlp = quantize_mlp([nn.Linear(6, 4, seed=0), _lif(), nn.Linear(4, 2, seed=1)], 10)
    with pytest.raises(ValueError, match="spikes"):
        mlp_chain(mlp, np.zeros((9, 6), bool))
    with pytest.raises(ValueError, match="spikes"):
        mlp_chain(mlp, np.full((10, 6), 0.5))
    traces = run_layers(*mlp_chain(mlp, np.zeros((10, 6), bool)))
    with pytest.raises(ValueError, match="traces"):
        mlp_scores(mlp, traces[:1])
    with pytest.raises(ValueError, match="traces"):
        align_traces(mlp, [t._replace(spikes=t.spikes[1:]) for t in traces])
    with pytest.raises(ValueError, match="u and v at every step"):
        align_traces(mlp, [t._replace(v=t.v[-1:]) for t in traces])


def _example():
    pytest.importorskip("sklearn")
    return load_example("digits_to_loihi")


def test_the_digits_example_quantises_without_losing_accuracy():
    """A small run of examples/digits_to_loihi.py without Lava: the fixed point keeps the float accuracy."""
    result = _example().run(hidden=48, epochs=4, steps=15, seed=1, lava_images=0)
    assert result["float_accuracy"] > 0.8
    assert result["fixed_accuracy"] >= result["float_accuracy"] - 0.02
    assert result["float_fixed_same_class"] > 0.97 and result["hidden_spike_agreement"] > 0.95
    assert result["simulator_identical_runs"] == result["test_images"] == 450
    assert result["lava_agreement"] is None and result["lava_images"] == 0
