"""The NumPy reference backend: the readable specification of each operation.

A Python loop over steps; each population's model functions are called
neuron by neuron (``np.frompyfunc``) on Python floats, the very functions
Numba compiles. The Numba backend (``numba_backend``, ``kernels.cpu``,
``kernels.codegen``) performs the same arithmetic in the same order and must
give bit-identical results (tests/test_backends_agree.py).
"""
from __future__ import annotations

import numpy as np

from ..kernels.codegen import Plan
from ..neuron_model import function_arguments
from .base import CPUBackend
from .state import Inputs, Recorder, Synapses


class ModelStep:
    """One population's update, threshold and reset, vectorised over its neurons."""

    def __init__(self, plan: Plan | None, model) -> None:
        self.plan = plan
        self.functions = {}
        for name in ("update", "threshold", "after_spike"):
            fn = getattr(model, name) if model is not None else None
            if fn is not None:
                n_out = len(plan.variables) if name != "threshold" else 1
                self.functions[name] = (function_arguments(fn), np.frompyfunc(fn, len(function_arguments(fn)), n_out))

    def _call(self, name: str, values: dict, where=slice(None)):
        args, ufunc = self.functions[name]
        picked = [values[a] if np.ndim(values[a]) == 0 else values[a][where] for a in args]
        out = ufunc(*picked)
        return out if isinstance(out, tuple) else (out,)

    def __call__(self, S, ref, scalars, arrays, lo: int, step: int, seed: int) -> np.ndarray:
        """Advance the population one step; returns the local indices that fired."""
        plan = self.plan
        values = dict(zip(plan.variables, S))
        values.update(zip(plan.scalar_constants, scalars))
        values.update(zip(plan.array_constants, arrays))
        values.update(step=np.uint64(step), seed=np.uint64(seed), index=np.arange(lo, lo + S.shape[1], dtype=np.uint64))
        with np.errstate(over="ignore"):  # the counter-based generator's hash wraps on purpose
            if plan.refractory:
                ref[ref > 0] -= 1
            if "update" in self.functions:
                new = self._call("update", values)
                for row, (name, value) in enumerate(zip(plan.variables, new)):
                    value = value.astype(np.float64)
                    S[row] = np.where(ref > 0, S[row], value) if plan.refractory and name in plan.clamped else value
            if "threshold" not in self.functions:
                return np.zeros(0, np.int64)
            ready = (ref == 0) if plan.refractory else np.ones(S.shape[1], bool)
            fired = np.flatnonzero(ready & self._call("threshold", values)[0].astype(bool))
            if "after_spike" in self.functions and fired.size:
                for row, value in enumerate(self._call("after_spike", values, fired)):
                    S[row, fired] = np.asarray(value, dtype=np.float64)
            if plan.refractory:
                n_ref = values["n_ref"]
                ref[fired] = n_ref if np.ndim(n_ref) == 0 else n_ref[fired]
        return fired


class NumpyBackend(CPUBackend):
    """The reference: readable, slow."""

    name = "numpy"

    def kernel(self, plan: Plan | None, model) -> ModelStep:
        return ModelStep(plan, model)

    def run(self, rec: Recorder, t0: int, n_steps: int) -> int:
        pops, syn, inputs = self.pops, self.syn, self.inputs
        capacity, worst = rec.spike_step.size, rec.max_spikes_per_step
        for s in range(n_steps):
            if rec.spike_count[0] + worst > capacity:
                return s
            t = t0 + s
            record_state(pops.state, rec, t)
            apply_drive(pops.state, inputs, t)
            fired = []
            for p, step_population in enumerate(pops.kernels):
                lo = int(pops.bounds[p])
                if pops.generator[p]:
                    local = emit_generated(inputs, p, t) - lo
                else:
                    local = step_population(pops.state[p], pops.refractory[p], pops.scalars[p], pops.arrays[p],
                                            lo, t, self.seed)
                rec.pop_counts[s, p] = local.size
                fired.append(local + lo)
            spikes = np.concatenate(fired).astype(np.int64)
            rec.syn_events[0] += propagate(pops.state, pops.bounds, syn, spikes, t)
            deliver(pops.state, syn, t)
            record_spikes(rec, spikes, t)
        return n_steps


def apply_drive(state: tuple, inputs: Inputs, t: int) -> None:
    """Timed values overwrite their variables (the last row holds after the end)."""
    row = inputs.drive[min(t, inputs.drive.shape[0] - 1)]
    for c in range(inputs.drive_index.size):
        state[inputs.drive_pop[c]][inputs.drive_row[c], inputs.drive_index[c]] = row[c]


def emit_generated(inputs: Inputs, p: int, t: int) -> np.ndarray:
    """Global indices of population p's generator events up to step t; advances its cursor."""
    start, end = int(inputs.gen_cursor[p]), int(inputs.gen_end[p])
    stop = start + int(np.searchsorted(inputs.gen_step[start:end], t, side="right"))
    inputs.gen_cursor[p] = stop
    return inputs.gen_index[start:stop]


def propagate(state: tuple, bounds: np.ndarray, syn: Synapses, spikes: np.ndarray, t: int) -> int:
    """Each projection adds its synapses' weights from the neurons that fired to the target
    variable now (delay 0) or to the ring slot of step t + delay. ``np.add.at`` is unbuffered:
    repeated targets accumulate in synapse order. Returns the number of synapses reached."""
    reached = 0
    for k in range(syn.pre_pop.size):
        lo = bounds[syn.pre_pop[k]]
        local = spikes[(spikes >= lo + syn.pre_lo[k]) & (spikes < lo + syn.pre_hi[k])] - lo - syn.pre_lo[k]
        indptr = syn.indptr[syn.ptr[k]:syn.ptr[k + 1]]
        rows = [np.arange(indptr[i], indptr[i + 1]) for i in local]
        idx = syn.syn[k] + (np.concatenate(rows) if rows else np.zeros(0, np.int64))
        reached += idx.size
        g = syn.target[k]
        post = syn.post_lo[k] + syn.post[idx].astype(np.int64)
        delay = syn.delay[idx]
        now = delay == 0
        np.add.at(state[syn.target_pop[g]][syn.target_row[g]], post[now], syn.weight[idx[now]])
        size = state[syn.target_pop[g]].shape[1]
        slots = (t + delay[~now]) % syn.depth[g]
        np.add.at(syn.ring, syn.ring_off[g] + slots * size + post[~now], syn.weight[idx[~now]])
    return reached


def deliver(state: tuple, syn: Synapses, t: int) -> None:
    """Each delayed target adds this step's pending input and clears the slot."""
    for g in range(syn.target_pop.size):
        if syn.depth[g] == 1:
            continue
        row = state[syn.target_pop[g]][syn.target_row[g]]
        start = syn.ring_off[g] + (t % syn.depth[g]) * row.size
        pending = syn.ring[start:start + row.size]
        row += pending
        pending[:] = 0.0


def record_state(state: tuple, rec: Recorder, t: int) -> None:
    for m in np.flatnonzero(t % rec.state_every == 0):
        rec.state_values[m, rec.state_count[m]] = state[rec.state_pop[m]][rec.state_row[m], rec.state_index[m]]
        rec.state_count[m] += 1


def record_spikes(rec: Recorder, spikes: np.ndarray, t: int) -> None:
    kept = spikes[rec.spike_mask[spikes]]
    n = int(rec.spike_count[0])
    rec.spike_index[n:n + kept.size] = kept
    rec.spike_step[n:n + kept.size] = t
    rec.spike_count[0] = n + kept.size
