"""Run directories: ``step_000123.h5`` checkpoints, a ``latest`` pointer, the last K kept."""
from __future__ import annotations

import os
import re
from pathlib import Path

from eventsnn._validation import check_int
from eventsnn.checkpoint.hdf5 import atomic_write, save
from eventsnn.checkpoint.snapshot import Checkpointable
from eventsnn.errors import CheckpointError

_STEP_FILE = re.compile(r"step_(\d+)\.h5")


def save_step(
    obj: Checkpointable, run_dir: str | os.PathLike, step: int, *, keep: int = 3, dynamic: bool = True
) -> Path:
    """Save ``obj`` as ``run_dir/step_000123.h5``, point ``latest`` at it, keep ``keep`` files.

    Order matters for crash safety: the checkpoint is complete before
    ``latest`` names it, and older files go only after that. One process
    writes to a run directory at a time.
    """
    step = check_int("step", step, minimum=0)
    keep = check_int("keep", keep, minimum=1)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = save(obj, run_dir / f"step_{step:06d}.h5", dynamic=dynamic)
    atomic_write(run_dir / "latest", lambda tmp: tmp.write_text(path.name + "\n"))
    for old in _step_files(run_dir)[:-keep]:
        if old != path:
            old.unlink(missing_ok=True)
    for leftover in run_dir.glob("step_*.h5.tmp*"):  # from saves killed mid-write
        leftover.unlink(missing_ok=True)
    return path


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The checkpoint ``run_dir/latest`` names, or None before the first save."""
    pointer = Path(run_dir) / "latest"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    # A bare step file name only: the pointer must not lead outside the run.
    if not _STEP_FILE.fullmatch(name):
        raise CheckpointError(f"{pointer}: does not name a step_NNNNNN.h5 file: {name!r}")
    path = pointer.parent / name
    if not path.is_file():
        raise CheckpointError(f"{pointer}: names {name}, which does not exist")
    return path


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """``path`` itself, or the latest checkpoint of run directory ``path``."""
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise ValueError(f"checkpoint directory {str(path)!r} holds no checkpoint yet")
        path = found
    return path


def _step_files(run_dir: Path) -> list[Path]:
    """Step checkpoints in ``run_dir``, oldest step first."""
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if (m := _STEP_FILE.fullmatch(p.name))]
    return [p for _, p in sorted(found)]
