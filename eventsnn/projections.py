"""Projections: weighted, delayed connections from one population to another.

A projection names the state variable it drives (``target``: ``"exc"``,
``"inh"``, ``"v"``, or a model's own name such as ``"g_e"``; the model's
``targets`` maps each to one of its variables). A spike of
presynaptic neuron i at step t adds ``weight`` to that variable of each
postsynaptic neuron j at step t + round(delay/dt) (after the update of that
step, so a delay of 0 acts in the spike's own step, as in Brian2).

:class:`Sparse` stores synapses row-compressed by presynaptic neuron (CSR),
so a spike touches only its own row. :class:`Dense` stores a full weight
matrix. Builders: :meth:`Sparse.fixed_probability`,
:meth:`Sparse.fixed_indegree`, :meth:`Sparse.from_arrays`.

With ``plasticity=rule`` (:class:`~eventsnn.STDP`, :class:`~eventsnn.RSTDP`;
see :mod:`eventsnn.plasticity`) the synapses learn while the network runs;
each spike then reaches its synapse at step t + delay with the weight the
synapse has at that step, as in Brian2.
"""
from __future__ import annotations

from typing import Callable, Union

import numpy as np

from ._validation import as_array, check_array, check_bool, check_finite, check_indices, check_int, check_seed
from .kernels.connectivity import bernoulli_csr
from .plasticity import RSTDP, PlasticityRule
from .population import PopulationView, as_view

# A synaptic value: one number for all, or a function (rng, size) -> array.
ValueSpec = Union[float, Callable[[np.random.Generator, int], np.ndarray]]


def _values(name: str, spec, m: int, rng: np.random.Generator, nonnegative: bool = False) -> np.ndarray:
    """Per-synapse values from a scalar, an array of length m, or a (rng, size) callable."""
    arr = as_array(name, spec(rng, m) if callable(spec) else spec)
    if arr.ndim == 0:
        value = check_finite(name, float(arr))
        if nonnegative and value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        return np.broadcast_to(value, (m,))  # read-only, no memory: the network copies it into its table
    arr = check_array(name, arr, shape=(m,))
    if nonnegative and arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {arr.min()}")
    return arr


class Projection:
    """Common part of every projection: endpoints, the variable driven, and its synapses.

    A projection is the one owner of its weights: before its network is built
    it holds them; from then on ``weight`` (``weights`` for Dense) is the
    simulation's live array (the backend's), so after a run it shows what the
    simulation used, and what a user writes into it between runs is used by
    the next run and saved with the network. A plastic projection's weights
    read as a read-only array (for R-STDP a copy integrated to the current
    step): assign new ones (``proj.weight = values``), which checks them
    against the rule's bounds.
    """

    def __init__(self, pre, post, target: str, plasticity: PlasticityRule | None = None) -> None:
        self.pre: PopulationView = as_view(pre, "pre")
        self.post: PopulationView = as_view(post, "post")
        model = self.post.population.model
        if not isinstance(target, str) or target not in model.targets:
            raise ValueError(f"target must be one of {sorted(model.targets)} for {type(model).__name__}, "
                             f"got {target!r}")
        if plasticity is not None and not isinstance(plasticity, PlasticityRule):
            raise ValueError(f"plasticity must be a plasticity rule (STDP, RSTDP) or None, got {plasticity!r}")
        self.target = target
        self.variable = model.targets[target]
        self.plasticity = plasticity
        self._backend = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pre!r} -> {self.post!r}, target={self.target!r})"

    def bind(self, backend) -> None:
        """Hand the synapses to ``backend`` (done once, by the network that builds this projection)."""
        if self._backend is not None and self._backend is not backend:
            raise ValueError("this projection already belongs to another built network")
        self._backend = backend
        self._release()

    def _release(self) -> None:
        """Drop the arrays the backend now owns (one owner: they are read from it from then on)."""

    def synapses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pre index, post index, weight, delay in ms), local to the views, ordered by pre."""
        counts = self.out_degrees()
        post, weight, delay = self.rows()
        return np.repeat(np.arange(counts.size), counts), post, weight, delay

    def out_degrees(self) -> np.ndarray:
        """Number of synapses of each presynaptic neuron."""
        raise NotImplementedError

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(post index, weight, delay in ms) of every synapse, ordered by pre."""
        raise NotImplementedError

    @property
    def n_synapses(self) -> int:
        raise NotImplementedError

    def _weight_view(self, held: np.ndarray) -> np.ndarray:
        """The weights: ``held`` before build, then the backend's (``CPUBackend.current_weight``);
        read-only for a plastic projection, so that every write is an assignment its rule checks."""
        weight = held if self._backend is None else self._backend.current_weight(self)
        if self.plasticity is not None and weight.flags.writeable:
            weight = weight.view()
            weight.flags.writeable = False
        return weight

    def _assign(self, name: str, held: str, value, shape: tuple[int, ...]) -> None:
        """Set the weights from ``value`` (a number or an array of ``shape``): into attribute ``held`` before
        build, into the backend after (R-STDP synapses first brought to the current step)."""
        arr = as_array(name, value)
        if arr.ndim and arr.shape != shape:
            raise ValueError(f"{name} must be a number or have shape {shape}, got shape {arr.shape}")
        arr = check_array(name, np.broadcast_to(arr, shape), shape=shape)
        self._check_plastic_weights(arr)
        if self._backend is None:
            setattr(self, held, arr.copy())
        else:
            self._backend.write_weight(self, arr.ravel())

    def deliver_dopamine(self, spikes: float = 1.0) -> None:
        """Release dopamine onto this R-STDP projection as ``spikes`` spikes of its dopamine source would:
        n += spikes / tau_n at the next step the network runs (for closed-loop rewards between runs)."""
        if not isinstance(self.plasticity, RSTDP):
            raise ValueError(f"plasticity must be RSTDP to take dopamine, got {self.plasticity!r}")
        if isinstance(spikes, (bool, str, bytes)):
            raise ValueError(f"spikes must be a number, got {spikes!r}")
        spikes = check_finite("spikes", spikes)
        if spikes < 0:
            raise ValueError(f"spikes must be >= 0, got {spikes}")
        if self._backend is None:
            raise RuntimeError("dopamine is delivered to a built network: call net.build() or run it first")
        self._backend.deliver_dopamine(self, spikes)

    def _check_plastic_weights(self, weight: np.ndarray) -> None:
        if self.plasticity is not None:
            self.plasticity.check_weights(np.asarray(weight))


class Sparse(Projection):
    """Synapses in compressed sparse rows: row i lists the targets of pre neuron i."""

    def __init__(self, pre, post, indptr, indices, weight, delay, target: str = "exc",
                 plasticity: PlasticityRule | None = None) -> None:
        super().__init__(pre, post, target, plasticity)
        indptr = check_indices("indptr", indptr, shape=(self.pre.n + 1,))
        m = int(indptr[-1])
        if indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError(f"indptr must start at 0 and not decrease, got {indptr[:8]}...")
        indices = check_indices("indices", indices, shape=(m,))
        if m and (indices.min() < 0 or indices.max() >= self.post.n):
            raise ValueError(f"indices must lie in [0, {self.post.n}), got range [{indices.min()}, {indices.max()}]")
        indices = indices.astype(np.int32)  # post indices fit (networks stay below 2**31 neurons); half the memory
        delay = check_array("delay", delay, shape=(m,))
        if m and delay.min() < 0:
            raise ValueError(f"delay must be >= 0 ms, got {delay.min()}")
        self._set(indptr, indices, check_array("weight", weight, shape=(m,)), delay)
        self._check_plastic_weights(self._weight)

    def _set(self, indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, delay: np.ndarray) -> None:
        self._indptr, self._indices, self._weight, self._delay = indptr, indices, weight, delay

    def _release(self) -> None:
        self._indptr = self._indices = self._weight = self._delay = None

    @property
    def indptr(self) -> np.ndarray:
        """Row pointers (int64, n_pre + 1): pre neuron i's synapses are indptr[i]:indptr[i + 1]; read-only
        once built."""
        return self._indptr if self._backend is None else self._backend.row_pointers(self)

    @property
    def indices(self) -> np.ndarray:
        """Post index (local to ``post``, int32) of each synapse; read-only once built."""
        return self._indices if self._backend is None else self._backend.synapse_values(self, "post")

    @property
    def delay(self) -> np.ndarray:
        """Delay (ms) of each synapse; once built, the simulation's (whole steps · dt, a new array)."""
        return self._delay if self._backend is None else self._backend.delay_ms(self)

    @property
    def weight(self) -> np.ndarray:
        """Synaptic weights (in the unit of the target variable), one per synapse in CSR order."""
        return self._weight_view(self._weight)

    @weight.setter
    def weight(self, value) -> None:
        self._assign("weight", "_weight", value, (self.n_synapses,))

    @classmethod
    def _trusted(cls, pre, post, indptr, indices, weight, delay, target: str, plasticity) -> "Sparse":
        """A projection from arrays a builder made valid by construction (millions of synapses: no re-checks)."""
        proj = cls.__new__(cls)
        Projection.__init__(proj, pre, post, target, plasticity)
        proj._set(indptr, indices, weight, delay)
        proj._check_plastic_weights(weight)
        return proj

    @property
    def n_synapses(self) -> int:
        return int(self.indptr[-1])

    def out_degrees(self) -> np.ndarray:
        return np.diff(self.indptr)

    def rows(self):
        return self.indices, self.weight, self.delay

    @classmethod
    def from_arrays(cls, pre, post, i, j, weight: ValueSpec, delay: ValueSpec = 0.0, *, target: str = "exc",
                    plasticity: PlasticityRule | None = None, seed=None) -> "Sparse":
        """Synapses i[k] -> j[k] (indices local to ``pre`` and ``post``); ``plasticity``: a rule they learn by."""
        i = check_indices("i", i, ndim=1)
        j = check_indices("j", j, shape=(i.size,))
        pre_v, post_v = as_view(pre, "pre"), as_view(post, "post")
        if i.size and (i.min() < 0 or i.max() >= pre_v.n):
            raise ValueError(f"i must lie in [0, {pre_v.n}), got range [{i.min()}, {i.max()}]")
        if j.size and (j.min() < 0 or j.max() >= post_v.n):
            raise ValueError(f"j must lie in [0, {post_v.n}), got range [{j.min()}, {j.max()}]")
        rng = check_seed("seed", seed)
        w = _values("weight", weight, i.size, rng)
        d = _values("delay", delay, i.size, rng, nonnegative=True)
        if np.any(i[1:] < i[:-1]):  # the builders already emit rows in order
            order = np.argsort(i, kind="stable")
            i, j, w, d = i[order], j[order], w[order], d[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=pre_v.n))])
        return cls._trusted(pre_v, post_v, indptr, j.astype(np.int32), w, d, target, plasticity)

    @classmethod
    def fixed_probability(cls, pre, post, p: float, weight: ValueSpec, delay: ValueSpec = 0.0, *,
                          target: str = "exc", autapses: bool = True, plasticity: PlasticityRule | None = None,
                          seed=None) -> "Sparse":
        """Each pair (i, j) connected independently with probability ``p``.

        Pairs are drawn by geometric skipping over the n_pre·n_post grid
        (:func:`~eventsnn.kernels.connectivity.bernoulli_csr`), so the cost
        is proportional to the number of synapses made.
        ``autapses=False`` drops i -> i where pre and post overlap.
        """
        p = check_finite("p", p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must lie in [0, 1], got {p}")
        pre_v, post_v, rng = as_view(pre, "pre"), as_view(post, "post"), check_seed("seed", seed)
        same = not check_bool("autapses", autapses) and _overlap(pre_v, post_v) > 0
        shift = pre_v.start - post_v.start if same else post_v.n  # j == i + post.n never happens
        indptr, j = _bernoulli_csr(pre_v.n, post_v.n, p, shift, rng)
        m = j.size
        return cls._trusted(pre_v, post_v, indptr, j, _values("weight", weight, m, rng),
                            _values("delay", delay, m, rng, nonnegative=True), target, plasticity)

    @classmethod
    def fixed_indegree(cls, pre, post, k: int, weight: ValueSpec, delay: ValueSpec = 0.0, *,
                       target: str = "exc", autapses: bool = True, plasticity: PlasticityRule | None = None,
                       seed=None) -> "Sparse":
        """Each postsynaptic neuron receives exactly ``k`` distinct presynaptic partners."""
        pre_v, post_v, rng = as_view(pre, "pre"), as_view(post, "post"), check_seed("seed", seed)
        k = check_int("k", k, minimum=0)
        autapses = check_bool("autapses", autapses)
        available = pre_v.n - (0 if autapses else int(_overlap(pre_v, post_v) > 0))
        if k > available:
            raise ValueError(f"k must be <= {available} available presynaptic neurons, got {k}")
        i = rng.integers(0, pre_v.n, size=(post_v.n, k))
        j = np.repeat(np.arange(post_v.n)[:, None], k, axis=1)
        while True:  # redraw repeated (and, without autapses, self) partners until none is left
            i.sort(axis=1)
            bad = np.zeros(i.shape, bool)
            bad[:, 1:] = i[:, 1:] == i[:, :-1]
            if not autapses:
                bad |= ~_not_self(pre_v, post_v, i, j)
            if not bad.any():
                break
            i[bad] = rng.integers(0, pre_v.n, size=int(bad.sum()))
        return cls.from_arrays(pre_v, post_v, i.ravel(), j.ravel(), weight, delay, target=target,
                               plasticity=plasticity, seed=rng)


class Dense(Projection):
    """All-to-all projection with a full (n_pre, n_post) weight matrix."""

    def __init__(self, pre, post, weights, delay: float | np.ndarray = 0.0, *, target: str = "exc",
                 plasticity: PlasticityRule | None = None) -> None:
        super().__init__(pre, post, target, plasticity)
        shape = (self.pre.n, self.post.n)
        self._weights = check_array("weights", weights, shape=shape)
        self._check_plastic_weights(self._weights)
        d = as_array("delay", delay)
        self._delay = check_array("delay", np.broadcast_to(d, shape) if d.ndim == 0 else d, shape=shape)
        if self._delay.min() < 0:
            raise ValueError(f"delay must be >= 0 ms, got {self._delay.min()}")

    def _release(self) -> None:
        self._weights = self._delay = None

    @property
    def delay(self) -> np.ndarray:
        """The (n_pre, n_post) delays (ms); once built, the simulation's (whole steps · dt, a new array)."""
        if self._backend is None:
            return self._delay
        return self._backend.delay_ms(self).reshape(self.pre.n, self.post.n)

    @property
    def weights(self) -> np.ndarray:
        """The (n_pre, n_post) weight matrix; live once the network is built."""
        return self._weight_view(self._weights).reshape(self.pre.n, self.post.n)

    @weights.setter
    def weights(self, value) -> None:
        self._assign("weights", "_weights", value, (self.pre.n, self.post.n))

    @property
    def n_synapses(self) -> int:
        return self.pre.n * self.post.n

    def out_degrees(self) -> np.ndarray:
        return np.full(self.pre.n, self.post.n)

    def rows(self):
        return np.tile(np.arange(self.post.n), self.pre.n), self.weights.ravel(), self.delay.ravel()


def _bernoulli_csr(n_pre: int, n_post: int, p: float, shift: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, int32 indices) of :func:`~eventsnn.kernels.connectivity.bernoulli_csr`, sized to fit."""
    if p == 0.0:
        return np.zeros(n_pre + 1, np.int64), np.zeros(0, np.int32)
    seed = rng.integers(2**64, dtype=np.uint64)
    expected = n_pre * n_post * p
    capacity = int(expected + 6.0 * np.sqrt(expected) + 16.0)  # six standard deviations: one call, almost always
    while True:
        counts, indices = bernoulli_csr(n_pre, n_post, p, shift, seed, capacity)
        if counts.size:
            return np.cumsum(counts), indices
        capacity *= 2


def _overlap(pre: PopulationView, post: PopulationView) -> int:
    if pre.population is not post.population:
        return 0
    return max(0, min(pre.stop, post.stop) - max(pre.start, post.start))


def _not_self(pre: PopulationView, post: PopulationView, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if pre.population is not post.population:
        return np.ones(i.shape, bool)
    return (pre.start + i) != (post.start + j)

