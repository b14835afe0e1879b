"""eventsnn: event-driven spiking neural networks on NumPy and Numba.

Simulate (``Network``), train (``eventsnn.autodiff``, ``eventsnn.nn``) and
deploy spiking networks without a deep-learning framework. Units: ms, mV, Hz.
"""
from . import autodiff, lm, nn
from .checkpoint import inspect, latest_checkpoint, load, save, save_step
from .errors import CheckpointError
from .inputs import Poisson, SpikeGenerator, TimedCurrent
from .monitors import RateMonitor, SpikeMonitor, StateMonitor
from .network import Network
from .neurons import ALIF, IF, LIF, CondLIF, Izhikevich, NeuronModel
from .population import Population, PopulationView
from .projections import Dense, Projection, Sparse

__version__ = "0.1.0"

__all__ = [
    "ALIF", "IF", "LIF", "CheckpointError", "CondLIF", "Dense", "Izhikevich", "Network", "NeuronModel",
    "Poisson", "Population", "PopulationView", "Projection", "RateMonitor", "Sparse", "SpikeGenerator",
    "SpikeMonitor", "StateMonitor", "TimedCurrent", "__version__", "autodiff", "inspect", "latest_checkpoint", "lm", "load", "nn", "save", "save_step",
]
