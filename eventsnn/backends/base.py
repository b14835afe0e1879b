"""A CPU backend: owns a built network's arrays, runs steps on them, reads and writes them.

``prepare`` turns populations, projections and inputs into the structures of
:mod:`eventsnn.backends.state`; from then on the backend is the single
owner of the simulation's state and synapses, and everything else (a
population's variables, a projection's weights, monitors, checkpoints) goes
through the methods below. The two CPU backends differ only in ``run`` and
``propagate_events``: a NumPy loop over steps (the readable specification)
or one compiled Numba call. Under MPI (``backends.distributed``) the arrays
hold this rank's block of each population and the synapses onto it; reads
gather from all ranks and writes set this rank's part.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..inputs import SpikeGenerator
from ..kernels import plasticity as plasticity_kernels
from ..kernels.codegen import Plan
from ..kernels.cpu import rows_ascend
from ..plasticity import CONSTANTS, DECAY_COLUMNS, DECAY_STEPS, RSTDP, decay_table
from ..population import as_view
from .distributed import Layout, check_projection, check_size
from .state import Inputs, Plasticity, Populations, Recorder, Synapses


class CPUBackend:
    """Arrays in host memory; subclasses implement ``run`` and ``kernel``."""

    name = "cpu"

    def __init__(self, net) -> None:
        self.dt, self.seed, self.threads, self.weight_dtype = net.dt, net.seed, net.threads, net.weight_dtype
        self.layout = Layout.current()
        check_size(net, self.layout)
        self.index = {id(p): k for k, p in enumerate(net.populations)}
        self.projection_index = {id(pr): k for k, pr in enumerate(net.projections)}
        self.constants = [{} if isinstance(p.model, SpikeGenerator) else p.model.constants(net.dt)
                          for p in net.populations]
        self.plans = [None if isinstance(p.model, SpikeGenerator) else Plan.of(p.model, c, p.initial_state_block())
                      for p, c in zip(net.populations, self.constants)]
        self.pops = self._populations(net.populations)
        self.held = {}  # under MPI, for a projection whose rows' targets do not ascend: where its synapses held
        # here lie among all of its synapses (in the others a row's synapses lie in rank order: _positions)
        self.min_delay = 2**31 - 1  # steps: the smallest delay of any synapse (spikes are exchanged this often)
        self.syn = self._synapses(net)
        self.plastic_index = {id(pr): l for l, pr in enumerate(pr for pr in net.projections if pr.plasticity)}
        self.pl = self._plasticity(net)
        self.inputs = self._inputs(net)
        self.now = 0  # the next step to run (the network keeps it up to date)

    # --- building -------------------------------------------------------------
    def kernel(self, plan: Plan | None, model):
        """What ``run`` calls for a population of ``model`` (None for a spike generator, which has no dynamics)."""
        raise NotImplementedError

    def _populations(self, populations) -> Populations:
        sizes = [p.n for p in populations]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        kernels, scalars, arrays = [], [], []
        for pop, plan, constants in zip(populations, self.plans, self.constants):
            if plan is None:
                scalars.append(np.zeros(0))
                arrays.append(np.zeros((0, pop.n)))
                kernels.append(self.kernel(None, None))
                continue
            s, a = plan.pack(constants, pop.n)
            scalars.append(s)
            arrays.append(np.ascontiguousarray(self.layout.part(a, pop.n)))
            kernels.append(self.kernel(plan, pop.model))
        held = lambda values, dtype, p: np.ascontiguousarray(self.layout.part(values, p.n), dtype=dtype)  # noqa: E731
        return Populations(
            kernels=tuple(kernels),
            state=tuple(held(p.initial_state_block(), np.float64, p) for p in populations),
            refractory=tuple(held(p.initial_refractory(), np.int32, p) for p in populations),
            scalars=tuple(scalars), arrays=tuple(arrays), bounds=bounds,
            lo=np.array([b + self.layout.block(p.n)[0] for b, p in zip(bounds, populations)], np.int64),
            generator=np.array([plan is None for plan in self.plans], bool),
        )

    def _synapses(self, net) -> Synapses:
        """All projections' synapses in one table, written block by block (no temporary of the table's
        size): int32 targets, weights of the network's ``weight_dtype``, delays in steps in the
        narrowest of uint8, uint16 and int32 that holds the largest."""
        projections = net.projections
        targets: dict[tuple[int, int], int] = {}
        max_delay: dict[int, int] = {}
        columns = {name: [] for name in ("pre_pop", "pre_lo", "pre_hi", "post_lo", "target")}
        keep = {}  # under MPI: which of projection k's synapses are held here
        steps = {id(pr): _step_range(pr.rows()[2], self.dt) for pr in projections}  # (smallest, largest)
        largest = {key: hi for key, (_, hi) in steps.items()}
        for k, pr in enumerate(projections):
            post_pop = self.index[id(pr.post.population)]
            g = targets.setdefault((post_pop, pr.post.population.model.variable_names().index(pr.variable)),
                                   len(targets))
            first = self.layout.block(pr.post.population.n)[0]  # post_lo < 0: the view starts before the block
            for name, value in (("pre_pop", self.index[id(pr.pre.population)]), ("pre_lo", pr.pre.start),
                                ("pre_hi", pr.pre.stop), ("post_lo", pr.post.start - first), ("target", g)):
                columns[name].append(value)
            check_projection(net, k, steps[id(pr)][0], self.layout)
            self.min_delay = min(self.min_delay, steps[id(pr)][0])
            if not pr.plasticity:  # a plastic projection transmits when its spikes arrive, without the ring
                max_delay[g] = max(max_delay.get(g, 0), largest[id(pr)])  # of all ranks' synapses
            max_delay.setdefault(g, 0)
            if self.layout.distributed:  # only the synapses onto the neurons held here, in CSR order
                targets_k = pr.rows()[0]
                keep[k] = self._held(pr.post.population.n, pr.post.start + targets_k)
                if not rows_ascend(_row_pointers(pr.out_degrees()), targets_k):
                    self.held[k] = np.flatnonzero(keep[k])
        indptr = [_row_pointers(pr.out_degrees(), keep.get(k)) for k, pr in enumerate(projections)]
        syn = np.concatenate([[0], np.cumsum([i[-1] for i in indptr])]).astype(np.int64)
        delay_dtype = delay_type(max(largest.values(), default=0))
        post, weight = np.empty(syn[-1], np.int32), np.empty(syn[-1], self.weight_dtype)
        delay = np.empty(syn[-1], delay_dtype)
        ascending = []
        for k, pr in enumerate(projections):
            block = slice(syn[k], syn[k + 1])
            mask = keep.pop(k, None)
            post_k, weight_k, delay_k = (a if mask is None else a[mask] for a in pr.rows())
            check_fits(f"projection {k}'s weight", weight_k, self.weight_dtype)
            pr.bind(self)  # the projection drops its arrays: each is freed once copied (a peak of ~the table)
            post[block] = post_k
            del post_k
            weight[block] = weight_k
            del weight_k
            fill_delay_steps(delay[block], delay_k, self.dt)
            del delay_k
            ascending.append(rows_ascend(indptr[k], post[block]))
        target_list = sorted(targets, key=targets.get)
        depth = np.array([max_delay[g] + 1 for g in range(len(target_list))], np.int64)
        size = np.array([self.pops.state[p].shape[1] for p, _ in target_list], np.int64)
        ring_off = np.concatenate([[0], np.cumsum(depth * size)]).astype(np.int64)
        return Synapses(
            **{k: np.array(v, np.int64) for k, v in columns.items()},
            ptr=np.concatenate([[0], np.cumsum([i.size for i in indptr])]).astype(np.int64), syn=syn,
            indptr=np.concatenate(indptr) if indptr else np.zeros(0, np.int64), post=post, weight=weight, delay=delay,
            target_pop=np.array([p for p, _ in target_list], np.int64),
            target_row=np.array([r for _, r in target_list], np.int64),
            depth=depth, ring_off=ring_off, ring=np.zeros(int(ring_off[-1])),
            plastic=np.array([bool(pr.plasticity) for pr in projections], bool),
            ascending=np.array(ascending, bool),
        )

    def _plasticity(self, net) -> Plasticity:
        """The learning state of each plastic projection, and its synapses indexed by arrival and by target."""
        syn, bounds = self.syn, self.pops.bounds
        plastic = [(k, pr) for k, pr in enumerate(net.projections) if pr.plasticity is not None]
        parts = {name: [] for name in ("rule", "ranges", "pop", "depth", "arrival", "arrival_ptr", "incoming",
                                       "incoming_group", "incoming_ptr", "n_syn", "n_elig", "n_pre", "n_post")}

        def where(view) -> tuple[int, list[int]]:
            p = self.index[id(view.population)]
            return p, [int(bounds[p]) + view.start, int(bounds[p]) + view.stop]

        for k, pr in plastic:
            rule = pr.plasticity
            lo, hi = syn.syn[k], syn.syn[k + 1]
            indptr = syn.indptr[syn.ptr[k]:syn.ptr[k + 1]]
            delay, post = syn.delay[lo:hi].astype(np.int64), syn.post[lo:hi].astype(np.int64)
            depth = int(delay.max(initial=0)) + 1
            group = np.repeat(np.arange(pr.pre.n), np.diff(indptr)) * depth + delay  # presynaptic neuron, delay
            arrival, incoming = np.argsort(group, kind="stable"), np.argsort(post, kind="stable")
            dopamine = getattr(rule, "dopamine", None)
            (p_pre, r_pre), (p_post, r_post) = where(pr.pre), where(pr.post)
            p_dop, r_dop = where(as_view(dopamine, "dopamine")) if dopamine is not None else (-1, [0, 0])
            for name, value in (("rule", rule.constants(self.dt)), ("ranges", [r_pre, r_post, r_dop]),
                                ("pop", [p_pre, p_post, p_dop]), ("depth", depth), ("arrival", arrival),
                                ("arrival_ptr", np.searchsorted(group[arrival], np.arange(pr.pre.n * depth + 1))),
                                ("incoming", incoming), ("incoming_group", group[incoming]),
                                ("incoming_ptr", np.searchsorted(post[incoming], np.arange(pr.post.n + 1))),
                                ("n_syn", hi - lo), ("n_elig", (hi - lo) if isinstance(rule, RSTDP) else 0),
                                ("n_pre", pr.pre.n), ("n_post", pr.post.n)):
                parts[name].append(value)
        offsets = lambda sizes: np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)  # noqa: E731
        cat = lambda name: (np.concatenate(parts[name]).astype(np.int64) if parts[name]  # noqa: E731
                            else np.zeros(0, np.int64))
        size = {name: np.array(parts[name], np.int64) for name in ("depth", "n_syn", "n_elig", "n_pre", "n_post")}
        groups, posts, eligs = size["depth"] * size["n_pre"], int(size["n_post"].sum()), int(size["n_elig"].sum())
        ranges = np.array(parts["ranges"], np.int64).reshape(len(plastic), 3, 2)
        return Plasticity(
            proj=np.array([k for k, _ in plastic], np.int64),
            rule=np.array(parts["rule"], np.float64).reshape(len(plastic), len(CONSTANTS)),
            pre_range=ranges[:, 0].copy(), post_range=ranges[:, 1].copy(), dopamine_range=ranges[:, 2].copy(),
            pop=np.array(parts["pop"], np.int64).reshape(len(plastic), 3), depth=size["depth"],
            syn_off=offsets(size["n_syn"]), arrival=cat("arrival"), arrival_ptr=cat("arrival_ptr"),
            incoming=cat("incoming"), incoming_group=cat("incoming_group"), incoming_ptr=cat("incoming_ptr"),
            group_off=offsets(groups), x_pre=np.zeros(int(groups.sum())), t_pre=np.zeros(int(groups.sum()), np.int64),
            post_off=offsets(size["n_post"]), x_post=np.zeros(posts), t_post=np.zeros(posts, np.int64),
            elig_off=offsets(size["n_elig"]), elig=np.zeros(eligs), t_elig=np.zeros(eligs, np.int64),
            decay=np.array([decay_table(k) for k in parts["rule"]]).reshape(len(plastic), DECAY_STEPS,
                                                                             len(DECAY_COLUMNS)),
            hist=np.zeros(int(groups.sum()), np.int64), slot_off=offsets(size["depth"]),
            hist_n=np.zeros(int(size["depth"].sum()), np.int64),
            dopamine=np.zeros(len(plastic)), t_dopamine=np.zeros(len(plastic), np.int64),
            pending=np.zeros(len(plastic)),
        )

    def _held(self, n: int, index: np.ndarray) -> np.ndarray:
        """Which neurons ``index`` of a population of ``n`` are held here (a mask)."""
        lo, hi = self.layout.block(n)
        return (index >= lo) & (index < hi)

    def _inputs(self, net) -> Inputs:
        steps, index, cursor, end = [], [], [], []
        count = 0
        for k, p in enumerate(net.populations):
            cursor.append(count)
            if isinstance(p.model, SpikeGenerator):
                s, i = p.model.events(self.dt)
                s, i = s[self._held(p.n, i)], i[self._held(p.n, i)]  # its neurons' events, on their rank
                steps.append(s)
                index.append(self.pops.bounds[k] + i)
                count += s.size
            end.append(count)
        cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
        # each drive's columns of the neurons held here (all of them in one process)
        held = [np.flatnonzero(self._held(d.view.population.n, np.arange(d.view.start, d.view.stop)))
                for d in net.drives]
        if net.drives:
            n_steps = max(math.ceil(d.values.shape[0] * d.dt / self.dt - 1e-9) for d in net.drives)
            drive = np.ascontiguousarray(np.concatenate([d.resampled(self.dt, n_steps)[:, h]
                                                         for d, h in zip(net.drives, held)], axis=1))
        else:
            drive = np.zeros((1, 0))
        views = [(d.view, d.view.population.model.variable_names().index(d.variable)) for d in net.drives]
        return Inputs(
            gen_step=cat(steps), gen_index=cat(index),
            gen_cursor=np.array(cursor, np.int64), gen_end=np.array(end, np.int64),
            drive=drive,
            drive_pop=cat([np.full(h.size, self.index[id(v.population)]) for (v, _), h in zip(views, held)]),
            drive_row=cat([np.full(h.size, row) for (_, row), h in zip(views, held)]),
            drive_index=cat([v.start + h - self.layout.block(v.population.n)[0] for (v, _), h in zip(views, held)]),
        )

    # --- running ----------------------------------------------------------------
    def run(self, rec: Recorder, t0: int, n_steps: int, defer_propagation: bool = False) -> int:
        """Advance ``n_steps`` from step ``t0``; returns the steps done. ``defer_propagation`` skips step 4
        (under MPI the spikes are exchanged first, then ``propagate_events``)."""
        raise NotImplementedError

    def propagate_events(self, steps: np.ndarray, index: np.ndarray) -> int:
        """Step 4 for spikes of earlier steps (global neurons, sorted by step then neuron), each step's
        spikes as in their own step; every delay must reach past the last step run. Returns the synapses
        reached."""
        raise NotImplementedError

    # --- reading and writing (under MPI: reads gather from all ranks, writes set this rank's part) ----------
    def state(self, pop) -> np.ndarray:
        """The (variables, n) state of population ``pop``: the live block in one process, a read-only copy
        gathered from all ranks under MPI."""
        return self._whole(self.layout.gather(self.pops.state[self.index[id(pop)]]))

    def refractory(self, pop) -> np.ndarray:
        """Steps each neuron of ``pop`` stays refractory (as ``state``)."""
        return self._whole(self.layout.gather(self.pops.refractory[self.index[id(pop)]]))

    def write(self, pop, values, name: str = "state", row: int | None = None) -> None:
        """Set population ``pop``'s ``state`` (or one ``row`` of it) or ``refractory`` to ``values``
        (broadcast to all n neurons)."""
        held = getattr(self.pops, name)[self.index[id(pop)]]
        if row is not None:
            held = held[row]
        held[...] = self.layout.part(np.broadcast_to(values, held.shape[:-1] + (pop.n,)), pop.n)

    def synapse_block(self, proj, name: str) -> np.ndarray:
        """The live ``weight`` (writable) or ``post`` or ``delay`` (steps; read-only) of projection
        ``proj``'s synapses held here."""
        k = self.projection_index[id(proj)]
        return _view(getattr(self.syn, name)[self.syn.syn[k]:self.syn.syn[k + 1]], writeable=name == "weight")

    def synapse_values(self, proj, name: str) -> np.ndarray:
        """``synapse_block`` of all of ``proj``'s synapses, in its order (a gathered copy under MPI)."""
        return self._whole(self.layout.gather_at(self.synapse_block(proj, name), self._positions(proj),
                                                 proj.n_synapses))

    def _positions(self, proj) -> np.ndarray | None:
        """Where ``proj``'s synapses held here lie among all of its synapses (None in one process)."""
        k = self.projection_index[id(proj)]
        if not self.layout.distributed or k in self.held:
            return self.held.get(k)
        return self.layout.row_positions(self.syn.indptr[self.syn.ptr[k]:self.syn.ptr[k + 1]])

    def row_pointers(self, proj) -> np.ndarray:
        """Projection ``proj``'s row pointers (int64, local to its block; read-only): under MPI the sums of
        the ranks' (each counts its synapses of every row)."""
        k = self.projection_index[id(proj)]
        return self._whole(self.layout.total(_view(self.syn.indptr[self.syn.ptr[k]:self.syn.ptr[k + 1]],
                                                   writeable=False)))

    def delay_ms(self, proj) -> np.ndarray:
        """Projection ``proj``'s delays in ms, as simulated (a new float64 array)."""
        return self.synapse_values(proj, "delay") * self.dt

    def ring(self) -> np.ndarray:
        """The pending delayed input as one process holds it: target by target, (depth, n) slot-major."""
        return np.concatenate([self.layout.gather(block).ravel() for block in self._rings()] or [np.zeros(0)])

    def write_ring(self, ring: np.ndarray) -> None:
        """Set the pending delayed input from ``ring`` (laid out as ``ring()`` returns it)."""
        start = 0
        for block, p in zip(self._rings(), self.syn.target_pop):
            n = int(self.pops.bounds[p + 1] - self.pops.bounds[p])
            block[...] = self.layout.part(ring[start:start + block.shape[0] * n].reshape(block.shape[0], n), n)
            start += block.shape[0] * n

    def _rings(self) -> list[np.ndarray]:
        syn = self.syn
        return [syn.ring[syn.ring_off[g]:syn.ring_off[g + 1]].reshape(syn.depth[g], -1)
                for g in range(syn.target_pop.size)]

    def generator_cursor(self) -> np.ndarray:
        """Each population's next spike-generator event not yet emitted, as an index into the events of all
        populations concatenated (as one process holds them)."""
        start = np.concatenate([[0], self.inputs.gen_end[:-1]]).astype(np.int64)
        emitted, events = (self.layout.total(a) for a in (self.inputs.gen_cursor - start, self.inputs.gen_end - start))
        return np.concatenate([[0], np.cumsum(events)[:-1]]).astype(np.int64) + emitted

    def write_generator_cursor(self, cursor: np.ndarray) -> None:
        """Set the generator cursors (as ``generator_cursor`` returns them); under MPI each rank's follow from
        the current step (every event before it was emitted)."""
        inputs = self.inputs
        if not self.layout.distributed:
            inputs.gen_cursor[...] = cursor
            return
        start = np.concatenate([[0], inputs.gen_end[:-1]]).astype(np.int64)
        for p, (a, b) in enumerate(zip(start, inputs.gen_end)):
            inputs.gen_cursor[p] = a + np.searchsorted(inputs.gen_step[a:b], self.now)

    def _whole(self, values: np.ndarray) -> np.ndarray:
        """Gathered values are a copy: read-only, so that writing into them fails instead of being lost."""
        if self.layout.distributed:
            values.flags.writeable = False
        return values

    # --- plasticity ---------------------------------------------------------------
    def plastic_state(self, proj) -> dict[str, np.ndarray]:
        """Live views of the learning state of plastic projection ``proj`` (what a checkpoint saves)."""
        l, pl = self.plastic_index[id(proj)], self.pl
        blocks = {"group_off": ("x_pre", "t_pre", "hist"), "post_off": ("x_post", "t_post"),
                  "elig_off": ("elig", "t_elig"), "slot_off": ("hist_n",)}
        out = {}
        for off, names in blocks.items():
            lo, hi = getattr(pl, off)[l], getattr(pl, off)[l + 1]
            out.update({name: getattr(pl, name)[lo:hi] for name in names})
        out.update({name: getattr(pl, name)[l:l + 1] for name in ("dopamine", "t_dopamine", "pending")})
        return out

    def current_weight(self, proj) -> np.ndarray:
        """Projection ``proj``'s weights at the current step: its live block (a gathered copy under MPI),
        or for R-STDP (weights integrated lazily) a read-only copy integrated to the current step. Reading
        changes nothing: storing the integrated weights would split each synapse's closed-form piece in two."""
        l = self.plastic_index.get(id(proj))
        if l is None or not isinstance(proj.plasticity, RSTDP):
            return self.synapse_values(proj, "weight")
        weight = self.weights_at(l, self.now)
        weight.flags.writeable = False
        return weight

    def write_weight(self, proj, values: np.ndarray) -> None:
        """Set ``proj``'s weights (all of them, in its order), R-STDP synapses first brought to the current
        step (writing weights is an event for them)."""
        check_fits(f"projection {self.projection_index[id(proj)]}'s weight", values, self.weight_dtype)
        l = self.plastic_index.get(id(proj))
        if l is not None and isinstance(proj.plasticity, RSTDP):
            self.catch_up_all(l, self.now)
        held = self._positions(proj)
        self.synapse_block(proj, "weight")[...] = values if held is None else values[held]

    def catch_up_all(self, l: int, t: int) -> None:
        """Bring every synapse of R-STDP projection ``l`` to step ``t`` (stored; compiled, on the host arrays)."""
        plasticity_kernels.catch_up_all(self.syn, self.pl, l, t)

    def weights_at(self, l: int, t: int) -> np.ndarray:
        """The weights of R-STDP projection ``l`` integrated to step ``t`` (a new array; nothing stored)."""
        return plasticity_kernels.weights_at(self.syn, self.pl, l, t)

    def deliver_dopamine(self, proj, spikes: float) -> None:
        """Release ``spikes`` dopamine spikes onto ``proj`` at the next step run."""
        self.pl.pending[self.plastic_index[id(proj)]] += spikes


def check_fits(name: str, values: np.ndarray, dtype: np.dtype) -> None:
    """Refuse float64 ``values`` beyond the range of ``dtype`` (float32 would store them as infinities)."""
    limit = float(np.finfo(dtype).max)
    if values.size and dtype != values.dtype and max(-values.min(), values.max()) > limit:
        bad = values.max() if values.max() > limit else values.min()
        raise ValueError(f"{name} must lie within the network's weight_dtype {np.dtype(dtype).name} "
                         f"(|w| <= {limit:g}), got {bad}")


def _row_pointers(degree: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Row pointers of rows of ``degree`` synapses (only those ``keep`` marks)."""
    if keep is not None:
        degree = np.bincount(np.repeat(np.arange(degree.size), degree)[keep], minlength=degree.size)
    return np.concatenate([[0], np.cumsum(degree)]).astype(np.int64)


def _view(block: np.ndarray, writeable: bool) -> np.ndarray:
    view = block.view()
    view.flags.writeable = writeable
    return view


CHUNK = 1 << 22  # delays converted at a time, so the temporaries stay small beside a billion synapses
DELAY_TYPES = (np.uint8, np.uint16, np.int32)


def delay_type(largest: int) -> type:
    """The narrowest of uint8, uint16 and int32 that holds delays of up to ``largest`` steps."""
    for dtype in DELAY_TYPES:
        if largest <= np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"delay must be below {np.iinfo(np.int32).max} steps, got {largest} steps")


def _chunks(values: np.ndarray):
    """(slice, values[slice]) of at most CHUNK values; one for a broadcast scalar (stride 0)."""
    if values.size and values.strides == (0,):
        yield slice(None), values[:1]
        return
    for a in range(0, values.size, CHUNK):
        yield slice(a, a + CHUNK), values[a:a + CHUNK]


def _step_range(delay_ms: np.ndarray, dt: float) -> tuple[int, int]:
    """The smallest and the largest delay in whole steps ((2**31 - 1, 0) without synapses)."""
    smallest, largest = 2**31 - 1, 0
    for _, part in _chunks(delay_ms):
        steps = np.rint(part / dt)
        smallest, largest = min(smallest, int(steps.min())), max(largest, int(steps.max()))
    return smallest, largest


def fill_delay_steps(out: np.ndarray, delay_ms: np.ndarray, dt: float) -> None:
    """``out`` = round(delay_ms / dt), chunk by chunk (the first chunk's warning when delays are off the
    dt grid)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for where, part in _chunks(delay_ms):
            out[where] = delay_steps(part, dt)
    if caught:
        warnings.warn(caught[0].message, stacklevel=5)


def delay_steps(delay_ms: np.ndarray, dt: float) -> np.ndarray:
    """Delays in whole steps, round(delay/dt); warns when a delay is off the dt grid."""
    if not delay_ms.any():  # most projections have no delays: no conversion
        return np.zeros(delay_ms.shape, np.int32)
    steps = np.rint(delay_ms / dt)
    off = np.abs(delay_ms / dt - steps) > 1e-6
    if off.any():
        bad = float(delay_ms[off][0])
        warnings.warn(f"delay {bad} ms is not a multiple of dt = {dt} ms; delays are rounded to whole steps "
                      f"({round(bad / dt) * dt:g} ms)", stacklevel=5)
    return steps.astype(np.int32)
