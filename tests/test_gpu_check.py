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
    assert set(summary) == {"tests", "train_step_8", "lm_engine"}
    assert all(step["exit"] == 0 for step in summary.values())
    assert json.loads((tmp_path / "environment.json").read_text())["simulator"] is True
    assert "1 passed" in (tmp_path / "tests.log").read_text()
    layer = json.loads((tmp_path / "train_step_cuda_8.json").read_text())
    assert layer["simulator"] and layer["config"]["steps"] == 10
    assert all(t > 0 for t in layer["sizes"]["8"]["ours"].values())
    lm = json.loads((tmp_path / "lm_engine_cuda.json").read_text())
    assert set(lm["gpu"]) == {"1", "2"} and all(r["tokens_per_s"] > 0 for r in lm["gpu"].values())
    assert lm["parity"]["max_abs_diff"] <= 1e-5 * max(1.0, lm["parity"]["scale"])
    assert lm["parity"]["streams_within_1e-5"] == 1.0 and lm["parity"]["spikes_gpu"] == lm["parity"]["spikes_cpu"]


def test_gpu_check_needs_an_output_folder():
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True)
    assert run.returncode != 0 and "usage" in run.stderr
