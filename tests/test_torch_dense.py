"""The PyTorch peer of the dense engine (benchmarks/_torch_dense.py) gives the dense engine's logits.

Runs only where torch is installed (the bench extra):
    PYTHONPATH=. /work/venv-bench/bin/python -m pytest tests/test_torch_dense.py
"""
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from _torch_dense import TorchDenseEngine, dense_layer  # noqa: E402

from eventsnn.lm.engine import Engine, InferenceLM  # noqa: E402
from eventsnn.lm.model import LMConfig, SpikingLM  # noqa: E402


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("neuron, n_layers, steps_per_token", [("lif", 1, 1), ("alif", 3, 2)])
def test_torch_dense_engine_gives_the_dense_engines_logits(batch, neuron, n_layers, steps_per_token):
    cfg = LMConfig(vocab_size=30, d_embed=16, hidden=48, n_layers=n_layers, memory=24, readout=32,
                   steps_per_token=steps_per_token, neuron=neuron, threshold=0.3)
    lm = InferenceLM.from_model(SpikingLM(cfg, seed=3))
    tokens = np.random.default_rng(4).integers(0, cfg.vocab_size, (12, batch))
    dense, ported = Engine(lm, batch, "dense"), TorchDenseEngine(lm, batch)
    expected = np.stack([dense.step(t) for t in tokens])
    got = np.stack([ported.step(t) for t in tokens])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(TorchDenseEngine(lm, batch).feed(tokens), expected, rtol=1e-5, atol=1e-5)
    assert dense.firing_rate() > 0.0  # the comparison crossed spikes, not only silence


def test_torch_dense_layer_is_x_at_w_plus_b():
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((64, 48), dtype=np.float32), rng.standard_normal(48, dtype=np.float32)
    x = (rng.random(64) < 0.2).astype(np.float32)
    np.testing.assert_allclose(dense_layer(w, b)(x).numpy(), x @ w + b, rtol=1e-5, atol=1e-5)
