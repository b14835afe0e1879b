"""Run directories: ``step_000123.h5`` checkpoints, a ``latest`` pointer, the last K kept, a lock."""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from eventsnn._validation import check_int
from eventsnn.checkpoint.hdf5 import atomic_write, check_path, save_snapshot, snapshot_of
from eventsnn.checkpoint.snapshot import Checkpointable, Snapshot
from eventsnn.errors import CheckpointError, CheckpointWriteError, RunDirectoryError
from eventsnn.mpi import on_rank0

_STEP_FILE = re.compile(r"step_(\d+)\.h5")


def save_step(
    obj: Checkpointable, run_dir: str | os.PathLike, step: int, *, keep: int = 3, dynamic: bool = True
) -> Path:
    """Save ``obj`` as ``run_dir/step_000123.h5``, point ``latest`` at it, keep ``keep`` files.

    Order matters for crash safety: the checkpoint is complete before
    ``latest`` names it, and older files go only after that. One process
    writes to a run directory at a time (see :class:`RunLock`). A failed
    write raises :class:`CheckpointWriteError` naming the last good checkpoint. Under MPI every
    rank calls it and rank 0 alone writes; every rank returns the path or raises rank 0's error.
    """
    step = check_int("step", step, minimum=0)
    keep = check_int("keep", keep, minimum=1)
    check_path("run_dir", run_dir)
    run_dir = Path(run_dir)
    snap = snapshot_of(obj, dynamic)
    return on_rank0(lambda: _write_step(snap, run_dir, step, keep))


def _write_step(snap: Snapshot, run_dir: Path, step: int, keep: int) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        path = save_snapshot(snap, run_dir / f"step_{step:06d}.h5")
        atomic_write(run_dir / "latest", lambda tmp: tmp.write_text(path.name + "\n"))
    except CheckpointWriteError as err:
        try:
            last = latest_checkpoint(run_dir)
        except CheckpointError:
            last = None
        good = f"the last good checkpoint is {last}" if last else f"{run_dir} holds no good checkpoint"
        raise CheckpointWriteError(f"{err}; {good}", err.errno) from err
    for old in step_checkpoints(run_dir)[:-keep]:
        if old != path:
            old.unlink(missing_ok=True)
    for leftover in run_dir.glob("step_*.h5.tmp*"):  # from saves killed mid-write
        leftover.unlink(missing_ok=True)
    return path


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The checkpoint ``run_dir/latest`` names, or None before the first save."""
    check_path("run_dir", run_dir)
    pointer = Path(run_dir) / "latest"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise ValueError(f"run_dir must be a run directory, got {run_dir!s}, which is not a directory") from None
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
            steps = sorted(p.name for p in path.iterdir() if _STEP_FILE.fullmatch(p.name))
            if steps:  # a run copied without its pointer, or one whose pointer was removed
                raise ValueError(f"checkpoint directory {str(path)!r} has no 'latest' file naming its checkpoint; "
                                 f"give one of its step files, e.g. {str(path / steps[-1])!r}")
            raise ValueError(f"checkpoint directory {str(path)!r} holds no checkpoint yet")
        path = found
    elif not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no checkpoint file or run directory", str(path))
    return path


def step_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """The ``step_NNNNNN.h5`` checkpoints in ``run_dir``, oldest step first (none if it does not exist)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if (m := _STEP_FILE.fullmatch(p.name))]
    return [p for _, p in sorted(found)]



class RunLock:
    """Exclusive use of a run directory by one process, held through ``run_dir/lock``.

    The lock is an advisory ``flock`` on that file, which holds the owner's
    process id for the error message. The kernel drops it when the owner
    exits, even when killed, so a lock file left behind is never stale.

    ``RunLock(run_dir)`` creates the directory if needed (which also proves it
    writable) and raises :class:`RunDirectoryError` if another process holds
    it; ``release()`` (or leaving a ``with`` block) gives it up.
    """

    def __init__(self, run_dir: str | os.PathLike):
        import fcntl  # POSIX only; imported here so that the rest of the module loads everywhere

        self.path = Path(run_dir) / "lock"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise RunDirectoryError(f"{self.path.parent} is in use by another process (pid {owner}, "
                                        f"lock file {self.path}); wait for it to finish or stop it") from None
            except BaseException:
                os.close(fd)
                raise
            # A releasing owner unlinks the file: if ours was unlinked before we locked it, retry.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd: int | None = fd

    def release(self) -> None:
        """Give up the lock and remove the lock file (idempotent)."""
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    there = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
