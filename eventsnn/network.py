"""A network: populations, projections, inputs and monitors, run step by step.

>>> net = Network(dt=0.1, seed=1)
>>> P = net.add(Population(4000, LIF(...)))
>>> net.add(Sparse.fixed_probability(P[:3200], P, 0.02, weight=1.62, target="exc"))
>>> spikes = net.add(SpikeMonitor(P))
>>> net.run(1000.0)  # ms

On the first run the network is built: its backend
(:class:`eventsnn.backends.base.CPUBackend`, ``net.sim``) takes the
populations' state, each projection's synapses and the inputs into its own
arrays and owns them from then on; ``P["v"]`` and ``proj.weight`` read and
write the live values through it.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import network_checkpoint
from ._validation import check_choice, check_finite, check_int, check_positive
from .backends import BACKENDS, CPUBackend, check_threads, check_weight_dtype, distributed, get_backend
from .backends.state import Recorder
from .checkpoint import Snapshot, checkpointable
from .inputs import TimedCurrent
from .monitors import RateMonitor, SpikeMonitor, StateMonitor, SynapseMonitor
from .plasticity import SYNAPSE_VARIABLES
from .population import Population, as_view
from .projections import Projection

CHUNK_STEPS = 10_000  # steps per backend call between harvests of the recorders


@checkpointable(network_checkpoint.KIND)
class Network:
    """A simulated network with time step ``dt`` (ms) and Poisson seed ``seed`` (an int in [0, 2**63)).

    ``eventsnn.save(net, path)`` writes it with its dynamic state (membranes,
    refractory counters, pending delayed spikes, monitor records);
    ``eventsnn.load(path)`` continues exactly where it stopped.

    ``threads``: how many threads the Numba backend steps on (as NEST's
    ``local_num_threads``); None (the default) uses Numba's current count
    (``numba.get_num_threads()``: all cores unless ``NUMBA_NUM_THREADS`` or
    ``numba.set_num_threads`` says otherwise), but at most one per 10 000
    neurons (``backends.numba_backend.default_threads``). More than
    ``NUMBA_NUM_THREADS`` split the work as finely but share Numba's
    threads. Spikes and state are bit-identical for every count
    (``backends.state``); plasticity's learn step runs on one thread. The
    NumPy backend always runs on one. Threads need Numba's ``omp`` or
    ``tbb`` threading layer (the ``workqueue`` fallback takes ~0.1 ms per
    parallel region, more than a step of a small network) and idle cores:
    they meet twice a step, so when other processes hold the cores one
    thread is faster (``OMP_WAIT_POLICY=passive`` softens the loss).

    ``weight_dtype``: how the simulation stores synaptic weights,
    ``"float64"`` (the default) or ``"float32"`` (weights rounded to float32
    when the network is built or written; 4 bytes less per synapse, the
    arithmetic stays float64). A built network stores per static synapse its
    int32 target, its weight and its delay in steps (uint8 when every delay
    is below 256 steps, uint16 below 65536, else int32), plus an int64 row
    pointer per presynaptic neuron: 9 bytes per synapse with float32 weights
    and 8-bit delays, 13 with float64, plus 8/out-degree.

    Under ``mpiexec -n K`` (K > 1) the same script builds a distributed
    network: each rank holds a block of every population and the synapses
    onto it, and spikes are exchanged every minimal delay, which must be at
    least one step; spikes, state and records are bit-identical for any K
    (``backends.distributed``). Every rank must make the same calls: reading
    a state (``P["v"]``), a weight or saving gathers from all ranks. Plastic
    projections are refused there. Give ranks times threads at most the cores.
    """

    def __init__(self, *objects, dt: float = 0.1, seed: int = 0, backend: str = "numba",
                 threads: int | None = None, weight_dtype: str = "float64") -> None:
        self.dt = check_positive("dt", dt)
        self.seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)  # the kernels take it as an int64
        self.backend = check_choice("backend", backend, tuple(BACKENDS))
        self.weight_dtype = check_weight_dtype(weight_dtype)
        self.populations: list[Population] = []
        self.projections: list[Projection] = []
        self.drives: list[TimedCurrent] = []
        self.monitors: list = []
        self.step = 0
        self.sim: CPUBackend | None = None
        self.threads = threads
        self.build_seconds = 0.0
        self.spike_count = 0  # spikes emitted so far, all populations
        self.syn_events = 0  # synapses reached by those spikes
        self.add(*objects)

    def checkpoint_state(self) -> Snapshot:
        return network_checkpoint.snapshot(self)

    # eventsnn.load(path, backend=...): checked before the file is read into a network
    load_options = {"backend": lambda value: check_choice("backend", value, tuple(BACKENDS))}

    @classmethod
    def from_checkpoint(cls, snap: Snapshot, backend: str | None = None) -> "Network":
        """The network ``snap`` describes, on ``backend`` (None: the one that saved it)."""
        return network_checkpoint.restore(cls, snap, backend)

    @property
    def threads(self) -> int | None:
        """Threads the Numba backend steps on (None: Numba's current count); may change between runs."""
        return self._threads

    @threads.setter
    def threads(self, value: int | None) -> None:
        self._threads = None if value is None else check_threads(value)
        if self.sim is not None:
            self.sim.threads = self._threads

    @property
    def t(self) -> float:
        """Simulated time so far (ms)."""
        return self.step * self.dt

    def add(self, *objects):
        """Add populations, projections, timed currents and monitors; returns the (last) object."""
        if self.sim is not None:
            raise RuntimeError("the network has been built; build a new Network to change its structure")
        for obj in objects:
            if isinstance(obj, Population):
                self._add_population(obj)
                continue
            if isinstance(obj, Projection):
                into = self.projections
            elif isinstance(obj, TimedCurrent):
                into = self.drives
            elif isinstance(obj, (SpikeMonitor, StateMonitor, RateMonitor, SynapseMonitor)):
                into = self.monitors
            else:
                raise ValueError(f"objects must be populations, projections, timed currents or monitors, got {obj!r}")
            if any(known is obj for known in into):  # it would act (or record) twice
                raise ValueError(f"objects may be added once each, got {obj!r} a second time")
            into.append(obj)
        return objects[-1] if objects else None

    def _add_population(self, pop: Population) -> None:
        if not any(p is pop for p in self.populations):
            self.populations.append(pop)

    # --- building -----------------------------------------------------------
    def build(self) -> CPUBackend:
        """Hand the objects to the backend, which builds its arrays (done by the first ``run``); returns it."""
        if self.sim is not None:
            return self.sim
        start = time.perf_counter()
        for m in self.monitors:
            if isinstance(m, SynapseMonitor) and not any(m.projection is pr for pr in self.projections):
                raise ValueError(f"a SynapseMonitor's projection must be added to the network, got {m.projection!r}")
        for obj in [*self.projections, *self.drives, *self.monitors]:
            for view in _views_of(obj):
                self._add_population(view.population)
        if not self.populations:
            raise ValueError("a network needs at least one population")
        for p in self.populations:
            if p._backend is not None:
                raise ValueError(f"population {p.name!r} already belongs to another built network")
        for k, pr in enumerate(self.projections):  # (checked first: the backend takes each one as it copies it)
            if pr._backend is not None:
                raise ValueError(f"projection {k} already belongs to another built network")
        if sum(p.n for p in self.populations) >= 2**31:
            raise ValueError(f"networks are limited to {2**31 - 1} neurons")
        for d in self.drives:  # their values are fixed: checked once, now that dt is known
            d.check(self.dt)
        sim = get_backend(self.backend)(self)
        for obj in [*self.populations, *self.projections]:
            obj.bind(sim)
        sim.now = self.step
        self.sim = sim
        self.build_seconds = time.perf_counter() - start
        return sim

    def _global(self, view) -> int:
        return int(self.sim.pops.bounds[self.sim.index[id(view.population)]]) + view.start

    # --- running --------------------------------------------------------------
    def run(self, duration: float) -> None:
        """Advance the network by ``duration`` ms in whole steps: rounded up when it is off the dt grid by more
        than 1e-4 dt (Brian2's rule), so that a run never silently does nothing."""
        duration = check_finite("duration", duration)
        if duration < 0:
            raise ValueError(f"duration must be >= 0 ms, got {duration}")
        sim = self.build()
        for p in self.populations:
            p.model.check_state(p.state, self.dt)
        steps = duration / self.dt
        remaining = round(steps) if abs(steps - round(steps)) <= 1e-4 else math.ceil(steps)
        while remaining:
            chunk = min(remaining, CHUNK_STEPS)
            rec = self._recorder(chunk)
            if sim.layout.distributed:
                rec, done = distributed.run(sim, rec, self.step, chunk), chunk
            else:
                done = sim.run(rec, self.step, chunk)
            self._harvest(rec, done)
            self.step += done
            sim.now = self.step
            remaining -= done

    def _recorder(self, n_steps: int) -> Recorder:
        n = int(self.sim.pops.bounds[-1])
        mask = np.zeros(n, bool)
        for m in self._spike_sources():
            lo = self._global(m.view)
            mask[lo:lo + m.view.n] = True
        state_monitors = [m for m in self.monitors if isinstance(m, StateMonitor)]
        pops = [np.full(m.indices.size, self.sim.index[id(m.view.population)]) for m in state_monitors]
        rows = [np.full(m.indices.size, m.row) for m in state_monitors]
        index = [m.view.start + m.indices for m in state_monitors]
        every = [np.full(m.indices.size, m.every) for m in state_monitors]
        cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
        k = sum(m.indices.size for m in state_monitors)
        capacity = max(1 << 16, 4 * int(mask.sum()))
        synapse_monitors = [m for m in self.monitors if isinstance(m, SynapseMonitor)]
        r = sum(m.indices.size for m in synapse_monitors)
        samples = lambda monitors: n_steps // min([m.every for m in monitors], default=1) + 1  # noqa: E731
        return Recorder(
            spike_mask=mask,
            spike_step=np.zeros(capacity, np.int64),
            spike_index=np.zeros(capacity, np.int64),
            spike_count=np.zeros(1, np.int64),
            state_pop=cat(pops), state_row=cat(rows), state_index=cat(index), state_every=cat(every),
            state_values=np.zeros((k, samples(state_monitors))),
            state_count=np.zeros(k, np.int64),
            pop_counts=np.zeros((n_steps, len(self.populations)), np.int64),
            syn_events=np.zeros(1, np.int64),
            syn_l=cat([np.full(m.indices.size, self.sim.plastic_index[id(m.projection)]) for m in synapse_monitors]),
            syn_q=cat([m.indices for m in synapse_monitors]),
            syn_var=cat([np.full(m.indices.size, SYNAPSE_VARIABLES.index(m.variable)) for m in synapse_monitors]),
            syn_every=cat([np.full(m.indices.size, m.every) for m in synapse_monitors]),
            syn_values=np.zeros((r, samples(synapse_monitors))),
            syn_count=np.zeros(r, np.int64),
        )

    def _spike_sources(self):
        """Monitors that need individual spikes (a rate of a whole population needs only counts)."""
        for m in self.monitors:
            if isinstance(m, SpikeMonitor) or (isinstance(m, RateMonitor) and m.view.n != m.view.population.n):
                yield m

    def _harvest(self, rec: Recorder, done: int) -> None:
        """Hand the recorded data of ``done`` steps to the monitors and counters."""
        self.syn_events += int(rec.syn_events[0])
        counts = rec.pop_counts[:done]
        self.spike_count += int(counts.sum())
        c = int(rec.spike_count[0])
        steps, index = rec.spike_step[:c], rec.spike_index[:c]
        row = {StateMonitor: 0, SynapseMonitor: 0}  # the next sampled monitor's first row in its buffer
        for m in self.monitors:
            if isinstance(m, (StateMonitor, SynapseMonitor)):
                values, count = ((rec.state_values, rec.state_count) if isinstance(m, StateMonitor)
                                 else (rec.syn_values, rec.syn_count))
                at, size = row[type(m)], m.indices.size
                first = self.step + (-self.step) % m.every
                m._collect(values[at:at + size, :count[at]].T.copy(), first, self.dt)
                row[type(m)] += size
                continue
            lo = self._global(m.view)
            if isinstance(m, RateMonitor) and m.view.n == m.view.population.n:
                p = next(q for q, pop in enumerate(self.populations) if pop is m.view.population)
                m._collect(counts[:, p].copy(), self.step, self.dt)
                continue
            inside = (index >= lo) & (index < lo + m.view.n)
            if isinstance(m, SpikeMonitor):
                m._collect(steps[inside].copy(), index[inside] - lo, self.dt)
            else:
                m._collect(np.bincount(steps[inside] - self.step, minlength=done)[:done], self.step, self.dt)


def _views_of(obj):
    if isinstance(obj, Projection):
        dopamine = getattr(obj.plasticity, "dopamine", None)
        return [obj.pre, obj.post] + ([as_view(dopamine, "dopamine")] if dopamine is not None else [])
    if isinstance(obj, SynapseMonitor):
        return []
    return [obj.view]
