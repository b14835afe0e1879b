"""MPI, when a program runs as several ranks under ``mpiexec``.

The same script runs on one process or under ``mpiexec -n K``; code that can
spread its work calls :func:`world` and gets mpi4py's ``COMM_WORLD`` when
there is more than one rank, None otherwise. mpi4py is imported only when a
launcher's environment says this process is one rank of several (MPICH/Hydra
sets ``PMI_SIZE``, Open MPI ``OMPI_COMM_WORLD_SIZE``, PMIx ``PMIX_SIZE``),
so a plain run never initialises MPI. ``pip install "eventsnn[mpi]"``
installs mpi4py and the ``mpich`` wheel, whose ``mpiexec`` runs as root
without extra flags.
"""
from __future__ import annotations

import functools
import os

from ._extras import require

LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")


def launched_size() -> int:
    """The number of ranks the MPI launcher started (1 when not launched by one)."""
    for name in LAUNCHER_SIZE:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


@functools.cache
def world():
    """mpi4py's ``COMM_WORLD`` when this process is one of several MPI ranks, else None."""
    if launched_size() < 2:
        return None
    require("mpi4py", "running under mpiexec")
    from mpi4py import MPI

    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None


def rank() -> int:
    """This process's rank (0 without MPI)."""
    comm = world()
    return 0 if comm is None else comm.Get_rank()
