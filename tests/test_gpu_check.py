"""benchmarks/gpu_check.sh runs end to end in its dry mode (Numba's CUDA simulator, toy sizes) and writes its JSON."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_run_writes_every_result(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable,  # one quick CUDA test: the others run in this suite already
           "GPU_CHECK_TESTS": "tests/test_cuda_kernels.py::test_adam_update_of_device_arrays_and_of_a_matrix"}
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry", str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"tests", "train_step_8", "lm_engine", "sparse_vs_dense", "plasticity", "cuba"}
    assert all(step["exit"] == 0 and 0 <= step["seconds"] <= step["limit"] + 10 for step in summary.values())
    assert json.loads((tmp_path / "environment.json").read_text())["simulator"] is True
    assert "1 passed" in (tmp_path / "tests.log").read_text()
    layer = json.loads((tmp_path / "train_step_cuda_8.json").read_text())
    assert layer["simulator"] and layer["config"]["steps"] == 10
    assert all(t > 0 for t in layer["sizes"]["8"]["ours"].values())
    lm = json.loads((tmp_path / "lm_engine_cuda.json").read_text())
    assert set(lm["gpu"]) == {"1", "2"} and all(r["tokens_per_s"] > 0 for r in lm["gpu"].values())
    assert lm["parity"]["max_abs_diff"] <= 1e-5 * max(1.0, lm["parity"]["scale"])
    assert lm["parity"]["streams_within_1e-5"] == 1.0 and lm["parity"]["spikes_gpu"] == lm["parity"]["spikes_cpu"]
    sparse = json.loads((tmp_path / "sparse_vs_dense_cuda.json").read_text())
    assert sparse["device"] == "cuda" and sparse["simulator"] and sparse["gemm"] == "numpy"
    activities = [r["activity"] for r in sparse["sweep"] if r["batch"] == 1]
    assert [(r["batch"], r["activity"]) for r in sparse["sweep"]] == [(b, a) for b in (1, 2) for a in activities]
    assert activities[0] == 0.01 and activities[-1] == 0.5 and len(activities) == 8
    assert all(r["event_s"] > 0 and r["dense_s"] > 0 and 0 < r["event_bound_s"] for r in sparse["sweep"])
    assert all(("torch_speedup" in r) == ("torch" not in sparse["missing_peers"] + list(sparse["peer_errors"]))
               for r in sparse["sweep"])
    model = sparse["model"]
    assert model["config"]["hidden"] == 6 and model["batches"] == [1, 2]
    assert all(model[f"batch{b}"][k] > 0 for b in (1, 2) for k in ("event_tokens_per_s", "event_feed_tokens_per_s"))
    assert 0 < model["firing_rate"] < 1 and model["bytes_per_token"]["event"] > 0
    plastic = json.loads((tmp_path / "plasticity_cuda.json").read_text())["cuba"]
    assert plastic["plastic"]["backend"] == plastic["static"]["backend"] == "cuda" and plastic["plasticity_cost"] > 0
    cuba = json.loads((tmp_path / "cuba_cuda.json").read_text())
    assert cuba["backend"] == "cuda" and cuba["n"] == 100 and set(cuba["peers"]) == {"numba_1_thread"}
    assert cuba["peers"]["numba_1_thread"]["synapses"] == cuba["synapses"] > 0
    report = (tmp_path / "report.md").read_text()  # every result in it; no verdict from simulated times
    assert "CUDA tests: 1 run, 0 failed" in report and "| cuba | 0 |" in report and "| 100 | " in report
    assert report.count("no verdict (simulator)") == 1 and "not measured (no run at 1M neurons)" in report
    assert "100.0% of streams within 1e-5" in report and "CUBA 100 with STDP on the GPU" in report


def test_gpu_check_stops_within_its_budget(tmp_path):
    """With no time left every step is skipped (exit 124) and the check fails, instead of running past its budget."""
    env = {**os.environ, "PYTHON": sys.executable, "BUDGET": "0"}
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry", str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"tests", "train_step_8", "lm_engine", "sparse_vs_dense", "plasticity", "cuba"}
    assert all(step["exit"] == 124 and step["limit"] <= 0 for step in summary.values())


def test_gpu_check_needs_an_output_folder():
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True)
    assert run.returncode != 0 and "usage" in run.stderr


def test_the_report_gives_verdicts_on_a_device_from_the_numbers(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_report", ROOT / "benchmarks" / "gpu_report.py")
    gpu_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_report)
    (tmp_path / "environment.json").write_text(json.dumps({"simulator": False, "gpus": ["H200"]}))
    run = lambda n, ratio: {"n": n, "wall_s": 1.0, "peers": {"numba_1_thread": {"wall_s": ratio}},  # noqa: E731
                            "ratios": {"numba_1_thread": {"loop": ratio}}}
    (tmp_path / "cuba_cuda.json").write_text(json.dumps({"runs": [run(4000, 2.0), run(1_000_000, 60.0)]}))
    cells = lambda f, b: {"layer_forward": {"median": 1.0, "ratio": f},  # noqa: E731
                          "layer_backward": {"median": 1.0, "ratio": b}}
    layer = {"sizes": {"4096": {"ours": {"layer_forward": 0.01, "layer_backward": 0.02},
                                "peers": {"norse": cells(2.0, 1.5), "spikingjelly": cells(1.2, 0.9)}}},
             "missing_peers": []}
    (tmp_path / "train_step_cuda_4096.json").write_text(json.dumps(layer))
    report = gpu_report.report(tmp_path)
    assert "at 1M neurons: met" in report and "forward and backward: NOT met" in report  # SpikingJelly's backward
    assert "spikingjelly: 1000.00 (0.90x)" in report and "| 1000000 | 1.000 | 60.000 | 60.0x | ? | ? |" in report
