"""The LM's event engine on the GPU (Numba's CUDA simulator without one) gives the CPU engine's logits."""
import copy

import numpy as np
import pytest
from _cuda import ENGINE_THREADS, SIMULATOR, fast_simulator  # noqa: F401  (an autouse fixture)
from hypothesis import given, settings, strategies as st

from eventsnn.lm.cuda_engine import CudaEngine
from eventsnn.lm.engine import Engine, InferenceLM
from eventsnn.lm.model import LMConfig, SpikingLM
from eventsnn.lm.topology import MEMORY, block


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


# A spike may differ between engines only where the CPU engine's membrane lies this close to its threshold: float32
# rounding of a sum of ~100 terms is ~1e-6 of their size, so this leaves 100x headroom and still rejects real errors.
FLIP_MARGIN = 1e-4


def host(array) -> np.ndarray:
    return array.copy_to_host() if hasattr(array, "copy_to_host") else array


def divergence(lm, tokens, cpu, other) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps both engines through ``tokens`` [T, B] (steps_per_token = 1, so each state is one step's). Per stream:
    the first token whose logits leave ``cpu``'s by more than 1e-5 of the largest logit, the first token where a
    spike differs (-1: none), and there the largest |membrane - threshold| on ``cpu`` over the differing neurons."""
    assert lm.config.steps_per_token == 1
    batch = tokens.shape[1]
    first_off, first_flip, margin = np.full(batch, -1), np.full(batch, -1), np.zeros(batch)
    pops = [lm.populations[block(l)] for l in range(lm.config.n_layers)] + [lm.populations[MEMORY]]
    for t, step in enumerate(tokens):
        want, got = cpu.step(step), other.step(step)
        off = np.any(np.abs(got - want) > 1e-5 * max(1.0, np.abs(want).max()), axis=1)
        first_off[(first_off < 0) & off] = t
        flipped, distance = np.zeros(batch, bool), np.zeros(batch)
        for pop, mine, theirs in zip(pops, [*cpu.block_state, cpu.memory_state],
                                     [*host(other.block_state), host(other.memory_state)]):
            differs = mine[1] != theirs[1]  # [B, n]
            gap = np.abs(mine[0] - (pop.thr + pop.gamma * mine[2]))  # state: membrane, spikes, adaptation
            flipped |= differs.any(axis=1)
            distance = np.maximum(distance, np.where(differs, gap, 0.0).max(axis=1))
        new = (first_flip < 0) & flipped
        first_flip[new], margin[new] = t, distance[new]
    return first_off, first_flip, margin


def assert_only_rounding_flips(first_off, first_flip, margin) -> None:
    """Every stream whose spikes differ first differs at a membrane within FLIP_MARGIN of its threshold, and every
    stream whose logits differ had such a flip at or before that token."""
    assert np.all(margin[first_flip >= 0] <= FLIP_MARGIN), margin[first_flip >= 0]
    off = first_off >= 0
    assert np.all((first_flip[off] >= 0) & (first_flip[off] <= first_off[off])), (first_off[off], first_flip[off])


def lm_for_streams(threshold: float) -> InferenceLM:
    return InferenceLM.from_model(SpikingLM(LMConfig(vocab_size=50, hidden=64, memory=32, readout=32, d_embed=16,
                                                     threshold=threshold, n_layers=2, steps_per_token=1,
                                                     neuron="alif"), seed=5))


def test_stream_divergence_check_on_the_simulator():
    """The batch-1024 check's logic at batch 4: the simulator agrees to the bit (no flips), and a CPU engine with
    thresholds moved by 1e-2 flips spikes far from threshold, which the check rejects."""
    lm = lm_for_streams(0.5)
    tokens = np.random.default_rng(6).integers(0, 50, (4, 4))
    first_off, first_flip, margin = divergence(lm, tokens, Engine(lm, 4), CudaEngine(lm, 4, threads=ENGINE_THREADS))
    assert np.all(first_off < 0) and np.all(first_flip < 0)
    moved = copy.deepcopy(lm)
    for pop in moved.populations.values():
        pop.thr[...] += 1e-2
    first_off, first_flip, margin = divergence(lm, np.random.default_rng(6).integers(0, 50, (8, 16)), Engine(lm, 16),
                                               Engine(moved, 16))
    assert np.any(first_flip >= 0) and margin.max() > FLIP_MARGIN
    with pytest.raises(AssertionError):
        assert_only_rounding_flips(first_off, first_flip, margin)


@pytest.mark.skipif(SIMULATOR, reason="1024 streams: for a GPU (the simulator runs a Python thread per CUDA thread)")
def test_a_thousand_streams_on_the_device():
    """Batch 1024 against the CPU engine. On a device fused multiply-adds round differently, so a membrane within
    that rounding of its threshold may flip a spike and send its stream its own way: at most 1% of the streams may
    leave the CPU's logits (1e-5), each only after a spike that flipped within FLIP_MARGIN of its threshold on the
    CPU, and the spike totals agree to 1e-4."""
    lm = lm_for_streams(0.5)
    tokens = np.random.default_rng(6).integers(0, 50, (8, 1024))
    cpu, gpu = Engine(lm, 1024), CudaEngine(lm, 1024, threads=ENGINE_THREADS)
    first_off, first_flip, margin = divergence(lm, tokens, cpu, gpu)
    assert np.mean(first_off < 0) >= 0.99
    assert_only_rounding_flips(first_off, first_flip, margin)
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
