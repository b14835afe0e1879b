"""The CUDA backend: the CPU backend's arrays, stepped on a GPU (numba-cuda; ``kernels.cuda.simulator``).

The host arrays stay the owner between runs (as in :class:`CPUBackend`), so
reading and writing a population's variables or a projection's weights,
monitors and checkpoints work unchanged. A run copies the dynamic arrays
(state, refractory counts, delay rings, generator cursors) to the device,
runs every step there, and copies them and the records back. The synapse
tables stay on the device across runs, but for two kinds of weight block,
copied to the device again before every run: a projection's block once it
has been handed out (it stays live and writable: ``w = proj.weight`` ...
``w[...] = 0`` after any number of runs writes the host's copy in place), and
a plastic projection's (the host brings R-STDP synapses up to date when
weights are written). So a network whose weights nobody touches copies them
once. Plastic projections learn on the device (``kernels.cuda.plasticity``):
their learning state goes back and forth with the dynamic arrays, and their
weights come back after each run. Spikes of a step are recorded in ascending
neuron order, as on the CPU (sorted after the copy back), and so are the live
entries of each step's presynaptic history of a plastic projection.

Not supported (refused when the network is built): MPI (one process, one GPU).
``Network.threads`` (CPU threads) is ignored. Results follow the determinism
contract of docs/cuda.md: float atomics reorder each target's sum.
"""
from __future__ import annotations

import numpy as np

from ..kernels import codegen
from .base import CPUBackend
from .distributed import Layout
from .state import Recorder

# The learning state a run changes (copied to the device before it and back after it); the rest of
# backends.state.Plasticity stays on the device across runs.
DYNAMIC = ("x_pre", "t_pre", "x_post", "t_post", "elig", "t_elig", "hist", "hist_n", "dopamine", "t_dopamine",
           "pending")


def device_kernels():
    """``kernels.cuda.simulator`` (importing ``numba.cuda``), once a GPU or Numba's CUDA simulator is there."""
    from ..kernels.cuda import arrays, simulator  # a MissingDependencyError without numba-cuda

    try:
        arrays.require_device()
    except RuntimeError as err:
        raise RuntimeError(f'backend="cuda": {err}') from None
    return simulator


class CudaBackend(CPUBackend):
    """Steps on a CUDA GPU; everything else as the CPU backends."""

    name = "cuda"

    def __init__(self, net) -> None:
        layout = Layout.current()
        if layout.distributed:
            raise ValueError(f'backend="cuda" runs in one process; mpiexec started {layout.size} ranks '
                             f'(use backend="numba" under MPI)')
        self.device = device_kernels()
        self.tables = None  # the synapse tables on the device, built by the first run
        self.learning = None  # the plastic projections' static arrays on the device, also built by the first run
        self.handed_out: set[int] = set()  # projections whose live weight block a caller may still write
        super().__init__(net)

    def kernel(self, plan: codegen.Plan | None, model):
        return None if model is None else self.device.population_step(codegen.device_neuron(plan, model))

    def run(self, rec: Recorder, t0: int, n_steps: int, defer_propagation: bool = False) -> int:
        """Steps t0 .. t0 + n_steps - 1 on the device, fewer only when the spike record fills (as on the CPU;
        the device skips the rest, ``kernels.cuda.simulator.begin_step``)."""
        if defer_propagation:
            raise ValueError('backend="cuda" does not defer propagation (it runs in one process, without MPI)')
        if self.tables is None:
            self.tables = self._tables()
            self.learning = {name: self.device.cuda.to_device(getattr(self.pl, name)) for name in self.pl._fields
                             if name not in DYNAMIC}
        else:
            for lo, hi in self._weight_blocks(self.handed_out.union(self.pl.proj.tolist())):
                self.tables.weight[lo:hi].copy_to_device(self.syn.weight[lo:hi])
        dyn, drive, record = self._dynamic(), self._drive(), self._record(rec, n_steps)
        samples = self._to_device(self.device.Samples, **{name: getattr(rec, name) for name in
                                                          self.device.Samples._fields})
        pl = self.pl._replace(**self.learning, **{name: self.device.cuda.to_device(getattr(self.pl, name))
                                                  for name in DYNAMIC})
        populations = self._device_populations(dyn)
        n = int(self.pops.bounds[-1])
        spikes = self.device.cuda.device_array(max(1, n), np.int64)
        sizes = self.device.Sizes(neurons=n, synapses=int(self.syn.post.size), recorded=rec.max_spikes_per_step,
                                  generated=int(np.diff(self.pops.bounds)[self.pops.generator].sum()),
                                  delayed_neurons=int(self._target_off()[-1]) if (self.syn.depth > 1).any() else 0,
                                  plastic=int(self.pl.proj.size), eligible=int(self.pl.elig_off[-1]))
        self.device.run(populations, self.tables, dyn, drive, record, samples, pl, spikes, sizes, self.seed, t0,
                        n_steps)
        self._copy_back(dyn, record, samples, rec)
        if self.pl.proj.size:
            self._learning_back(pl)
        return int(record.clock.copy_to_host()[1])

    def synapse_block(self, proj, name: str) -> np.ndarray:
        if name == "weight":
            self.handed_out.add(self.projection_index[id(proj)])
        return super().synapse_block(proj, name)

    # --- copies ------------------------------------------------------------------
    def _weight_blocks(self, projections) -> list[tuple[int, int]]:
        """The nonempty [lo, hi) ranges of ``projections``' weights in the synapse table."""
        bounds = [(int(self.syn.syn[k]), int(self.syn.syn[k + 1])) for k in sorted(projections)]
        return [(lo, hi) for lo, hi in bounds if hi > lo]

    def _to_device(self, structure, **arrays):
        """``structure`` (a NamedTuple of ``kernels.cuda.simulator``) of ``arrays`` copied to the device."""
        return structure(**{name: self.device.cuda.to_device(a) for name, a in arrays.items()})

    def _state_off(self) -> np.ndarray:
        """Where each population's state block starts in the flat device state."""
        return np.concatenate([[0], np.cumsum([s.size for s in self.pops.state])]).astype(np.int64)

    def _target_off(self) -> np.ndarray:
        sizes = [self.pops.state[p].shape[1] for p in self.syn.target_pop]
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def _at(self, pop: np.ndarray, row: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Flat device state addresses of variable ``row`` of local neuron ``index`` of population ``pop``."""
        n = np.array([s.shape[1] for s in self.pops.state], np.int64)
        return (self._state_off()[:-1][pop] + row * n[pop] + index).astype(np.int64)

    def _tables(self):
        syn = self.syn
        columns = ("pre_pop", "pre_lo", "pre_hi", "post_lo", "target", "ptr", "syn", "indptr", "post", "weight",
                   "delay", "plastic", "depth", "ring_off")
        return self._to_device(self.device.Tables, bounds=self.pops.bounds,
                               **{name: getattr(syn, name) for name in columns},
                               target_at=self._at(syn.target_pop, syn.target_row, np.zeros_like(syn.target_pop)),
                               target_off=self._target_off())

    def _dynamic(self):
        return self._to_device(self.device.Dynamic, state=np.concatenate([s.ravel() for s in self.pops.state]),
                               refractory=np.concatenate(self.pops.refractory), ring=self.syn.ring,
                               gen_cursor=self.inputs.gen_cursor)

    def _drive(self):
        inputs = self.inputs
        at = self._at(inputs.drive_pop, inputs.drive_row, inputs.drive_index)
        # Columns writing one place: the last one wins, as in the CPU's column order (one thread each here).
        keep = np.sort(at.size - 1 - np.unique(at[::-1], return_index=True)[1])
        return self._to_device(self.device.Drive, gen_pop=np.flatnonzero(self.pops.generator).astype(np.int64),
                               gen_step=inputs.gen_step, gen_index=inputs.gen_index, gen_end=inputs.gen_end,
                               drive=np.ascontiguousarray(inputs.drive[:, keep]), drive_at=at[keep])

    def _record(self, rec: Recorder, n_steps: int):
        names = ("spike_mask", "spike_step", "spike_index", "spike_count", "state_every", "state_values",
                 "state_count", "pop_counts", "syn_events")
        return self._to_device(self.device.Record, **{name: getattr(rec, name) for name in names},
                               state_at=self._at(rec.state_pop, rec.state_row, rec.state_index),
                               step_spikes=np.zeros(n_steps, np.int64), clock=np.array([-1, 0], np.int64))

    def _device_populations(self, dyn) -> list:
        pops, off, cuda = self.pops, self._state_off(), self.device.cuda
        return [self.device.Population(kernel=pops.kernels[p], p=p, first=int(pops.lo[p]),
                                       state=dyn.state[off[p]:off[p + 1]].reshape(pops.state[p].shape),
                                       refractory=dyn.refractory[pops.bounds[p]:pops.bounds[p + 1]],
                                       scalars=cuda.to_device(pops.scalars[p]), arrays=cuda.to_device(pops.arrays[p]))
                for p in range(pops.generator.size) if not pops.generator[p]]

    def _copy_back(self, dyn, record, samples, rec: Recorder) -> None:
        """The dynamic arrays and the records into their host owners; each step's recorded spikes sorted by
        neuron."""
        state, refractory = dyn.state.copy_to_host(), dyn.refractory.copy_to_host()
        off = self._state_off()
        for p, (s, r) in enumerate(zip(self.pops.state, self.pops.refractory)):
            s[...] = state[off[p]:off[p + 1]].reshape(s.shape)
            r[...] = refractory[self.pops.bounds[p]:self.pops.bounds[p + 1]]
        dyn.ring.copy_to_host(self.syn.ring)
        dyn.gen_cursor.copy_to_host(self.inputs.gen_cursor)
        for name in ("spike_count", "state_values", "state_count", "pop_counts", "syn_events"):
            getattr(record, name).copy_to_host(getattr(rec, name))
        samples.syn_values.copy_to_host(rec.syn_values)
        samples.syn_count.copy_to_host(rec.syn_count)
        c = int(rec.spike_count[0])
        if c:
            steps, index = record.spike_step[:c].copy_to_host(), record.spike_index[:c].copy_to_host()
            order = np.lexsort((index, steps))
            rec.spike_step[:c], rec.spike_index[:c] = steps[order], index[order]

    def _learning_back(self, pl) -> None:
        """The learning state and the weights into their host owners; each history slot's entries sorted (the
        device appends a step's presynaptic spikes in no particular order, the CPU in ascending order)."""
        for name in DYNAMIC:
            getattr(pl, name).copy_to_host(getattr(self.pl, name))
        for lo, hi in self._weight_blocks(self.pl.proj.tolist()):
            self.tables.weight[lo:hi].copy_to_host(self.syn.weight[lo:hi])
        host = self.pl
        for l in range(host.proj.size):
            n_pre = host.pre_range[l, 1] - host.pre_range[l, 0]
            for slot in range(host.depth[l]):
                start = host.group_off[l] + slot * n_pre
                host.hist[start:start + host.hist_n[host.slot_off[l] + slot]].sort()
