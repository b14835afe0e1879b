"""A network split over MPI ranks: which neurons each rank holds, and the spike exchange.

Under ``mpiexec -n K python script.py`` every rank builds the same Python
objects (same seeds, so the same connectivity whatever K: each rank draws
all of it, drawing is not distributed yet). At build each rank keeps a
contiguous block of every population, rank r of K holding neurons
[n·r//K, n·(r+1)//K) of a population of n, and only the synapses onto
them (post indices local to its block, presynaptic ranges global).
Population kernels take the block's global start as ``lo``, so the
counter-based Poisson draws are keyed by global neuron; a spike generator
emits its own neurons' events on their rank.

Every D steps (D = the smallest synaptic delay in steps, at least 1) the
ranks exchange spikes: each runs D steps without propagating (update,
threshold, reset, deliver from the delay ring), all-gathers the (step,
global neuron) pairs of its spikes, and every rank propagates all of them,
sorted by step then neuron, into its delay rings. Every arrival lies at
least D steps after its spike, so it is still in the future, and each
target adds its inputs in the single-process order (spike step, projection,
neuron, synapse): the spikes are bit-identical for any K. After the
exchange every rank holds all spikes, so spike and rate monitors are
complete on every rank; sampled states are gathered from their owners.

Communication per exchange: one Allgather of K counts (8 bytes each) and
one Allgatherv of 16 bytes per spike of the D steps, from all ranks.
Reading a state, a weight or a checkpoint gathers it (a collective: every
rank must call it); writing one sets each rank's part.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..mpi import world
from .state import Recorder

if TYPE_CHECKING:
    from ..network import Network
    from .base import CPUBackend

EXCHANGE_BUFFER = 1 << 22  # spikes a rank may buffer between exchanges (caps the interval below D if need be)


class Layout:
    """Which neurons of each population this process holds: all of them in one process, a block under MPI."""

    def __init__(self, comm: Any = None) -> None:
        """``comm``: an mpi4py communicator whose ranks share the network (None: one process holds it all)."""
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.exchanges = 0  # spike exchanges so far, and the spikes they carried (all ranks')
        self.exchanged_spikes = 0

    @classmethod
    def current(cls) -> "Layout":
        """One block per MPI rank under ``mpiexec -n K`` (K > 1), else everything here."""
        return cls(world())

    @property
    def distributed(self) -> bool:
        """Whether the network is spread over MPI ranks (a communicator was given)."""
        return self.comm is not None

    def block(self, n: int, rank: int | None = None) -> tuple[int, int]:
        """Neurons [lo, hi) of a population of ``n`` that ``rank`` (default: this one) holds."""
        r = self.rank if rank is None else rank
        return n * r // self.size, n * (r + 1) // self.size

    def gather(self, local: np.ndarray) -> np.ndarray:
        """The blocks of all ranks joined along the last (neuron) axis: ``local`` itself in one process."""
        if self.comm is None:
            return local
        return np.concatenate(self.comm.allgather(np.ascontiguousarray(local)), axis=-1)

    def part(self, full: np.ndarray, n: int) -> np.ndarray:
        """This rank's block of ``full`` (last axis: the ``n`` neurons of a population)."""
        lo, hi = self.block(n)
        return full[..., lo:hi]

    def gather_at(self, local: np.ndarray, positions: np.ndarray | None, size: int) -> np.ndarray:
        """An array of ``size`` whose elements ``positions`` are ``local`` on each rank (``local`` in one process)."""
        if self.comm is None:
            return local
        full = np.empty(size, local.dtype)
        for pos, values in self.comm.allgather((positions, local)):
            full[pos] = values
        return full

    def row_positions(self, indptr: np.ndarray) -> np.ndarray:
        """Where this rank's synapses of a projection (row pointers ``indptr``) lie among all ranks' when
        each row holds the lower ranks' synapses first (as when its targets ascend: blocks ascend by rank)."""
        ptrs = self.comm.allgather(indptr)
        before = np.diff(sum(ptrs[:self.rank], np.zeros_like(indptr)))  # each row's synapses on lower ranks
        rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
        return sum(ptrs)[rows] + before[rows] + np.arange(rows.size) - indptr[rows]

    def total(self, value):
        """``value`` (a number or an array) summed over the ranks."""
        return value if self.comm is None else self.comm.allreduce(value)

    def exchange(self, steps: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All ranks' (step, global neuron) spikes, sorted by step then neuron (Allgather, Allgatherv)."""
        local = np.ascontiguousarray(np.stack([steps, index], axis=1), dtype=np.int64)
        counts = np.zeros(self.size, np.int64)
        self.comm.Allgather(np.array([local.shape[0]], np.int64), counts)
        both = np.empty((int(counts.sum()), 2), np.int64)
        self.comm.Allgatherv(local, [both, counts * 2])
        order = np.lexsort((both[:, 1], both[:, 0]))
        self.exchanges += 1
        self.exchanged_spikes += both.shape[0]
        return both[order, 0].copy(), both[order, 1].copy()


def describe(net: Network, k: int) -> str:
    """Projection ``k`` of ``net`` in words, for error messages."""
    pr = net.projections[k]
    ends = [f"{v.population.name}[{v.start}:{v.stop}]" for v in (pr.pre, pr.post)]
    return f"projection {k} ({ends[0]} -> {ends[1]}, target {pr.target!r})"


def check_projection(net: Network, k: int, smallest: int, layout: Layout) -> None:
    """Refuse what a distributed network cannot run yet: plasticity, and delays (``smallest``, in steps)
    shorter than one step (a spike must reach another rank before it arrives, NEST's min-delay rule)."""
    if not layout.distributed:
        return
    if net.projections[k].plasticity is not None:
        raise NotImplementedError(f"{describe(net, k)} is plastic; plastic projections are not distributed over "
                                  f"MPI ranks yet: run it in one process")
    if smallest < 1:
        raise ValueError(f"{describe(net, k)} has a delay of {smallest * net.dt:g} ms; under MPI "
                         f"({layout.size} ranks) every delay must be at least one step (dt = {net.dt:g} ms)")


def check_size(net: Network, layout: Layout) -> None:
    """Refuse more ranks than the network has neurons (a rank would hold none of them)."""
    n = sum(p.n for p in net.populations)
    if layout.size > n:
        raise ValueError(f"the network has {n} neurons, fewer than the {layout.size} MPI ranks; run it on at "
                         f"most {n} ranks")


def run(sim: CPUBackend, rec: Recorder, t0: int, n_steps: int) -> Recorder:
    """Advance a distributed network ``n_steps`` from ``t0`` in rounds of D steps with an exchange after each.
    Returns ``rec`` (built for all neurons) filled with the whole network's record, its spike record
    replaced by one that holds them all."""
    layout, bounds = sim.layout, sim.pops.bounds
    most = sum(-(-int(n) // layout.size) for n in np.diff(bounds))  # at most held by a rank: one interval for all
    interval = max(1, min(sim.min_delay, EXCHANGE_BUFFER // max(1, most)))
    local, entries = _local_recorder(sim, rec, interval)
    recorded = []  # (steps, neurons) of the monitored spikes of each round
    for done in range(0, n_steps, interval):
        e = min(interval, n_steps - done)
        local.spike_count[0] = 0
        ran = sim.run(local, t0 + done, e, defer_propagation=True)
        if ran != e:  # the exchange below would stamp spikes of steps that never ran
            raise RuntimeError(f"the backend ran {ran} of the {e} steps from step {t0 + done} of a distributed run")
        c = int(local.spike_count[0])
        steps, index = layout.exchange(local.spike_step[:c], local.spike_index[:c])
        local.syn_events[0] += sim.propagate_events(steps, index)
        np.add.at(rec.pop_counts, (steps - t0, np.searchsorted(bounds, index, side="right") - 1), 1)
        kept = rec.spike_mask[index]
        recorded.append((steps[kept], index[kept]))
    rec.syn_events[0] = layout.total(int(local.syn_events[0]))
    for rows, count, values in layout.comm.allgather((entries, local.state_count,
                                                      local.state_values[:, :local.state_count.max(initial=0)])):
        rec.state_count[rows] = count
        rec.state_values[rows, :values.shape[1]] = values
    steps, index = (np.concatenate([r[i] for r in recorded] or [np.zeros(0, np.int64)]) for i in (0, 1))
    return rec._replace(spike_step=steps, spike_index=index, spike_count=np.array([steps.size], np.int64))


def _local_recorder(sim, rec: Recorder, interval: int) -> tuple[Recorder, np.ndarray]:
    """A recorder of this rank's own spikes (all of them, ``interval`` steps' worth) and of the sampled
    states it holds; and the rows of ``rec``'s sampled states it holds."""
    pops, layout = sim.pops, sim.layout
    mask = np.zeros(rec.spike_mask.size, bool)
    for p, block in enumerate(pops.state):
        mask[pops.lo[p]:pops.lo[p] + block.shape[1]] = True
    sizes = np.diff(pops.bounds)
    first = np.array([layout.block(int(n))[0] for n in sizes], np.int64)
    local_index = rec.state_index - first[rec.state_pop]
    entries = np.flatnonzero((local_index >= 0) & (local_index < np.array([s.shape[1] for s in pops.state],
                                                                          np.int64)[rec.state_pop]))
    capacity = interval * int(mask.sum())
    return rec._replace(
        spike_mask=mask, spike_step=np.zeros(capacity, np.int64), spike_index=np.zeros(capacity, np.int64),
        spike_count=np.zeros(1, np.int64),
        state_pop=rec.state_pop[entries], state_row=rec.state_row[entries], state_index=local_index[entries],
        state_every=rec.state_every[entries], state_values=np.zeros((entries.size, rec.state_values.shape[1])),
        state_count=np.zeros(entries.size, np.int64),
        pop_counts=np.zeros((interval, sizes.size), np.int64), syn_events=np.zeros(1, np.int64),
    ), entries
