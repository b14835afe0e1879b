"""Exceptions raised by eventsnn."""


class CheckpointError(Exception):
    """A checkpoint file is unreadable, corrupt, foreign, or does not fit.

    The message names the problem and the path inside the HDF5 file.
    """
