"""Populations of identical neurons, and contiguous views into them."""
from __future__ import annotations

import numpy as np

from ._validation import as_array, check_int
from .neuron_model import NeuronModel


class Population:
    """``n`` neurons of one ``model``.

    State variables are read and written by name: ``pop["v"]`` is the live
    array of membrane potentials, ``pop["v"] = values`` sets them (a scalar
    or an array of length n). ``pop[a:b]`` is a :class:`PopulationView` for
    connecting and monitoring a sub-range, as in Brian2. Until a network is
    built the population holds its initial state; from then on the network's
    backend owns the state and the population reads and writes it there.
    """

    def __init__(self, n: int, model: NeuronModel, name: str | None = None) -> None:
        if not isinstance(model, NeuronModel):
            raise ValueError(f"model must be a neuron model (LIF, ALIF, ...), got {model!r}")
        self.n = check_int("n", n, minimum=1)
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string or None, got {name!r}")
        model.check_size(self.n)
        self.model = model
        self.name = name or f"{type(model).__name__.lower()}_{id(self):x}"
        self._state = model.initial_state(self.n)
        self._refractory = np.zeros(self.n, np.int32)
        self._backend = None

    def __len__(self) -> int:
        return self.n

    def bind(self, backend) -> None:
        """Hand the state to ``backend`` (done once, by the network that builds this population)."""
        if self._backend is not None and self._backend is not backend:
            raise ValueError(f"population {self.name!r} already belongs to another built network")
        self._backend, self._state, self._refractory = backend, None, None

    def initial_state_block(self) -> np.ndarray:
        """The (variables, n) state the population holds before it is built."""
        return self._state

    def initial_refractory(self) -> np.ndarray:
        return self._refractory

    @property
    def state(self) -> np.ndarray:
        """The live (variables, n) state block, rows in ``model.variables`` order (under MPI a read-only
        copy gathered from all ranks: set values with ``pop[name] = values``)."""
        return self._state if self._backend is None else self._backend.state(self)

    @property
    def refractory(self) -> np.ndarray:
        """Steps each neuron stays refractory."""
        return self._refractory if self._backend is None else self._backend.refractory(self)

    def _row(self, name: str) -> int:
        names = self.model.variable_names()
        if name not in names:
            raise ValueError(f"variable must be one of {sorted(names)}, got {name!r}")
        return names.index(name)

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.state[self._row(key)]
        if isinstance(key, slice):
            return _sliced(self, 0, self.n, key)
        raise ValueError(f"key must be a variable name or a slice, got {key!r}")

    def __setitem__(self, name: str, value) -> None:
        row = self._row(name)
        arr = as_array(name, value)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.size != self.n):
            raise ValueError(f"{name} must be a scalar or have shape ({self.n},), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if self._backend is None:
            self._state[row] = arr
        else:
            self._backend.write(self, arr, row=row)

    def __repr__(self) -> str:
        return f"Population({self.n}, {self.model!r}, name={self.name!r})"


class PopulationView:
    """Neurons ``start .. stop-1`` of a population (0 <= start <= stop <= population.n).

    ``view[a:b]`` slices it further, as a view of the same population."""

    def __init__(self, population: Population, start: int, stop: int) -> None:
        if not isinstance(population, Population):
            raise ValueError(f"population must be a Population, got {population!r}")
        start = check_int("start", start, minimum=0)
        stop = check_int("stop", stop, minimum=start)
        if stop > population.n:
            raise ValueError(f"stop must be <= the population's size {population.n}, got {stop}")
        self.population, self.start, self.stop = population, start, stop

    def __getitem__(self, key) -> "PopulationView":
        if not isinstance(key, slice):
            raise ValueError(f"key must be a slice, got {key!r}")
        return _sliced(self.population, self.start, self.n, key)

    @property
    def n(self) -> int:
        return self.stop - self.start

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"{self.population.name}[{self.start}:{self.stop}]"


def _sliced(population: Population, offset: int, n: int, key: slice) -> PopulationView:
    """The view of neurons ``key`` (a slice, clamped to [0, n) as NumPy's) of the ``n`` from ``offset`` on."""
    try:
        start, stop, step = key.indices(n)
    except TypeError:
        raise ValueError(f"a population view's slice must hold integers, got {key!r}") from None
    if step != 1 or stop <= start:
        raise ValueError(f"a population view must be a non-empty contiguous slice, got {key!r}")
    return PopulationView(population, offset + start, offset + stop)


def as_view(obj, name: str) -> PopulationView:
    """A population or view as a view; anything else is a ValueError naming ``name``."""
    if isinstance(obj, Population):
        return PopulationView(obj, 0, obj.n)
    if isinstance(obj, PopulationView):
        return obj
    raise ValueError(f"{name} must be a Population or a slice of one, got {obj!r}")
