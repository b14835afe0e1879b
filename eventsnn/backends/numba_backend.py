"""The Numba CPU backend: the whole step loop in one compiled call."""
from __future__ import annotations

import warnings

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
        with warnings.catch_warnings():  # the kernels are passed as first-class functions, "experimental" in Numba
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            return int(run_network(self.pops, self.syn, self.pl, self.inputs, rec, self.seed, t0, n_steps))
