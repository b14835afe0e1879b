"""Monitors: what a network records while it runs.

Times are in ms. A spike at step t is reported at t·dt, and a state (or
synapse) sample taken at step t holds the value at the start of that step
(as in Brian2).
"""
from __future__ import annotations

import hashlib

import numpy as np

from ._validation import check_choice, check_indices, check_int
from .plasticity import RSTDP, SYNAPSE_VARIABLES
from .population import PopulationView, as_view


class SpikeMonitor:
    """Every spike of ``source``: neuron index ``i`` (local to source) and time ``t``."""

    def __init__(self, source) -> None:
        self.view: PopulationView = as_view(source, "source")
        self._i: list[np.ndarray] = []
        self._steps: list[np.ndarray] = []
        self._dt = 1.0

    def __repr__(self) -> str:
        return f"SpikeMonitor({self.view!r})"

    def _collect(self, steps: np.ndarray, local: np.ndarray, dt: float) -> None:
        self._steps.append(steps)
        self._i.append(local)
        self._dt = dt

    @property
    def i(self) -> np.ndarray:
        return np.concatenate(self._i) if self._i else np.zeros(0, np.int64)

    @property
    def steps(self) -> np.ndarray:
        return np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64)

    @property
    def t(self) -> np.ndarray:
        return self.steps * self._dt

    @property
    def num_spikes(self) -> int:
        return sum(a.size for a in self._i)

    @property
    def count(self) -> np.ndarray:
        """Spikes per neuron of the source."""
        return np.bincount(self.i, minlength=self.view.n)

    def spike_trains(self) -> list[np.ndarray]:
        """Spike times (ms) of each neuron."""
        order = np.argsort(self.i, kind="stable")
        return np.split(self.t[order], np.cumsum(self.count)[:-1])


def spike_digest(steps, neurons) -> str:
    """SHA-256 (hex) of the spikes (step, global neuron), sorted by step then neuron, as a little-endian
    int64 array of shape [n, 2] in C order: a fingerprint of a run that does not depend on the order the
    spikes were recorded in (threads, MPI ranks). For a monitor of a whole first population:
    ``spike_digest(mon.steps, mon.i)``."""
    steps = check_indices("steps", steps, ndim=1)
    neurons = check_indices("neurons", neurons, shape=steps.shape)
    for name, values in (("steps", steps), ("neurons", neurons)):
        if values.size and values.min() < 0:
            raise ValueError(f"{name} must be >= 0, got {values.min()}")
    order = np.lexsort((neurons, steps))
    pairs = np.stack([steps[order], neurons[order]], axis=1).astype("<i8")
    return hashlib.sha256(np.ascontiguousarray(pairs).tobytes()).hexdigest()


class _Sampled:
    """Values sampled every ``every`` steps from a first step on: ``values`` (samples, len(indices)), ``t`` (ms)."""

    indices: np.ndarray
    every: int

    def _start(self) -> None:
        self._values: list[np.ndarray] = []
        self._first_step: int | None = None
        self._dt = 1.0

    def _collect(self, values: np.ndarray, first_step: int, dt: float) -> None:
        if self._first_step is None and values.shape[0]:
            self._first_step = first_step
        self._values.append(values)
        self._dt = dt

    @property
    def values(self) -> np.ndarray:
        if not self._values:
            return np.zeros((0, self.indices.size))
        return np.concatenate(self._values)

    @property
    def t(self) -> np.ndarray:
        n = sum(v.shape[0] for v in self._values)
        return ((self._first_step or 0) + self.every * np.arange(n)) * self._dt


class StateMonitor(_Sampled):
    """Samples ``variable`` of the chosen neurons every ``every`` steps.

    ``values`` has shape (samples, len(indices)); ``t`` the sample times.
    """

    def __init__(self, source, variable: str, indices=None, every: int = 1) -> None:
        self.view: PopulationView = as_view(source, "source")
        self.variable = variable
        self.row = self.view.population._row(variable)
        if indices is None:
            indices = np.arange(self.view.n)
        self.indices = check_indices("indices", np.atleast_1d(indices), ndim=1)
        if self.indices.size == 0 or self.indices.min() < 0 or self.indices.max() >= self.view.n:
            raise ValueError(f"indices must be non-empty and lie in [0, {self.view.n}), got {indices!r}")
        self.every = check_int("every", every, minimum=1)
        self._start()

    def __repr__(self) -> str:
        return f"StateMonitor({self.view!r}, {self.variable!r})"


class RateMonitor:
    """Population rate of ``source`` in Hz at every step: spikes / (n · dt)."""

    def __init__(self, source) -> None:
        self.view: PopulationView = as_view(source, "source")
        self._counts: list[np.ndarray] = []
        self._first_step: int | None = None
        self._dt = 1.0

    def __repr__(self) -> str:
        return f"RateMonitor({self.view!r})"

    def _collect(self, counts: np.ndarray, first_step: int, dt: float) -> None:
        if self._first_step is None:
            self._first_step = first_step
        self._counts.append(counts)
        self._dt = dt

    @property
    def counts(self) -> np.ndarray:
        return np.concatenate(self._counts) if self._counts else np.zeros(0, np.int64)

    @property
    def rate(self) -> np.ndarray:
        return self.counts / (self.view.n * self._dt / 1000.0)

    @property
    def t(self) -> np.ndarray:
        return ((self._first_step or 0) + np.arange(self.counts.size)) * self._dt


class SynapseMonitor(_Sampled):
    """Samples ``variable`` of chosen synapses of a plastic projection every ``every`` steps.

    ``variable``: ``"weight"``, ``"eligibility"`` (R-STDP's c), ``"pre_trace"``,
    ``"post_trace"`` (the trace of the synapse's postsynaptic neuron) or
    ``"dopamine"`` (the projection's n, 1/ms). ``indices``: synapses in the
    projection's order (that of ``proj.weight``, or ``proj.weights.ravel()``
    for Dense), all by default. A sample at
    step t holds the value at the start of that step, the traces decayed to
    it and R-STDP weights integrated to it. ``values`` has shape
    (samples, len(indices)); ``t`` the sample times (ms).
    """

    def __init__(self, projection, variable: str = "weight", indices=None, every: int = 1) -> None:
        if getattr(projection, "plasticity", None) is None:
            raise ValueError(f"projection must be a projection with plasticity, got {projection!r}")
        self.projection = projection
        self.variable = check_choice("variable", variable, SYNAPSE_VARIABLES)
        if variable in ("eligibility", "dopamine") and not isinstance(projection.plasticity, RSTDP):
            raise ValueError(f"variable {variable!r} needs an R-STDP projection, got {projection.plasticity!r}")
        m = projection.n_synapses
        if indices is None:
            indices = np.arange(m)
        self.indices = check_indices("indices", np.atleast_1d(indices), ndim=1)
        if self.indices.size == 0 or self.indices.min() < 0 or self.indices.max() >= m:
            raise ValueError(f"indices must be non-empty and lie in [0, {m}), got {indices!r}")
        self.every = check_int("every", every, minimum=1)
        self._start()

    def __repr__(self) -> str:
        return f"SynapseMonitor({self.projection!r}, {self.variable!r})"
