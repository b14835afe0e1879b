"""A process killed while saving never leaves a checkpoint that fails to load."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from eventsnn.checkpoint import latest_checkpoint, load_snapshot

# Saves 4 MB checkpoints in a loop as fast as it can; each one's content is a
# function of its step, so the parent can tell a complete file from a mix.
SAVER = """
import sys
import numpy as np
from eventsnn.checkpoint import Snapshot, checkpointable, save_step

@checkpointable("tests.Blob")
class Blob:
    def __init__(self, step):
        self.step = step

    def checkpoint_state(self):
        weights = np.random.default_rng(self.step).standard_normal(500_000)
        return Snapshot("tests.Blob", {"step": self.step}, {"w": weights}, {"optimizer": {"step": self.step}})

    @classmethod
    def from_checkpoint(cls, snap):
        return cls(snap.config["step"])

run_dir, first = sys.argv[1], int(sys.argv[2])
for step in range(first, first + 10_000):
    save_step(Blob(step), run_dir, step, keep=2)
"""


def check_complete(path: Path) -> int:
    snap = load_snapshot(path)
    step = snap.config["step"]
    assert path.name == f"step_{step:06d}.h5"
    assert snap.groups == {"optimizer": {"step": step}}
    np.testing.assert_array_equal(snap.parameters["w"], np.random.default_rng(step).standard_normal(500_000))
    return step


def latest_step(run_dir: Path) -> int:
    path = latest_checkpoint(run_dir)
    return -1 if path is None else int(path.stem.removeprefix("step_"))


def test_sigkill_at_random_moments_leaves_a_loadable_latest(tmp_path):
    run_dir = tmp_path / "run"
    repo = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))
    chance = random.Random(20240611)
    step = killed_mid_write = 0
    for round in range(10):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(run_dir), str(step)], env=env)
        deadline = time.monotonic() + 30
        while latest_step(run_dir) < step:  # cheap poll: leave the CPU to the saver
            assert saver.poll() is None and time.monotonic() < deadline, "the saver made no progress"
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.4))
        # The file is built in memory and written in a few ms: every other round waits for that window.
        while round % 2 and not any(run_dir.glob("step_*.h5.tmp*")) and time.monotonic() < deadline:
            time.sleep(0.0002)
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        killed_mid_write += any(run_dir.glob("step_*.h5.tmp*"))  # the next saver removes them
        step = check_complete(latest_checkpoint(run_dir)) + 1
        for path in run_dir.glob("step_*.h5"):
            check_complete(path)
    assert killed_mid_write, "no kill landed during a write; the test proved nothing"
