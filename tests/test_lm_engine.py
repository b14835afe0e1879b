"""Event and dense inference engines: same logits as each other and as the trained model."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsnn.lm.engine import Engine, InferenceLM
from eventsnn.lm.model import LMConfig, SpikingLM


@st.composite
def models(draw):
    """Small random models; the threshold sets the activity (from silent to busy)."""
    cfg = LMConfig(vocab_size=draw(st.integers(2, 40)), d_embed=draw(st.integers(2, 16)),
                   hidden=draw(st.integers(1, 48)), n_layers=draw(st.integers(1, 3)), memory=draw(st.integers(1, 24)),
                   readout=draw(st.integers(2, 24)), steps_per_token=draw(st.integers(1, 3)),
                   neuron=draw(st.sampled_from(["lif", "alif"])), threshold=draw(st.floats(0.05, 3.0)))
    return SpikingLM(cfg, seed=draw(st.integers(0, 2**16)))


# derandomize: float32 sums in another order can, very rarely, move a membrane across its
# threshold; fixed examples keep such a case from making the suite flaky.
@settings(max_examples=25, derandomize=True, deadline=None)
@given(models(), st.integers(1, 3), st.integers(0, 2**16))
def test_engines_match_each_other_and_the_model(model, batch, seed):
    tokens = np.random.default_rng(seed).integers(0, model.config.vocab_size, (12, batch))
    reference = model.forward(tokens).logits.data
    scale = np.abs(reference).max()
    lm = InferenceLM.from_model(model)
    results = {}
    for engine in ("event", "dense"):
        eng = Engine(lm, batch, engine)
        results[engine] = (np.stack([eng.step(t) for t in tokens]), eng.firing_rate())
    for logits, _ in results.values():
        assert np.abs(logits - reference).max() <= 1e-5 * scale
    assert results["event"][1] == results["dense"][1]


def test_streams_are_independent_and_reset_alone():
    model = SpikingLM(LMConfig(vocab_size=20, hidden=32, memory=16, readout=16, d_embed=8, threshold=0.3), seed=1)
    lm = InferenceLM.from_model(model)
    tokens = np.random.default_rng(2).integers(0, 20, (10, 4))
    together = Engine(lm, batch=4)
    joint = np.stack([together.step(t) for t in tokens])
    for b in range(4):
        alone = Engine(lm, batch=1)
        np.testing.assert_array_equal(np.stack([alone.step(t[b:b + 1]) for t in tokens])[:, 0], joint[:, b])
    fresh = Engine(lm, batch=1).step(tokens[0, 1:2])[0]
    together.reset(1)
    after = together.step(tokens[0])
    np.testing.assert_array_equal(after[1], fresh)
    assert not np.array_equal(after[0], joint[0, 0])  # stream 0 kept its state


@pytest.mark.parametrize("engine", ["event", "dense"])
def test_feeding_a_block_of_tokens_equals_stepping_through_it(engine):
    model = SpikingLM(LMConfig(vocab_size=20, hidden=32, memory=16, readout=16, d_embed=8, threshold=0.3,
                               steps_per_token=2), seed=3)
    lm = InferenceLM.from_model(model)
    tokens = np.random.default_rng(5).integers(0, 20, (15, 3))
    stepped, fed = Engine(lm, 3, engine), Engine(lm, 3, engine)
    by_step = np.stack([stepped.step(t) for t in tokens])
    np.testing.assert_array_equal(np.concatenate([fed.feed(tokens[:4]), fed.feed(tokens[4:])]), by_step)
    assert fed.spike_count == stepped.spike_count and fed.firing_rate() == stepped.firing_rate() > 0
    state = fed.block_state.copy()
    with pytest.raises(ValueError, match="tokens must lie in"):
        fed.feed(np.array([[1, 2, 3], [4, 20, 5]]))  # a bad id in a later row: nothing is fed
    np.testing.assert_array_equal(fed.block_state, state)


def test_int8_rows_are_within_half_a_step_and_both_engines_agree_on_them():
    model = SpikingLM(LMConfig(vocab_size=30, hidden=64, memory=32, readout=32, d_embed=16, threshold=0.5), seed=4)
    q = InferenceLM.from_model(model, "int8")
    w = model.memory.spikes_in.weight.data
    assert q.memory_in.weight.dtype == np.int8
    assert np.all(np.abs(q.memory_in.dense() - w) <= q.memory_in.scale[:, None] / 2 + 1e-7)
    assert q.weight_bytes() < 0.5 * InferenceLM.from_model(model).weight_bytes()
    tokens = np.random.default_rng(5).integers(0, 30, (20, 1))
    event, dense = Engine(q, 1, "event"), Engine(q, 1, "dense")
    a, b = np.stack([event.step(t) for t in tokens]), np.stack([dense.step(t) for t in tokens])
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()


@pytest.mark.parametrize("kwargs, name", [({"batch": 0}, "batch"), ({"engine": "gpu"}, "engine")])
def test_engine_rejects_bad_settings(kwargs, name):
    lm = InferenceLM.from_model(SpikingLM(LMConfig(vocab_size=5, hidden=4, memory=4, readout=4, d_embed=2)))
    with pytest.raises(ValueError, match=name):
        Engine(lm, **kwargs)
    with pytest.raises(ValueError, match="tokens"):
        Engine(lm).step([7])
