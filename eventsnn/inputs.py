"""Inputs: Poisson populations, spike generators, and time-varying currents.

A constant current needs no object: set a population's ``I_ext`` variable
(``pop["I_ext"] = 1.5``), which holds until changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ._validation import as_array, check_array, check_positive
from .kernels.random import uniform
from .neuron_model import NeuronModel, Variable, parameter
from .population import as_view


@dataclass(frozen=True, eq=False)
class Poisson(NeuronModel):
    """Independent Poisson spike sources at ``rate`` Hz.

    In each step of ``dt`` ms, neuron k spikes when u < rate_k·dt/1000, with u
    uniform from the counter-based generator (seed, step, neuron); the
    per-neuron rates live in the state variable ``rate`` and may be changed
    between runs or driven by a :class:`TimedCurrent` on ``"rate"``. A rate
    above 1000/dt Hz (more than one spike per step) is refused.
    """

    rate: float = parameter(10.0, "Hz", nonnegative=True)

    variables: ClassVar = (Variable("rate", "Hz", "rate"),)

    def constants(self, dt: float) -> dict:
        self.check_state(np.asarray(self.rate), dt)
        return {"dt_s": dt / 1000.0}

    def check_state(self, state: np.ndarray, dt: float) -> None:
        if state.size and (state.max() * dt / 1000.0 > 1.0 or state.min() < 0):
            bad = state.max() if state.max() * dt / 1000.0 > 1.0 else state.min()
            raise ValueError(f"rate must lie in [0, {1000.0 / dt:g}] Hz (at most one spike per step of "
                             f"{dt} ms), got {bad}")

    @staticmethod
    def threshold(rate, dt_s, seed, step, index):
        return uniform(seed, step, np.uint64(index)) < rate * dt_s


@dataclass(frozen=True, eq=False)
class SpikeGenerator(NeuronModel):
    """Emits given spikes: neuron ``indices[k]`` fires at ``times[k]`` ms.

    Times are rounded to the nearest step; one neuron may not fire twice in
    the same step (ValueError at build time, as in Brian2).
    """

    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        idx = check_array("indices", self.indices, ndim=1, dtype=np.int64)
        if np.asarray(self.indices).size and not np.array_equal(idx, np.asarray(self.indices, dtype=np.float64)):
            raise ValueError(f"indices must be whole numbers, got {self.indices!r}")
        times = check_array("times", self.times, shape=(idx.size,), dtype=np.float64)
        if idx.size and idx.min() < 0:
            raise ValueError(f"indices must be >= 0, got {idx.min()}")
        if times.size and times.min() < 0:
            raise ValueError(f"times must be >= 0 ms, got {times.min()}")
        object.__setattr__(self, "indices", idx)
        object.__setattr__(self, "times", times)

    def check_size(self, n: int) -> None:
        if self.indices.size and self.indices.max() >= n:
            raise ValueError(f"indices must be < population size {n}, got {self.indices.max()}")

    def events(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(steps, indices) sorted by step then index."""
        steps = np.rint(self.times / dt).astype(np.int64)
        order = np.lexsort((self.indices, steps))
        steps, idx = steps[order], self.indices[order]
        dup = (np.diff(steps) == 0) & (np.diff(idx) == 0)
        if dup.any():
            k = int(np.flatnonzero(dup)[0])
            raise ValueError(f"neuron {idx[k]} fires twice in step {steps[k]} (dt = {dt} ms)")
        return steps, idx


class TimedCurrent:
    """A time-varying drive: ``values[k]`` applies during [k·dt, (k+1)·dt) ms.

    ``values`` has shape (T,) (the same for every neuron) or (T, n). The
    variable (``"I_ext"`` for neurons, ``"rate"`` in Hz for a Poisson
    population, or any other state variable) is overwritten at the start of each step; after the last
    sample the last value holds, as with Brian2's TimedArray.
    """

    def __init__(self, target, values, dt: float, variable: str = "I_ext") -> None:
        self.view = as_view(target, "target")
        names = self.view.population.model.variable_names()
        if variable not in names:
            raise ValueError(f"variable must be one of {names} for this model, got {variable!r}")
        self.variable = variable
        self.dt = check_positive("dt", dt)
        arr = as_array("values", values)
        if arr.ndim == 1:
            arr = np.repeat(arr[:, None], self.view.n, axis=1)
        self.values = check_array("values", arr, shape=(None, self.view.n))
        if self.values.shape[0] == 0:
            raise ValueError("values must hold at least one sample, got shape (0, n)")

    def __repr__(self) -> str:
        return f"TimedCurrent({self.view!r}, {self.variable!r})"

    def check(self, dt: float) -> None:
        """Refuse values the model could not run from on a network of step ``dt`` (e.g. a Poisson rate above
        1000/dt Hz), as it refuses them in its state: the population's state with the variable set to each
        (a block of samples at a time, so that a long drive costs little memory)."""
        pop = self.view.population
        row = pop.model.variable_names().index(self.variable)
        for first in range(0, self.values.shape[0], 256):
            block = self.values[first:first + 256]
            state = np.tile(pop.state[:, self.view.start:self.view.stop], (1, block.shape[0]))
            state[row] = block.ravel()
            pop.model.check_state(state, dt)

    def resampled(self, dt: float, n_steps: int) -> np.ndarray:
        """Values at each of ``n_steps`` network steps of ``dt`` ms."""
        k = np.minimum((np.arange(n_steps) * dt / self.dt + 1e-9).astype(np.int64), self.values.shape[0] - 1)
        return self.values[k]
