"""End-to-end: a small spiking MLP learns the bundled 8x8 digits (reuses examples/digits.py)."""
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sklearn")


def test_small_spiking_mlp_learns_digits():
    path = Path(__file__).resolve().parents[1] / "examples" / "digits.py"
    spec = importlib.util.spec_from_file_location("digits_example", path)
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    result = digits.train_digits(hidden=64, epochs=8, seed=0)
    assert result["test_accuracy"] >= 0.90
    assert 0.01 < result["hidden_firing_rate"] < 0.9
