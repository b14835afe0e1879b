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
import pickle
from typing import Callable, TypeVar

from ._extras import require

T = TypeVar("T")
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


def on_rank0(task: Callable[[], T]) -> T:
    """Run ``task`` on rank 0 alone; every rank returns its result or raises its error.

    Without MPI this is ``task()``. Under MPI every rank must call it: rank 0
    broadcasts the outcome, so no rank goes on before rank 0 is done (a
    barrier) and an error on rank 0 ends no rank silently waiting for it.
    The result must pickle; an error that does not is sent as a RuntimeError
    naming it (rank 0 itself raises the original).
    """
    comm = world()
    if comm is None:
        return task()
    outcome: tuple = (None, None)
    if comm.Get_rank() == 0:
        try:
            outcome = (task(), None)
        except Exception as err:
            mine = err
            try:
                pickle.loads(pickle.dumps(err))
            except Exception:
                err = RuntimeError(f"rank 0: {type(err).__name__}: {err}")
            comm.bcast((None, err), root=0)
            raise mine
    result, error = comm.bcast(outcome, root=0)
    if error is not None:
        raise error
    return result
