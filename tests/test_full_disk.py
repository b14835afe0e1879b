"""Saving on a full disk: a clean CheckpointWriteError, the previous checkpoint intact, a clean exit.

Each scenario runs in a subprocess because the failure used to show only at
interpreter exit (HDF5 crashed flushing a file it could not write). A full
file system is a small tmpfs the test mounts (needs root); a file size limit
(``RLIMIT_FSIZE``, EFBIG instead of ENOSPC) works everywhere on POSIX.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from eventsnn.checkpoint import load, load_snapshot
from eventsnn.lm.data import load_corpus

REPO = str(Path(__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))

# Saves a small Blob to argv[1], then a large one over it (and into the run
# directory argv[2] with save_step); prints what each attempt raised as JSON.
SAVER = """
import json, resource, sys
import numpy as np
import eventsnn
from eventsnn.checkpoint import Snapshot, checkpointable, save, save_step

@checkpointable("tests.Blob")
class Blob:
    def __init__(self, n):
        self.n = n

    def checkpoint_state(self):
        weights = np.random.default_rng(self.n).standard_normal(self.n)  # incompressible
        return Snapshot("tests.Blob", {"n": self.n}, {"w": weights}, {})

    @classmethod
    def from_checkpoint(cls, snap):
        return cls(snap.config["n"])

path, run_dir, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
save(Blob(1000), path)
save_step(Blob(1000), run_dir, 1)
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
outcome = {}
for name, attempt in [("save", lambda: save(Blob(400_000), path)),
                      ("save_step", lambda: save_step(Blob(400_000), run_dir, 2))]:
    try:
        attempt()
        outcome[name] = None
    except eventsnn.CheckpointError as err:
        outcome[name] = {"type": type(err).__name__, "oserror": isinstance(err, OSError), "errno": err.errno,
                         "message": str(err)}
print(json.dumps(outcome))
"""


@contextlib.contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (mount's syntax: "1m") at ``mount``; skips the test where it cannot be mounted."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs Linux and root; the RLIMIT_FSIZE test covers saving")
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if result.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def run_saver(directory: Path, limit: int = 0) -> dict:
    path, run_dir = directory / "blob.h5", directory / "run"
    result = subprocess.run([sys.executable, "-c", SAVER, str(path), str(run_dir), str(limit)], env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert result.stderr == "", result.stderr[-2000:]  # no tracebacks from HDF5 destructors
    outcome = json.loads(result.stdout)
    # the previous checkpoints are intact and no temporary file is left
    assert load_snapshot(path).config == {"n": 1000}
    assert load_snapshot(run_dir / "step_000001.h5").config == {"n": 1000}
    assert (run_dir / "latest").read_text() == "step_000001.h5\n"
    assert sorted(p.name for p in directory.rglob("*")) == ["blob.h5", "latest", "run", "step_000001.h5"]
    return outcome


def check_messages(outcome: dict, directory: Path, reason: str, code: int) -> None:
    for name in ("save", "save_step"):
        err = outcome[name]
        assert err is not None, f"{name} on a full disk did not raise"
        assert err["type"] == "CheckpointWriteError" and err["oserror"] and err["errno"] == code
        assert reason in err["message"]
    assert f"{directory / 'blob.h5'} keeps its previous content" in outcome["save"]["message"]
    assert f"the last good checkpoint is {directory / 'run' / 'step_000001.h5'}" in outcome["save_step"]["message"]


def test_full_disk_raises_a_checkpoint_error_and_keeps_the_previous_file(tmp_path):
    with tmpfs(tmp_path / "fs", "1m") as fs:
        check_messages(run_saver(fs), fs, "no space left on device", errno.ENOSPC)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX only")
def test_file_size_limit_raises_a_checkpoint_error_and_keeps_the_previous_file(tmp_path):
    outcome = run_saver(tmp_path, limit=1 << 20)
    check_messages(outcome, tmp_path, "file too large", errno.EFBIG)


def test_training_on_a_full_disk_exits_2_naming_the_last_good_checkpoint(tmp_path):
    """The first run saves step 2 (3 MB of 4.5 MiB); the resumed run's save of step 3 does not fit."""
    with tmpfs(tmp_path / "fs", "4608k") as fs:
        run = fs / "run"
        corpus = tmp_path / "corpus.txt"
        corpus.write_text(load_corpus()[:20000], encoding="utf-8")
        train = [sys.executable, "-m", "eventsnn.cli", "train", "--preset", "tiny", "--corpus", str(corpus)]
        first = subprocess.run([*train, "--steps", "2", "--out", str(run)], env=ENV, capture_output=True,
                               text=True, timeout=300)
        assert first.returncode == 0, first.stderr[-2000:]
        second = subprocess.run([*train, "--resume", str(run), "--steps", "3"], env=ENV, capture_output=True,
                                text=True, timeout=300)
        assert second.returncode == 2, second.stderr[-3000:]
        assert "Traceback" not in second.stderr
        last_line = second.stderr.strip().splitlines()[-1]
        assert last_line.startswith("eventsnn train: cannot write")
        assert "no space left on device" in last_line
        assert f"the last good checkpoint is {run / 'step_000002.h5'}" in last_line
        assert load(run / "step_000002.h5").step == 2
        assert sorted(p.name for p in run.iterdir()) == ["latest", "step_000002.h5"]  # no tmp file, no lock
