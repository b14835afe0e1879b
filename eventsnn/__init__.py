"""eventsnn: event-driven spiking neural networks on NumPy and Numba.

Simulate (``Network``), train (``eventsnn.autodiff``, ``eventsnn.nn``) and
deploy spiking networks without a deep-learning framework. Units: ms, mV, Hz.
The training stack and the language model (``eventsnn.lm``) load on first
use, so ``import eventsnn`` brings in the simulator only.
"""
import importlib
import os
from typing import TYPE_CHECKING, Any

# OpenBLAS worker threads busy-wait about 0.1 s after each call (2**28 cycles)
# before sleeping; the Numba kernels that follow a matmul then share both cores
# with them and ran 2-3x slower (the MLP training step: 57 ms -> 32 ms with a
# short wait). OpenBLAS reads this once, when NumPy loads it, so it only takes
# effect when eventsnn is imported before NumPy (as the CLI and benchmarks do);
# set it in the environment otherwise. A value the user set is kept.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "10")

from .checkpoint import inspect, latest_checkpoint, load, save, save_step
from .errors import CheckpointError
from .inputs import Poisson, SpikeGenerator, TimedCurrent
from .monitors import RateMonitor, SpikeMonitor, StateMonitor, SynapseMonitor, spike_digest
from .network import Network
from .neuron_model import NeuronModel, Variable, choice, parameter
from .neurons import ALIF, IF, LIF, AdEx, CondLIF, Izhikevich
from .plasticity import RSTDP, STDP, PlasticityRule
from .population import Population, PopulationView
from .projections import Dense, Projection, Sparse

if TYPE_CHECKING:
    from . import autodiff, lm, loihi, nir, nn

__version__ = "0.1.0"

_LAZY_SUBPACKAGES = ("autodiff", "lm", "loihi", "nir", "nn")

__all__ = [
    "ALIF", "AdEx", "IF", "LIF", "CheckpointError", "CondLIF", "Dense", "Izhikevich", "Network", "NeuronModel",
    "Variable", "choice", "parameter", "PlasticityRule", "Poisson", "Population", "PopulationView",
    "Projection", "RSTDP", "RateMonitor", "STDP", "Sparse", "SpikeGenerator", "SpikeMonitor", "StateMonitor",
    "SynapseMonitor", "TimedCurrent", "__version__", "autodiff", "inspect", "latest_checkpoint", "lm", "load",
    "loihi", "nir", "nn", "save", "save_step", "spike_digest",
]


def __getattr__(name: str) -> Any:
    """Import ``eventsnn.autodiff``, ``eventsnn.nn``, ``eventsnn.lm``, ``eventsnn.loihi`` and ``eventsnn.nir`` on
    first use (PEP 562)."""
    if name not in _LAZY_SUBPACKAGES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
