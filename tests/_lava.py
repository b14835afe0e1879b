"""Lava for the tests: the fixture that makes it importable, and a runner for Lava networks in their own process.

``lava_python`` (session scope) runs ``scripts/install_lava.py`` with the
interpreter running pytest. The script installs lava-nc 0.10.0 and its fix
the first time and only checks it afterwards (about a second), so a clean
``pip install ".[dev]"`` gets Lava from the repo's own files. It skips the
tests that use it when lava-nc cannot be fetched (the script's exit status
2: no network or package index) or when ``EVENTSNN_NO_LAVA_INSTALL=1`` is set
and Lava is not installed; any other failure of the script fails them.

``python tests/_lava.py CASES.npz RESULTS.npz`` runs chains source -> Dense
-> LIF -> Dense -> LIF ... (``write_cases`` describes them) on
``Loihi2SimCfg(select_tag="fixed_pt")`` and records every LIF's spikes, u
and v after each step. It runs outside pytest because importing Lava sets
multiprocessing's start method to "fork" for the whole process and Lava's
runtime forks a process per Lava process.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

INSTALL_SCRIPT = Path(__file__).parents[1] / "scripts" / "install_lava.py"
EXIT_UNREACHABLE = 2  # install_lava.py's status when lava-nc cannot be fetched
LAYER_ARRAYS = ("weights", "bias_mant", "bias_exp", "u", "v")
LAYER_SCALARS = ("weight_exp", "num_weight_bits", "sign_mode", "du", "dv", "vth")  # sign_mode 0: Lava decides


@pytest.fixture(scope="session")
def lava_python() -> str:
    """The interpreter running the tests, once Lava 0.10.0 imports and runs in it."""
    if os.environ.get("EVENTSNN_NO_LAVA_INSTALL") == "1" and importlib.util.find_spec("lava") is None:
        pytest.skip("Lava is not installed and EVENTSNN_NO_LAVA_INSTALL=1 (python scripts/install_lava.py installs it)")
    args = [sys.executable, str(INSTALL_SCRIPT)]
    if os.environ.get("EVENTSNN_NO_LAVA_INSTALL") == "1":
        args.append("--check")
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    output = (done.stdout + done.stderr).strip()
    if done.returncode == EXIT_UNREACHABLE:
        pytest.skip(f"Lava is not installed and lava-nc could not be fetched: {output.splitlines()[-1]}")
    if done.returncode != 0:
        pytest.fail(f"scripts/install_lava.py failed (exit {done.returncode}):\n{output}", pytrace=False)
    return sys.executable


def write_cases(path: Path, cases: list[dict]) -> None:
    """Save cases for the runner: each {"inputs": bool [T, n_in], "layers": [layer, ...]}, a layer holding
    LAYER_ARRAYS (weights [n_out, n_prev]; bias_mant, bias_exp and the initial u, v [n_out]) and the
    integers LAYER_SCALARS."""
    arrays = {"n_cases": np.array(len(cases))}
    for c, case in enumerate(cases):
        arrays[f"{c}.inputs"] = np.asarray(case["inputs"], bool)
        arrays[f"{c}.n_layers"] = np.array(len(case["layers"]))
        for i, layer in enumerate(case["layers"]):
            for key in LAYER_ARRAYS + LAYER_SCALARS:
                arrays[f"{c}.{i}.{key}"] = np.asarray(layer[key], np.int64)
    np.savez(path, **arrays)


def read_results(path: Path, n_cases: int) -> list[list[dict]]:
    """The runner's records: per case, per LIF layer, {"spikes": bool, "u": int64, "v": int64} of shape [T, n]."""
    with np.load(path, allow_pickle=False) as data:
        return [[{key: data[f"{c}.{i}.{key}"] for key in ("spikes", "u", "v")}
                 for i in range(int(data[f"{c}.n_layers"]))] for c in range(n_cases)]


def run_case(case: dict) -> list[dict]:
    """Build one chain in Lava, run it, return its records (this needs Lava: the runner process only)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor
    from lava.utils.weightutils import SignMode

    inputs = case["inputs"]
    steps = inputs.shape[0]
    source = Source(data=inputs.T.astype(np.int32))  # the source sends column t - 1 at step t
    previous, probes = source.s_out, []
    for layer in case["layers"]:
        n = layer["weights"].shape[0]
        sign_mode = {"sign_mode": SignMode(int(layer["sign_mode"]))} if layer["sign_mode"] else {}
        dense = Dense(weights=layer["weights"], weight_exp=int(layer["weight_exp"]),
                      num_weight_bits=int(layer["num_weight_bits"]), **sign_mode)
        lif = LIF(shape=(n,), u=layer["u"], v=layer["v"], du=int(layer["du"]), dv=int(layer["dv"]),
                  vth=int(layer["vth"]), bias_mant=layer["bias_mant"], bias_exp=layer["bias_exp"])
        previous.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        sink = Sink(shape=(n,), buffer=steps)
        lif.s_out.connect(sink.a_in)
        monitors = {}
        for name in ("u", "v"):
            monitors[name] = Monitor()
            monitors[name].probe(getattr(lif, name), steps)
        probes.append((lif, sink, monitors))
        previous = lif.s_out
    source.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        records = []
        for lif, sink, monitors in probes:
            record = {"spikes": sink.data.get().T != 0}
            for name, monitor in monitors.items():
                record[name] = monitor.get_data()[lif.name][name].astype(np.int64)  # Monitor stores float64: exact
            records.append(record)
    finally:
        source.stop()
    return records


def main(cases_path: str, results_path: str) -> None:
    arrays = {}
    with np.load(cases_path, allow_pickle=False) as data:
        for c in range(int(data["n_cases"])):
            case = {"inputs": data[f"{c}.inputs"], "layers": []}
            for i in range(int(data[f"{c}.n_layers"])):
                case["layers"].append({key: data[f"{c}.{i}.{key}"] for key in LAYER_ARRAYS + LAYER_SCALARS})
            arrays[f"{c}.n_layers"] = np.array(len(case["layers"]))
            for i, record in enumerate(run_case(case)):
                for key, value in record.items():
                    arrays[f"{c}.{i}.{key}"] = value
    np.savez(results_path, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
