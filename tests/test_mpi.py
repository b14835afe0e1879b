"""MPI-distributed simulation (``eventsnn.backends.distributed``): the same spikes, state and records on
1, 2 and (oversubscribed) 4 ranks, checkpoints that move between rank counts, and the layouts refused.

Each run is a subprocess (tests/_mpi_worker.py), plain Python for one process, ``mpiexec -n K`` for K.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsnn.checkpoint import load_snapshot
from eventsnn.testing import DT, network_specs

WORKER = Path(__file__).with_name("_mpi_worker.py")
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install '.[mpi]' (mpi4py and mpich)")


def flat(tree: dict, prefix: str = "") -> dict:
    """A nested dict as {"a/b/c": leaf}."""
    out = {}
    for name, value in tree.items():
        out.update(flat(value, f"{prefix}{name}/") if isinstance(value, dict) else {prefix + name: value})
    return out


def launch(ranks: int, *args, threads: int = 1) -> None:
    """The worker on ``ranks`` ranks (one process: no mpiexec), ``threads`` Numba threads each (one by
    default: ranks x threads beyond the cores spin-wait)."""
    command = [sys.executable] if ranks == 1 else [MPIEXEC, "-n", str(ranks), sys.executable]
    proc = subprocess.run([*command, str(WORKER), *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NUMBA_NUM_THREADS": str(threads)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def results(ranks: int, tmp: Path, *args, threads: int = 1):
    """What the worker's rank 0 wrote, each rank's own result checked equal to it."""
    out = tmp / f"out-{ranks}-{len(list(tmp.iterdir()))}.json"
    launch(ranks, *args, out, threads=threads)
    found = json.loads(out.read_text())
    for r in found if isinstance(found, list) else [found]:
        assert r.pop("ranks") == ranks
        assert r.pop("ranks_agree"), "the ranks ended with different records"
    return found


# cuba 4000 with 2 ms delays: 20 steps between exchanges, more than a chunk's spike record holds at
# worst (16 steps of all 4000 neurons); the distributed record grows instead
@pytest.mark.parametrize("name, n, delay", [("cuba", 400, DT), ("coba", 400, 0.5), ("cuba", 4000, 2.0)])
def test_reference_networks_give_the_same_spikes_state_and_samples_on_1_2_and_4_ranks(tmp_path, name, n, delay):
    runs = {k: results(k, tmp_path, "reference", name, n, delay, 60.0) for k in (1, 2, 4)}
    assert runs[1]["spikes"] > 100 and runs[1]["spike_count"] == runs[1]["spikes"]
    assert min(runs[1]["rate_spikes"]) > 0
    assert runs[2] == runs[1]
    assert runs[4] == runs[1]


def test_threads_within_ranks_give_the_same_spikes_as_one_thread_in_one_process(tmp_path):
    network = ("reference", "cuba", 300, 0.2, 40.0)
    assert results(2, tmp_path, *network, threads=2) == results(1, tmp_path, *network)


@settings(max_examples=2, deadline=None)
@given(st.lists(network_specs(max_duration=20.0, min_delay=DT).filter(lambda s: sum(s.sizes) >= 4),
                min_size=3, max_size=3))
def test_drawn_networks_with_delays_give_the_same_spikes_on_1_2_and_4_ranks(specs):
    """And the NumPy backend, the specification of the deferred propagation, on 2 ranks."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "specs.pkl"
        path.write_bytes(pickle.dumps(specs))
        runs = {k: results(k, Path(tmp), "drawn", path, "numba") for k in (1, 2, 4)}
        reference = results(2, Path(tmp), "drawn", path, "numpy")
    assert runs[2] == runs[1]
    assert runs[4] == runs[1]
    assert reference == runs[1]


def test_a_run_saved_on_2_ranks_resumes_on_1_and_2_ranks_as_if_never_stopped(tmp_path):
    network = ("cuba", 300, 0.3)
    whole = results(1, tmp_path, "reference", *network, 60.0)  # lowers v half-way, at 30 ms
    launch(2, "save", *network, 30.0, tmp_path / "two.h5")
    launch(1, "save", *network, 30.0, tmp_path / "one.h5")
    two, one = (load_snapshot(tmp_path / name) for name in ("two.h5", "one.h5"))
    assert two.config == one.config
    a, b = (flat({"parameters": s.parameters, **s.groups}) for s in (two, one))  # the file one process writes
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    for ranks in (1, 2):
        resumed = results(ranks, tmp_path, "resume", tmp_path / "two.h5", 30.0)
        assert resumed["spike_digest"] == whole["spike_digest"]
        assert resumed["spikes"] == whole["spikes"] and resumed["syn_events"] == whole["syn_events"]
        assert resumed["state"] == whole["state"] and resumed["sampled"] == whole["sampled"]


def test_a_run_killed_on_2_ranks_resumes_from_its_last_checkpoint_as_if_never_stopped(tmp_path):
    network = ("cuba", 2000, 0.5, 5.0, 400.0)
    launch(1, "chunks", *network, tmp_path / "whole.h5")
    whole = results(1, tmp_path, "finish", tmp_path / "whole.h5", 400.0)
    killed = tmp_path / "killed.h5"
    proc = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, str(WORKER), "chunks", *map(str, network), killed],
                            env={**os.environ, "NUMBA_NUM_THREADS": "1"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not killed.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and both ranks, mid-run
    proc.wait()
    assert load_snapshot(killed).groups["dynamic"]["step"] < 4000, "the run ended before it was killed"
    resumed = results(2, tmp_path, "finish", killed, 400.0)
    assert resumed == whole


@pytest.mark.parametrize("example", ["cuba", "coba"])
def test_the_examples_write_the_same_spike_digest_on_1_and_2_ranks(tmp_path, example):
    script = Path(__file__).parents[1] / "examples" / f"{example}.py"
    summaries = []
    for ranks in (1, 2):
        out = tmp_path / f"{ranks}.json"
        command = [sys.executable] if ranks == 1 else [MPIEXEC, "-n", str(ranks), sys.executable]
        proc = subprocess.run([*command, str(script), "--n", "1000", "--duration", "100", "--delay", "0.2",
                               "--threads", "1", "--json", str(out)], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert proc.stdout.count(f"{example.upper()}: 1000 neurons") == 1  # rank 0 alone prints
        summaries.append(json.loads(out.read_text()))
    one, two = summaries
    assert one["spikes"] > 0 and (one["ranks"], two["ranks"]) == (1, 2)
    for key in ("spike_digest", "spikes", "synapses"):
        assert two[key] == one[key], key


def test_layouts_a_distributed_network_cannot_run_are_refused_with_what_to_change(tmp_path):
    launch(2, "refusals", tmp_path / "refusals.json")
    found = json.loads((tmp_path / "refusals.json").read_text())
    assert found["more_ranks_than_neurons"] == ("ValueError: the network has 1 neurons, fewer than the 2 MPI "
                                                "ranks; run it on at most 1 ranks")
    assert found["zero_delay"].startswith("ValueError: projection 1 (cells[0:5] -> cells[0:10], target 'exc') "
                                          "has a delay of 0 ms; under MPI (2 ranks) every delay must be at least")
    assert found["plastic"].startswith("NotImplementedError: projection 0 (cells[0:10] -> cells[0:10], target "
                                       "'exc') is plastic; plastic projections are not distributed")


class OneRankComm:
    """mpi4py's collectives for a communicator of one rank: a "distributed" network in this process."""

    def Get_rank(self) -> int:  # noqa: N802 -- mpi4py's names
        return 0

    def Get_size(self) -> int:  # noqa: N802
        return 1

    def allgather(self, obj):
        return [obj]

    def allreduce(self, value):
        return value

    def Allgather(self, send, recv) -> None:  # noqa: N802
        recv[...] = send

    def Allgatherv(self, send, recv) -> None:  # noqa: N802
        recv[0][...] = send


def test_a_backend_that_runs_short_of_the_steps_asked_stops_a_distributed_run(monkeypatch):
    from eventsnn import reference_networks
    from eventsnn.backends import distributed
    from eventsnn.backends.numpy_backend import NumpyBackend

    monkeypatch.setattr(distributed.Layout, "current", classmethod(lambda cls: cls(OneRankComm())))
    bench = reference_networks.cuba(40, out_degree=10, seed=1, backend="numpy", delay=0.5)
    bench.network.run(2.0)  # the fake communicator runs the distributed path whole
    assert bench.network.step == 20
    full = NumpyBackend.run
    monkeypatch.setattr(NumpyBackend, "run", lambda self, rec, t0, n, **kw: full(self, rec, t0, n - 1, **kw))
    with pytest.raises(RuntimeError, match="the backend ran 4 of the 5 steps from step 20 of a distributed run"):
        bench.network.run(2.0)
