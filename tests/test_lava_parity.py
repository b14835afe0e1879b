"""Random chains run in Lava 0.10 and in eventsnn's fixed-point model give the same spikes, u and v at every step.

Each case is a spike source -> Dense -> LIF -> Dense -> LIF with random
sizes, weights of every sign mode (or Lava's own choice of it),
weight_exp in [-3, 3], num_weight_bits in [5, 8], and du, dv, vth, bias and
initial u, v over their whole ranges. Lava runs them all in one subprocess
(``tests/_lava.py``); the ``lava_python`` fixture installs Lava by
``scripts/install_lava.py`` first, or skips where it cannot be fetched.
Two further cases drive a LIF far past Loihi's 16-bit input (up to 70000
inputs at the largest weight and exponent) so that Lava's one-off 24-bit
wrap, its int32 wraps and its int32 a_out channel are all exercised.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from _lava import lava_python, read_results, write_cases  # noqa: F401  (lava_python is a fixture)

from eventsnn.loihi.fixed_point import MAX_UV, WEIGHT_RANGE, DenseParams, LIFParams, LIFState, SignMode, run_layers

RUNNER = Path(__file__).parent / "_lava.py"
N_RANDOM, STEPS = 40, 40


def random_layer(rng: np.random.Generator, n_prev: int, n: int) -> dict:
    """A Dense + LIF layer with parameters drawn over their ranges, biased towards networks that spike."""
    mode = rng.choice([0, *map(int, SignMode)])  # 0: sign mode left to Lava (determined from the weights)
    lo, hi = WEIGHT_RANGE[SignMode(mode)] if mode else (-255, 255)  # Lava may call these inhibitory: no -256
    weights = rng.integers(lo, hi + 1, (n, n_prev)) * (rng.random((n, n_prev)) < 0.8)
    scale = rng.choice([rng.integers(0, 64), rng.integers(0, 4096)])  # small decays are slow, large ones fast
    start = rng.random() < 0.5  # start at rest or from a random state
    return {
        "weights": weights, "weight_exp": rng.integers(-3, 4), "num_weight_bits": rng.integers(5, 9),
        "sign_mode": mode, "du": rng.choice([scale, rng.integers(0, 4096), 4095, 0]),
        "dv": rng.choice([scale, rng.integers(0, 4096), 0]),
        "vth": rng.choice([rng.integers(0, 64), rng.integers(0, 2048), rng.integers(0, 1 << 17)]),
        "bias_mant": rng.integers(-4096, 4096, n) * (rng.random(n) < 0.5), "bias_exp": rng.integers(0, 8, n),
        "u": rng.integers(-MAX_UV + 1, MAX_UV + 1, n) * start, "v": rng.integers(-MAX_UV + 1, MAX_UV, n) * start,
    }


def random_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 7))]
    return {"inputs": rng.random((STEPS, sizes[0])) < rng.uniform(0.05, 0.9),
            "layers": [random_layer(rng, a, b) for a, b in zip(sizes, sizes[1:])]}


def overflow_case(sign: int) -> dict:
    """70000 inputs spiking every step into 5 neurons that see 70000, 1100, 300, 20 and 0 of them at weight
    sign * 255 (mixed: truncated to 254 or -256), weight_exp 7: a_in beyond int32 (a_out wraps), a_in << 6
    beyond int32, u beyond 24 bits, an ordinary wrap, none."""
    n_in, steps = 70000, 8
    weights = np.zeros((5, n_in), np.int64)
    for row, fan_in in enumerate((n_in, 1100, 300, 20, 0)):
        weights[row, :fan_in] = sign * 255
    weights[4, 0] = -sign  # mixed sign mode in every row's Dense
    small = np.array([[1, -1, 1, 1, -1], [-1, 1, 1, 0, 1]])
    layer = {"weight_exp": 7, "num_weight_bits": 8, "sign_mode": int(SignMode.MIXED), "du": 0, "dv": 0, "vth": 1000}
    return {"inputs": np.ones((steps, n_in), bool),
            "layers": [{**layer, "weights": weights, "bias_mant": np.zeros(5), "bias_exp": np.zeros(5),
                        "u": np.zeros(5), "v": np.zeros(5)},
                       {**layer, "weights": small * 255, "bias_mant": np.zeros(2), "bias_exp": np.zeros(2),
                        "u": np.zeros(2), "v": np.zeros(2), "du": 100, "dv": 100}]}


def eventsnn_run(case: dict, backend: str):
    layers, states = [], []
    for layer in case["layers"]:
        mode = int(layer["sign_mode"])
        layers.append((DenseParams(np.asarray(layer["weights"], np.int64), int(layer["weight_exp"]),
                                   int(layer["num_weight_bits"]), SignMode(mode) if mode else None),
                       LIFParams(int(layer["du"]), int(layer["dv"]), int(layer["vth"]),
                                 np.asarray(layer["bias_mant"], np.int64), np.asarray(layer["bias_exp"], np.int64))))
        states.append(LIFState.initial(len(layer["bias_mant"]), np.asarray(layer["u"], np.int64),
                                       np.asarray(layer["v"], np.int64)))
    return run_layers(case["inputs"], layers, states, backend=backend)


def first_difference(ours: np.ndarray, lava: np.ndarray) -> str:
    step, neuron = np.argwhere(ours != lava)[0]
    return f"first at step {step + 1}, neuron {neuron}: eventsnn {ours[step, neuron]}, Lava {lava[step, neuron]}"


@pytest.fixture(scope="module")
def lava_runs(lava_python, tmp_path_factory):
    """The cases and what Lava recorded for them (one subprocess for all)."""
    cases = [random_case(seed) for seed in range(N_RANDOM)] + [overflow_case(1), overflow_case(-1)]
    folder = tmp_path_factory.mktemp("lava")
    write_cases(folder / "cases.npz", cases)
    done = subprocess.run([lava_python, str(RUNNER), str(folder / "cases.npz"), str(folder / "results.npz")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the Lava runner failed:\n{done.stdout}\n{done.stderr}"
    return cases, read_results(folder / "results.npz", len(cases))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_random_chains_agree_with_lava_at_every_step(lava_runs, backend):
    cases, results = lava_runs
    for c, (case, lava) in enumerate(zip(cases, results)):
        for i, (ours, theirs) in enumerate(zip(eventsnn_run(case, backend), lava)):
            for name in ("spikes", "u", "v"):
                mine, lavas = getattr(ours, name), theirs[name]
                assert np.array_equal(mine, lavas), \
                    f"case {c} layer {i} {name} differs, {first_difference(mine, lavas)}"


def test_the_cases_reach_every_regime(lava_runs):
    """Not vacuous: the random cases spike and stay silent, wrap u and saturate v; the overflow cases
    take u outside 24 bits."""
    cases, results = lava_runs
    random_records = [layer for case in results[:N_RANDOM] for layer in case]
    rates = np.array([r["spikes"].mean() for r in random_records])
    assert np.mean(rates > 0) > 0.4 and np.mean(rates < 0.5) > 0.4, rates
    # u wraps: it jumps by about 2**24 between two steps somewhere
    jumps = max(np.abs(np.diff(r["u"], axis=0)).max(initial=0) for r in random_records)
    assert jumps > MAX_UV, jumps
    assert any(np.abs(r["v"]).max() == MAX_UV - 1 for r in random_records), "v never saturated"
    overflow = [layer for case in results[N_RANDOM:] for layer in case]
    assert max(np.abs(r["u"]).max() for r in overflow) > 1 << 30, "u never left 24 bits by far"
