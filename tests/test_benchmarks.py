"""The benchmark scripts run and write the JSON keys their issues ask for (tiny repeats; no timing is checked)."""
import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def run(script: str, *args: str, tmp_path: Path) -> dict:
    out = tmp_path / "result.json"
    subprocess.run([sys.executable, str(BENCHMARKS / script), *args, "--json", str(out)], check=True,
                   capture_output=True, timeout=600)
    return json.loads(out.read_text())


def test_train_step_writes_the_required_keys(tmp_path):
    result = run("train_step.py", "--peers", "", "--repeats", "2", "--layer-repeats", "1", "--layer-n", "32",
                 tmp_path=tmp_path)
    for key in ("mlp_step_s", "layer_forward_s", "layer_backward_s"):
        assert result[key] > 0
    assert result["peers"] == {}
    assert result["config"]["layer_n"] == 32


def test_event_product_times_every_placement(tmp_path):
    result = run("event_product.py", "--repeats", "2", tmp_path=tmp_path)
    placements = {r["rows_read"] for r in result["results"]}
    assert {"L1 (8 rows)", "g (weight grad)"} <= placements and len(placements) == 5
    assert all(r["ms"] > 0 and r["rows_added"] > 400_000 for r in result["results"])
