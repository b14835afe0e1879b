"""The benchmark scripts run and write the JSON keys their issues ask for (tiny repeats; no timing is checked)."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from _workers import compare, interleave  # noqa: E402


def run(script: str, *args: str, tmp_path: Path) -> dict:
    out = tmp_path / "result.json"
    subprocess.run([sys.executable, str(BENCHMARKS / script), *args, "--json", str(out)], check=True,
                   capture_output=True, timeout=600, cwd=tmp_path)
    return json.loads(out.read_text())


def test_interleave_alternates_ours_with_each_peer_and_pairs_the_ratios():
    times = iter([1.0, 3.0, 3.0, 10.0, 1.0, 6.0, 3.0, 5.0, 1.0])
    log = interleave(lambda: next(times), {"a": lambda: next(times), "b": lambda: next(times)}, rounds=2)
    assert [name for name, _ in log] == ["ours", "a", "ours", "b", "ours", "a", "ours", "b", "ours"]
    result = compare(log, lambda t: t)
    assert result["ours"]["median"] == 1.0  # of 1, 3, 1, 3, 1
    assert result["a"]["ratios"] == [1.5, 3.0]  # 3 / mean(1, 3), 6 / mean(1, 3)
    assert result["b"]["ratios"] == [5.0, 2.5]  # 10 / mean(3, 1), 5 / mean(3, 1)
    assert (result["b"]["ratio"], result["b"]["ratio_min"], result["b"]["ratio_max"]) == (3.75, 2.5, 5.0)


def test_train_step_runs_without_peers(tmp_path):
    result = run("train_step.py", "--peers", "", "--repeats", "2", "--layer-n", "32", tmp_path=tmp_path)
    for key in ("mlp_step_s", "layer_forward_s", "layer_backward_s"):
        assert result[key] > 0
    assert result["peers"] == {} and result["missing_peers"] == []
    assert result["config"]["layer_n"] == 32
    assert result["machine_load"]["other_busy_cores"] >= 0


def test_train_step_lists_the_peers_it_cannot_run(tmp_path):
    """Without torch (the bench extra) eventsnn runs alone; each peer is either measured or listed as missing."""
    result = run("train_step.py", "--peers", "snntorch,spikingjelly,norse,no_such_peer", "--repeats", "1",
                 "--rounds", "1", "--layer-rounds", "1", "--layer-n", "32", tmp_path=tmp_path)
    assert result["mlp_step_s"] > 0
    assert "no_such_peer" in result["missing_peers"]
    for name in ("snntorch", "spikingjelly", "norse"):
        assert (name in result["peers"]) != (name in result["missing_peers"])
        if importlib.util.find_spec("torch") is None:
            assert name in result["missing_peers"]
    for entry in result["peers"].values():
        assert entry["ratios"]["mlp_step"]["ratio"] > 0 and len(entry["ratios"]["layer_backward"]["ratios"]) == 1


def test_sparse_vs_dense_sweep_runs_with_or_without_torch(tmp_path):
    result = run("sparse_vs_dense.py", "--skip-model", "--rounds", "1", "--plot", str(tmp_path / "p.png"),
                 tmp_path=tmp_path)
    assert len(result["sweep"]) == 8 and all(r["event_s"] > 0 and r["dense_s"] > 0 for r in result["sweep"])
    has_torch = importlib.util.find_spec("torch") is not None
    assert all(("torch_speedup" in r) == has_torch for r in result["sweep"])


def test_event_product_times_every_placement(tmp_path):
    result = run("event_product.py", "--repeats", "2", tmp_path=tmp_path)
    placements = {r["rows_read"] for r in result["results"]}
    assert {"L1 (8 rows)", "g (weight grad)"} <= placements and len(placements) == 5
    assert all(r["ms"] > 0 and r["rows_added"] > 400_000 for r in result["results"])


def test_sparse_vs_dense_names_a_wrong_gpu_argument(tmp_path):
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    for args, message in ((["--batches", "0,4"], "--batches must be comma-separated integers >= 1, got '0,4'"),
                          (["--shape", "hiden=6"], "got 'hiden=6'"), (["--shape", "hidden=0"], "hidden must be >= 1"),
                          (["--repeats", "1"], "--repeats must be >= 2, got 1"),
                          (["--threads", "2000"], "--threads must be <= 1024, got 2000")):
        run = subprocess.run([sys.executable, str(BENCHMARKS / "sparse_vs_dense.py"), "--device", "cuda", *args],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
        assert run.returncode != 0 and message in run.stderr, run.stderr
