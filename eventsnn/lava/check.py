"""Random chains in Lava and in eventsnn: how many agree bit for bit at every step.

    python -m eventsnn.lava.check --cases N --steps T --seed S [--json PATH]

Case c is ``random_chain(S + c, T)``: a spike source -> Dense -> LIF ->
Dense -> LIF with random sizes (1-8, 1-8, 1-6 neurons), weights of every
sign mode or Lava's own choice of it, weight_exp in [-3, 3],
num_weight_bits in [5, 8], du, dv, vth, bias_mant, bias_exp over their whole
ranges and, half the time, a random starting u and v. Lava runs all cases
in one child process (:func:`eventsnn.lava.run_in_subprocess`) on
``Loihi2SimCfg(select_tag="fixed_pt")``; eventsnn runs each in

- the simulator: ``network_from_layers`` (LoihiLIF populations, Dense
  projections) on the Numba backend; the JSON's top-level counts;
- the reference ``run_layers`` with NumPy and with the Numba kernels
  (``reference``).

A case counts as identical in spikes (u, v) when every LIF's spikes (u, v)
equal Lava's at every step. The JSON holds ``cases``, ``identical_spikes``,
``identical_v``, ``identical_u``, the same under ``reference``, the
settings, the first difference of each disagreeing case and the seconds each
took. The exit status is 0 when every case agrees everywhere, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

import numpy as np

from .._validation import check_int
from ..loihi.fixed_point import (MAX_UV, WEIGHT_RANGE, DenseParams, LayerTrace, LIFParams, LIFState, SignMode,
                                 run_layers)
from .chain import Chain

FIELDS = ("spikes", "u", "v")


def random_layer(rng: np.random.Generator, n_prev: int, n: int) -> tuple[DenseParams, LIFParams, LIFState]:
    """A Dense + LIF layer and its starting state, drawn over the parameters' ranges, biased towards spiking."""
    mode = int(rng.choice([0, *map(int, SignMode)]))  # 0: sign mode left to Lava (determined from the weights)
    lo, hi = WEIGHT_RANGE[SignMode(mode)] if mode else (-255, 255)  # Lava may call these inhibitory: no -256
    weights = rng.integers(lo, hi + 1, (n, n_prev)) * (rng.random((n, n_prev)) < 0.8)
    scale = rng.choice([rng.integers(0, 64), rng.integers(0, 4096)])  # small decays are slow, large ones fast
    start = rng.random() < 0.5  # start at rest or from a random state
    dense = DenseParams(weights, int(rng.integers(-3, 4)), int(rng.integers(5, 9)), SignMode(mode) if mode else None)
    du = int(rng.choice([scale, rng.integers(0, 4096), 4095, 0]))
    dv = int(rng.choice([scale, rng.integers(0, 4096), 0]))
    vth = int(rng.choice([rng.integers(0, 64), rng.integers(0, 2048), rng.integers(0, 1 << 17)]))
    lif = LIFParams(du, dv, vth, rng.integers(-4096, 4096, n) * (rng.random(n) < 0.5), rng.integers(0, 8, n))
    state = LIFState.initial(n, rng.integers(-MAX_UV + 1, MAX_UV + 1, n) * start,
                             rng.integers(-MAX_UV + 1, MAX_UV, n) * start)
    return dense, lif, state


def random_chain(seed: int, steps: int = 40) -> Chain:
    """Source (1-8 inputs spiking with a random rate in [0.05, 0.9]) -> Dense -> LIF (1-8) -> Dense -> LIF (1-6)."""
    seed, steps = check_int("seed", seed, minimum=0), check_int("steps", steps, minimum=1)
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 7))]
    inputs = rng.random((steps, sizes[0])) < rng.uniform(0.05, 0.9)
    drawn = [random_layer(rng, a, b) for a, b in zip(sizes, sizes[1:])]
    return Chain(inputs, [(dense, lif) for dense, lif, _ in drawn], [state for *_, state in drawn])


def run_simulator(chain: Chain, backend: str = "numba") -> list[LayerTrace]:
    """The chain as an eventsnn Network of LoihiLIF populations (``network_from_layers``), run for T steps;
    traces in run_layers' format."""
    from ..loihi.quantize import network_from_layers

    inputs, layers, states = chain
    net, _, monitors = network_from_layers(inputs, layers, states, backend=backend)
    steps = np.shape(inputs)[0]
    net.run(steps + 1.0)  # one step more: the monitors sample the state after step t at step t + 1
    traces = []
    for spikes, u, v in monitors:
        fired = np.zeros((steps + 1, spikes.view.n), bool)
        fired[spikes.steps, spikes.i] = True
        traces.append(LayerTrace(fired[:steps], u.values[1:steps + 1].astype(np.int32),
                                 v.values[1:steps + 1].astype(np.int32)))
    return traces


def first_difference(ours: Sequence[LayerTrace], lava: Sequence[LayerTrace]) -> str | None:
    """Where two runs of a chain first differ ("layer 1 v at step 7, neuron 2: 310 vs 309"), None if nowhere."""
    for i, (mine, theirs) in enumerate(zip(ours, lava)):
        for name in FIELDS:
            a, b = getattr(mine, name), getattr(theirs, name)
            if a.shape != b.shape:
                return f"layer {i} {name}: shape {a.shape} vs {b.shape}"
            if not np.array_equal(a, b):
                step, neuron = np.argwhere(a != b)[0]
                return f"layer {i} {name} at step {step + 1}, neuron {neuron}: {a[step, neuron]} vs {b[step, neuron]}"
    return None


def count_identical(runs: Sequence[Sequence[LayerTrace]], lava: Sequence[Sequence[LayerTrace]]) -> dict:
    """{"identical_spikes": ..., "identical_u": ..., "identical_v": ...}: the cases whose every layer equals Lava's
    at every step in that quantity."""
    return {f"identical_{name}": sum(all(np.array_equal(getattr(a, name), getattr(b, name)) for a, b in zip(x, y))
                                     for x, y in zip(runs, lava)) for name in FIELDS}


def check(cases: int, steps: int, seed: int) -> dict:
    """Run ``cases`` random chains of ``steps`` steps (seeds seed .. seed + cases - 1) in Lava and in eventsnn;
    the counts described in the module docstring."""
    from .isolated import run_in_subprocess

    cases = check_int("cases", cases, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    chains = [random_chain(seed + c, steps) for c in range(cases)]
    seconds = {}
    start = time.perf_counter()
    lava = run_in_subprocess(chains)
    seconds["lava"] = time.perf_counter() - start
    engines = {"simulator": lambda chain: run_simulator(chain, "numba"),
               "numpy": lambda chain: run_layers(*chain, backend="numpy"),
               "numba": lambda chain: run_layers(*chain, backend="numba")}
    runs = {}
    for name, engine in engines.items():
        start = time.perf_counter()
        runs[name] = [engine(chain) for chain in chains]
        seconds[name] = time.perf_counter() - start
    differences = {name: {seed + c: diff for c, (ours, theirs) in enumerate(zip(runs[name], lava))
                          if (diff := first_difference(ours, theirs)) is not None} for name in engines}
    return {"cases": cases, **count_identical(runs["simulator"], lava),
            "reference": {"numpy": count_identical(runs["numpy"], lava),
                          "numba": count_identical(runs["numba"], lava)},
            "steps": steps, "seed": seed, "first_differences": differences, "seconds": seconds}


def table(result: dict) -> str:
    """The counts as a text table, one row per eventsnn engine."""
    n = result["cases"]
    rows = [("simulator (network_from_layers, numba)", result),
            ("run_layers (numpy reference)", result["reference"]["numpy"]),
            ("run_layers (numba kernels)", result["reference"]["numba"])]
    lines = [f"{n} random chains x {result['steps']} steps (seeds {result['seed']}..{result['seed'] + n - 1}), "
             f"identical to Lava 0.10 fixed_pt at every step:",
             f"{'eventsnn engine':<40} {'spikes':>8} {'u':>8} {'v':>8} {'seconds':>8}"]
    for (label, counts), key in zip(rows, ("simulator", "numpy", "numba")):
        lines.append(f"{label:<40} " + " ".join(f"{counts[f'identical_{f}']:>4}/{n:<3}" for f in FIELDS)
                     + f" {result['seconds'][key]:>8.2f}")
    lines.append(f"{'Lava (one child process)':<40} {'':>8} {'':>8} {'':>8} {result['seconds']['lava']:>8.2f}")
    for engine, diffs in result["first_differences"].items():
        lines.extend(f"  {engine}, seed {case}: first difference {diff}" for case, diff in diffs.items())
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventsnn.lava.check", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20, help="number of random chains (default 20)")
    parser.add_argument("--steps", type=int, default=40, help="time steps per chain (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="case c uses seed SEED + c (default 0)")
    parser.add_argument("--json", help="also write the result to this JSON file")
    args = parser.parse_args(argv)
    result = check(args.cases, args.steps, args.seed)
    print(table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    agree = all(result[f"identical_{f}"] == result["cases"] for f in FIELDS) and not any(
        result["first_differences"].values())
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
