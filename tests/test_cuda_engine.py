"""The LM's event engine on the GPU (Numba's CUDA simulator without one) gives the CPU engine's logits."""
import numpy as np
import pytest
from _cuda import ENGINE_THREADS, SIMULATOR, fast_simulator  # noqa: F401  (an autouse fixture)
from hypothesis import given, settings, strategies as st

from eventsnn.lm.cuda_engine import CudaEngine
from eventsnn.lm.engine import Engine, InferenceLM
from eventsnn.lm.model import LMConfig, SpikingLM


@st.composite
def small_models(draw):
    """Random models small enough for the simulator (a Python thread per CUDA thread); the threshold sets activity."""
    cfg = LMConfig(vocab_size=draw(st.integers(2, 12)), d_embed=draw(st.integers(2, 6)),
                   hidden=draw(st.integers(1, 20)), n_layers=draw(st.integers(1, 3)), memory=draw(st.integers(1, 10)), readout=draw(st.integers(2, 8)),
                   steps_per_token=draw(st.integers(1, 2)), neuron=draw(st.sampled_from(["lif", "alif"])),
                   threshold=draw(st.floats(0.05, 2.0)))
    return SpikingLM(cfg, seed=draw(st.integers(0, 2**16)))


# derandomize: as in test_lm_engine, a membrane within float32 rounding of its threshold could flip a spike.
@settings(max_examples=15, derandomize=True, deadline=None)
@given(small_models(), st.integers(1, 3), st.sampled_from(["float32", "int8"]), st.integers(0, 2**16))
def test_gpu_engine_matches_the_cpu_engine(model, batch, precision, seed):
    lm = InferenceLM.from_model(model, precision)
    tokens = np.random.default_rng(seed).integers(0, model.config.vocab_size, (4, batch))
    cpu, gpu = Engine(lm, batch), CudaEngine(lm, batch, threads=ENGINE_THREADS)
    want = np.stack([cpu.step(t) for t in tokens])
    got = np.stack([gpu.step(t) for t in tokens])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(want).max()))
    assert gpu.spike_count == cpu.spike_count
    assert gpu.firing_rate() == cpu.firing_rate()


def test_feed_reset_and_many_streams():
    model = SpikingLM(LMConfig(vocab_size=16, hidden=12, memory=6, readout=6, d_embed=4, threshold=0.3, n_layers=2,
                               steps_per_token=2, neuron="alif"), seed=3)
    lm = InferenceLM.from_model(model)
    tokens = np.random.default_rng(4).integers(0, 16, (3, 9))
    cpu, gpu = Engine(lm, 9), CudaEngine(lm, 9, threads=ENGINE_THREADS)
    np.testing.assert_allclose(gpu.feed(tokens), cpu.feed(tokens), rtol=1e-5, atol=1e-5)
    assert sum(cpu.spike_count.values()) > 0  # the comparison saw spikes
    cpu.reset(2), gpu.reset(2)
    np.testing.assert_allclose(gpu.step(tokens[0]), cpu.step(tokens[0]), rtol=1e-5, atol=1e-5)
    assert gpu.neuron_steps == cpu.neuron_steps == 8


@pytest.mark.skipif(SIMULATOR, reason="1024 streams: for a GPU (the simulator runs a Python thread per CUDA thread)")
def test_a_thousand_streams_on_the_device():
    """Batch 1024 against the CPU engine. On a device fused multiply-adds round differently, and a membrane
    within that rounding of its threshold flips a spike and sends its stream its own way: all but 1% of the
    streams must agree to 1e-5, and the spike totals to 1e-4."""
    model = SpikingLM(LMConfig(vocab_size=50, hidden=64, memory=32, readout=32, d_embed=16, threshold=0.5,
                               n_layers=2, steps_per_token=2, neuron="alif"), seed=5)
    lm = InferenceLM.from_model(model)
    tokens = np.random.default_rng(6).integers(0, 50, (8, 1024))
    cpu, gpu = Engine(lm, 1024), CudaEngine(lm, 1024, threads=ENGINE_THREADS)
    want, got = cpu.feed(tokens), gpu.feed(tokens)
    agree = np.all(np.abs(got - want) <= 1e-5 * max(1.0, np.abs(want).max()), axis=(0, 2))
    assert agree.mean() >= 0.99
    for name, count in cpu.spike_count.items():
        assert count > 0 and abs(gpu.spike_count[name] - count) <= 1e-4 * count


@pytest.mark.parametrize("tokens, match", [(np.array([[0, 16]]), r"tokens must lie in \[0, 16\)"),
                                           (np.array([0.5, 1.0]), "integer ids")])
def test_bad_tokens_and_settings_are_named(tokens, match):
    lm = InferenceLM.from_model(SpikingLM(LMConfig(vocab_size=16, hidden=4, memory=2, readout=2, d_embed=2), seed=0))
    gpu = CudaEngine(lm, 2, threads=ENGINE_THREADS)
    with pytest.raises(ValueError, match=match):
        gpu.feed(tokens) if tokens.ndim == 2 else gpu.step(tokens)
    for threads in (0, 1025):
        with pytest.raises(ValueError, match="threads"):
            CudaEngine(lm, 2, threads=threads)
