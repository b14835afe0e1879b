"""LoihiLIF in the simulator equals the fixed-point reference (itself checked against Lava) bit for bit."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eventsnn as esnn
from eventsnn.loihi import DenseParams, LIFParams, SignMode, effective_weights, quantize_weights, run_layers
from eventsnn.loihi.model import LoihiLIF
from eventsnn.lava.check import run_simulator
from eventsnn.loihi.fixed_point import Chain
from eventsnn.loihi.quantize import network_from_layers


@st.composite
def chains(draw, steps: int = 30):
    """A random source -> Dense -> LIF -> Dense -> LIF chain over the parameters' whole ranges."""
    sizes = [draw(st.integers(1, 12)), draw(st.integers(1, 8)), draw(st.integers(1, 6))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        mode = draw(st.sampled_from(list(SignMode)))
        lo, hi = {SignMode.MIXED: (-256, 255), SignMode.EXCITATORY: (0, 255), SignMode.INHIBITORY: (-255, 0)}[mode]
        dense = DenseParams(rng.integers(lo, hi + 1, (n_out, n_in)), draw(st.integers(-3, 3)),
                            draw(st.integers(5, 8)), mode)
        lif = LIFParams(du=draw(st.integers(0, 4095)), dv=draw(st.integers(0, 4095)), vth=draw(st.integers(0, 3000)),
                        bias_mant=rng.integers(-4096, 4096, n_out), bias_exp=rng.integers(0, 8, n_out))
        layers.append((dense, lif))
    return rng.random((steps, sizes[0])) < draw(st.floats(0.05, 0.9)), layers


def _simulated(inputs, layers, backend):
    return [(trace.spikes, trace.u, trace.v) for trace in run_simulator(Chain(inputs, layers), backend)]


@settings(max_examples=40, deadline=None)
@given(chains(), st.sampled_from(["numba", "numpy"]))
def test_the_simulator_runs_lavas_integers(chain, backend):
    inputs, layers = chain
    for (spikes, u, v), ref in zip(_simulated(inputs, layers, backend), run_layers(inputs, layers)):
        np.testing.assert_array_equal(spikes, ref.spikes)
        np.testing.assert_array_equal(u, ref.u)
        np.testing.assert_array_equal(v, ref.v)


def test_wraps_and_saturation_match_beyond_24_bits():
    """Fan-ins of up to 2000 inputs at weight 255·2**7: u wraps, leaves 24 bits; v saturates."""
    n_in = 2000
    weights = np.zeros((4, n_in), np.int64)
    for row, fan_in in enumerate((2000, 300, 20, 0)):
        weights[row, :fan_in] = 255
    layers = [(DenseParams(weights, 7, 8), LIFParams(du=0, dv=0, vth=100000))]
    inputs = np.ones((6, n_in), bool)
    (spikes, u, v), = _simulated(inputs, layers, "numba")
    ref, = run_layers(inputs, layers)
    assert np.abs(ref.u).max() > 2**23 and np.abs(ref.v).max() == 2**23 - 1
    np.testing.assert_array_equal(u, ref.u)
    np.testing.assert_array_equal(v, ref.v)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.floats(1e-3, 1e3), st.sampled_from(["pos", "neg", "mixed"]))
def test_quantized_weights_are_within_half_a_step(seed, bits, scale, signs):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.0, scale, (5, 7))
    w = {"pos": w, "neg": -w, "mixed": w - scale / 2}[signs]
    params = quantize_weights(w, bits)
    effective = effective_weights(params)
    step = 2.0 ** (8 - bits + (params.sign_mode == SignMode.MIXED) + params.weight_exp)
    assert np.abs(effective - w).max() <= step / 2 + 1e-12 * scale or params.weight_exp == 7
    assert np.abs(w).max() > 2.0 ** (params.weight_exp + 6) or params.weight_exp == -8  # the range is used


@pytest.mark.parametrize("kwargs, name", [
    (dict(du=4096), "du"), (dict(dv=-1), "dv"), (dict(vth=1.5), "vth"), (dict(vth=2**17), "vth"),
    (dict(bias_mant=4096), "bias_mant"), (dict(bias_exp=8), "bias_exp"), (dict(du=np.array([1.0, 2.0])), "du"),
])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LoihiLIF(**kwargs)


def test_bad_state_and_inputs_are_refused():
    pop = esnn.Population(2, LoihiLIF())
    pop["u"] = 0.5
    with pytest.raises(ValueError, match="u"):
        esnn.Network(pop).run(1.0)
    with pytest.raises(ValueError, match="inputs"):
        network_from_layers(np.full((3, 2), 0.5), [])
    with pytest.raises(ValueError, match="num_weight_bits"):
        quantize_weights(np.ones((2, 2)), 9)
    with pytest.raises(ValueError, match="num_weight_bits"):
        quantize_weights(np.array([[1.0, -1.0]]), 1)
