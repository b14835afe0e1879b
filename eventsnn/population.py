"""Populations of identical neurons, and contiguous views into them."""
from __future__ import annotations

import numpy as np

from ._validation import check_int
from .neurons import NeuronModel


class Population:
    """``n`` neurons of one ``model``.

    State variables are read and written by name: ``pop["v"]`` is a view of
    the membrane potentials, ``pop["v"] = values`` sets them (a scalar or an
    array of length n). ``pop[a:b]`` is a :class:`PopulationView` for
    connecting and monitoring a sub-range, as in Brian2.
    """

    def __init__(self, n: int, model: NeuronModel, name: str | None = None) -> None:
        if not isinstance(model, NeuronModel):
            raise ValueError(f"model must be a neuron model (LIF, ALIF, ...), got {model!r}")
        self.n = check_int("n", n, minimum=1)
        model.check_size(self.n)
        self.model = model
        self.name = name or f"{type(model).__name__.lower()}_{id(self):x}"
        # Replaced by views into the network's state matrix once it is built.
        self.state = model.initial_state(self.n)
        self.refractory = np.zeros(self.n, np.int32)

    def __len__(self) -> int:
        return self.n

    def _row(self, name: str) -> int:
        rows = self.model.variables
        if name not in rows:
            raise ValueError(f"variable must be one of {sorted(rows)}, got {name!r}")
        return rows[name]

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.state[self._row(key)]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.n)
            if step != 1 or stop <= start:
                raise ValueError(f"a population view must be a non-empty contiguous slice, got {key!r}")
            return PopulationView(self, start, stop)
        raise ValueError(f"key must be a variable name or a slice, got {key!r}")

    def __setitem__(self, name: str, value) -> None:
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.size != self.n):
            raise ValueError(f"{name} must be a scalar or have shape ({self.n},), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        self.state[self._row(name)] = arr

    def __repr__(self) -> str:
        return f"Population({self.n}, {self.model!r}, name={self.name!r})"


class PopulationView:
    """Neurons ``start .. stop-1`` of a population."""

    def __init__(self, population: Population, start: int, stop: int) -> None:
        self.population, self.start, self.stop = population, start, stop

    @property
    def n(self) -> int:
        return self.stop - self.start

    def __len__(self) -> int:
        return self.n


def as_view(obj, name: str) -> PopulationView:
    """A population or view as a view; anything else is a ValueError naming ``name``."""
    if isinstance(obj, Population):
        return PopulationView(obj, 0, obj.n)
    if isinstance(obj, PopulationView):
        return obj
    raise ValueError(f"{name} must be a Population or a slice of one, got {obj!r}")
