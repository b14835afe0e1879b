"""Exceptions raised by eventsnn."""


class CheckpointError(Exception):
    """A checkpoint file is unreadable, corrupt, foreign, or does not fit.

    The message names the problem and the path inside the HDF5 file.
    """


class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint could not be written (disk full, file too large, no permission, ...).

    Also an ``OSError`` carrying the ``errno`` of the failed write, so code that
    handles I/O errors catches it. The message names the file and the last good
    checkpoint; that file is left as it was.
    """

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno

    def __reduce__(self):  # keeps errno across pickling (MPI sends rank 0's error to the other ranks)
        return type(self), (str(self), self.errno)


class RunDirectoryError(Exception):
    """A run directory cannot be used: another process trains into it, or it holds another run."""


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""
