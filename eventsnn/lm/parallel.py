"""Data-parallel training: the ranks of one run, their share of the batch, and the sums between them.

Under ``mpiexec -n K`` (:func:`eventsnn.mpi.world`), rank k trains streams
[k B/K, (k+1) B/K) of the global batch B; every rank holds the same
parameters, optimizer and data RNG, and after each backward pass the ranks'
gradients are summed (``MPI_Allreduce``), so that each rank takes the step
one process would take on the whole batch (:mod:`.train` says how its loss
is split into per-rank parts that sum to the global loss). Without MPI there
is one rank and every operation here is the identity.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._validation import check_int
from ..autodiff import Tensor
from ..mpi import world


class Ranks:
    """The processes of one training run: ``size`` ranks, this one ``rank`` (0 and 1 without MPI)."""

    def __init__(self, comm: Any = None):
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()

    @classmethod
    def world(cls) -> "Ranks":
        """The ranks ``mpiexec`` started this program as (one without it)."""
        return cls(world())

    def columns(self, batch: int) -> range:
        """The streams of a global batch of ``batch`` that this rank trains."""
        batch = check_int("batch", batch, minimum=1)
        if batch % self.size:
            raise ValueError(f"batch={batch} must be a multiple of the number of MPI ranks ({self.size}): each rank "
                             "trains batch / ranks of the global batch's streams")
        share = batch // self.size
        return range(self.rank * share, (self.rank + 1) * share)

    def sum(self, array: np.ndarray) -> np.ndarray:
        """The element-wise sum of ``array`` over the ranks."""
        return self._allreduce(array, "SUM")

    def max(self, array: np.ndarray) -> np.ndarray:
        """The element-wise maximum of ``array`` over the ranks."""
        return self._allreduce(array, "MAX")

    def sum_gradients(self, params: Iterable[Tensor]) -> None:
        """Replace every parameter's gradient by its sum over the ranks (one message for all of them)."""
        if self.comm is None:
            return
        params = list(params)
        missing = [i for i, p in enumerate(params) if p.grad is None]
        if missing:
            raise ValueError(f"params: parameter {missing[0]} has no gradient; data-parallel training needs "
                             "every parameter's gradient on every rank")
        total = self.sum(np.concatenate([p.grad.ravel() for p in params]))
        start = 0
        for p in params:
            p.grad[...] = total[start:start + p.grad.size].reshape(p.grad.shape)
            start += p.grad.size

    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` in rank order on rank 0 (None on the others)."""
        return [obj] if self.comm is None else self.comm.gather(obj, root=0)

    def _allreduce(self, array: np.ndarray, op: str) -> np.ndarray:
        array = np.ascontiguousarray(array)
        if self.comm is None:
            return array
        from mpi4py import MPI  # imported only under mpiexec, as eventsnn.mpi does

        out = np.empty_like(array)
        self.comm.Allreduce(array, out, op=getattr(MPI, op))
        return out
