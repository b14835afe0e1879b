"""The Numba CPU backend: the whole step loop in one compiled call, on one thread or several."""
from __future__ import annotations

import contextlib
import warnings

import numba
import numpy as np

from numba.core.errors import NumbaExperimentalFeatureWarning

from ..kernels import codegen
from ..kernels.cpu import no_dynamics, propagate_events, run_network
from .base import CPUBackend
from .state import Recorder


NEURONS_PER_THREAD = 10_000  # below this a thread's share of a step costs less than the parallel regions


def default_threads(neurons: int) -> int:
    """Numba's current thread count, but one thread per NEURONS_PER_THREAD neurons at most: a step of a
    small network is done before the threads of a parallel region meet (about 1 µs each time with the omp
    layer, far more when other processes hold the cores)."""
    return max(1, min(numba.get_num_threads(), neurons // NEURONS_PER_THREAD))


class NumbaBackend(CPUBackend):
    """The default: each population's model compiled into a kernel, the step loop compiled around them."""

    name = "numba"

    def __init__(self, net) -> None:
        self._entries = {}  # kernel -> its compiled entry point for this network's argument types (_call)
        super().__init__(net)

    def kernel(self, plan: codegen.Plan | None, model):
        return no_dynamics if model is None else codegen.population_kernel(plan, model)

    def run(self, rec: Recorder, t0: int, n_steps: int, defer_propagation: bool = False) -> int:
        """The steps split among ``threads`` threads (the network's choice, else :func:`default_threads`);
        beyond ``NUMBA_NUM_THREADS`` pieces share Numba's threads."""
        with self._threads() as threads:
            return int(self._call(run_network, self.pops, self.syn, self.pl, self.inputs, rec, self.seed, t0,
                                  n_steps, threads, defer_propagation))

    def propagate_events(self, steps: np.ndarray, index: np.ndarray) -> int:
        with self._threads() as threads:
            return int(self._call(propagate_events, self.pops.state, self.pops.bounds, self.syn, steps, index,
                                  np.zeros(threads, np.int64)))

    def _call(self, kernel, *args):
        """``kernel(*args)``, its arguments typed once per backend: Numba types them at every call, ~0.2 ms
        for a network's named tuples, which an MPI rank exchanging spikes every few steps pays each time.
        Later calls go straight to the compiled function of those types (arrays' sizes may change)."""
        entry = self._entries.get(kernel)
        if entry is not None:
            return entry(*args)
        result = kernel(*args)
        compiled = kernel.overloads.get(tuple(numba.typeof(a) for a in args))
        if compiled is not None:
            self._entries[kernel] = compiled.entry_point
        return result

    @contextlib.contextmanager
    def _threads(self):
        """Numba set to this network's thread count for a call (yielded)."""
        threads = self.threads or default_threads(sum(block.shape[1] for block in self.pops.state))
        previous = numba.get_num_threads()
        with warnings.catch_warnings():  # the kernels are passed as first-class functions, "experimental" in Numba
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            if threads > 1:
                numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            try:
                yield threads
            finally:
                if threads > 1:
                    numba.set_num_threads(previous)
