"""The Numba CPU backend: the whole step loop in one compiled call, on one thread or several."""
from __future__ import annotations

import warnings

import numba
import numpy as np

from numba.core.errors import NumbaExperimentalFeatureWarning

from ..kernels import codegen
from ..kernels.cpu import no_dynamics, run_network
from ..kernels.plasticity import catch_up_all, weights_at
from .base import CPUBackend
from .state import Recorder


class NumbaBackend(CPUBackend):
    """The default: each population's model compiled into a kernel, the step loop compiled around them."""

    name = "numba"

    def kernel(self, plan: codegen.Plan | None, model):
        return no_dynamics if model is None else codegen.population_kernel(plan, model)

    def catch_up_all(self, l: int, t: int) -> None:
        catch_up_all(self.syn, self.pl, l, t)

    def weights_at(self, l: int, t: int) -> np.ndarray:
        return weights_at(self.syn, self.pl, l, t)

    def run(self, rec: Recorder, t0: int, n_steps: int) -> int:
        """The steps split among ``threads`` threads (the network's choice, else Numba's current count);
        beyond ``NUMBA_NUM_THREADS`` pieces share Numba's threads."""
        threads = self.threads or numba.get_num_threads()
        previous = numba.get_num_threads()
        with warnings.catch_warnings():  # the kernels are passed as first-class functions, "experimental" in Numba
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            if threads > 1:
                numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            try:
                return int(run_network(self.pops, self.syn, self.pl, self.inputs, rec, self.seed, t0, n_steps,
                                       threads))
            finally:
                if threads > 1:
                    numba.set_num_threads(previous)
