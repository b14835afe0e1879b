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
from ..kernels.plasticity import synapse_value
from ..neuron_model import function_arguments
from ..plasticity import (NEAREST, POST, PRE, RATE_MINUS, RATE_PLUS, RSTDP_, bump, catch_up, dopamine_at,
                          on_arrival, on_post_spike, trace_at)
from .base import CPUBackend
from .state import Inputs, Plasticity, Recorder, Synapses


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

    def catch_up_all(self, l: int, t: int) -> None:
        catch_up_all(self.syn, self.pl, l, t)

    def weights_at(self, l: int, t: int) -> np.ndarray:
        return _caught_up(self.syn, self.pl, l, np.arange(self.pl.elig_off[l + 1] - self.pl.elig_off[l]), t)[0]

    def run(self, rec: Recorder, t0: int, n_steps: int, defer_propagation: bool = False) -> int:
        pops, syn, inputs = self.pops, self.syn, self.inputs
        capacity, worst = rec.spike_step.size, rec.max_spikes_per_step
        for s in range(n_steps):
            if rec.spike_count[0] + worst > capacity:
                return s
            t = t0 + s
            record_state(pops.state, rec, t)
            record_synapses(syn, self.pl, rec, t)
            apply_drive(pops.state, inputs, t)
            fired = []
            for p, step_population in enumerate(pops.kernels):
                lo = int(pops.lo[p])
                if pops.generator[p]:
                    local = emit_generated(inputs, p, t) - lo
                else:
                    local = step_population(pops.state[p], pops.refractory[p], pops.scalars[p], pops.arrays[p],
                                            lo, t, self.seed)
                rec.pop_counts[s, p] = local.size
                fired.append(local + lo)
            spikes = np.concatenate(fired).astype(np.int64)
            if not defer_propagation:
                rec.syn_events[0] += propagate(pops.state, pops.bounds, syn, spikes, t)
            rec.syn_events[0] += learn(pops.state, syn, self.pl, spikes, t)
            deliver(pops.state, syn, t)
            record_spikes(rec, spikes, t)
        return n_steps

    def propagate_events(self, steps: np.ndarray, index: np.ndarray) -> int:
        return sum(propagate(self.pops.state, self.pops.bounds, self.syn, index[steps == t], t)
                   for t in np.unique(steps))


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
    for k in np.flatnonzero(~syn.plastic):  # a plastic projection transmits when its spikes arrive (learn)
        lo = bounds[syn.pre_pop[k]]
        local = spikes[(spikes >= lo + syn.pre_lo[k]) & (spikes < lo + syn.pre_hi[k])] - lo - syn.pre_lo[k]
        indptr = syn.indptr[syn.ptr[k]:syn.ptr[k + 1]]
        rows = [np.arange(indptr[i], indptr[i + 1]) for i in local]
        idx = syn.syn[k] + (np.concatenate(rows) if rows else np.zeros(0, np.int64))
        reached += idx.size
        g = syn.target[k]
        post = syn.post_lo[k] + syn.post[idx].astype(np.int64)
        delay = syn.delay[idx].astype(np.int64)  # stored as narrow as they fit: t + delay must not wrap
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


def _each(fn, n_out: int, *args):
    """``fn`` applied element by element to the broadcast arguments, on Python numbers (the C library's
    math, as in the kernels); float64 arrays out."""
    out = np.frompyfunc(fn, len(args), n_out)(*args)
    return tuple(o.astype(np.float64) for o in out) if n_out > 1 else np.asarray(out, dtype=np.float64)


def _rule(fn, *constants: np.ndarray):
    """An equation of ``eventsnn.plasticity`` with its rule's constants (and tables) bound."""
    return lambda *args: fn(*args, *constants)


def learn(state: tuple, syn: Synapses, pl: Plasticity, spikes: np.ndarray, t: int) -> int:
    """Each plastic projection: remember who fired, release dopamine, let this step's arrivals transmit and
    learn, then the postsynaptic spikes. Returns the synapses reached by arrivals."""
    reached = 0
    for l in range(pl.proj.size):
        remember_presynaptic(pl, l, spikes, t)
        if pl.rule[l, RSTDP_]:
            release_dopamine(syn, pl, l, spikes, t)
        reached += arrive(state, syn, pl, l, t)
        postsynaptic(syn, pl, l, spikes, t)
    return reached


def _inside(spikes: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    return spikes[(spikes >= bounds[0]) & (spikes < bounds[1])]


def remember_presynaptic(pl: Plasticity, l: int, spikes: np.ndarray, t: int) -> None:
    """The presynaptic neurons that fired at step t go to slot t % depth of the history."""
    fired = _inside(spikes, pl.pre_range[l]) - pl.pre_range[l, 0]
    slot = t % pl.depth[l]
    start = pl.group_off[l] + slot * (pl.pre_range[l, 1] - pl.pre_range[l, 0])
    pl.hist[start:start + fired.size] = fired
    pl.hist_n[pl.slot_off[l] + slot] = fired.size


def catch_up_all(syn: Synapses, pl: Plasticity, l: int, t: int) -> None:
    """Every synapse of R-STDP projection l brought to step t."""
    e = slice(pl.elig_off[l], pl.elig_off[l + 1])
    w0 = syn.syn[pl.proj[l]]
    w = syn.weight[w0:w0 + e.stop - e.start]
    w[:], pl.elig[e] = _each(_rule(catch_up, pl.rule[l], pl.decay[l]), 2, w, pl.elig[e], pl.t_elig[e],
                             pl.dopamine[l], pl.t_dopamine[l], t)
    pl.t_elig[e] = t


def release_dopamine(syn: Synapses, pl: Plasticity, l: int, spikes: np.ndarray, t: int) -> None:
    """The dopamine source's spikes at step t and those delivered from Python raise n (after the synapses
    are brought to step t with the old n)."""
    amount = pl.pending[l] + _inside(spikes, pl.dopamine_range[l]).size
    if amount == 0.0:
        return
    catch_up_all(syn, pl, l, t)
    pl.dopamine[l] = dopamine_at(pl.dopamine[l], pl.t_dopamine[l], t, amount, pl.rule[l])
    pl.t_dopamine[l], pl.pending[l] = t, 0.0


def _caught_up(syn: Synapses, pl: Plasticity, l: int, q: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """(weight, eligibility) of synapses q of projection l at step t: R-STDP ones integrated to t."""
    k, wq = pl.rule[l], syn.syn[pl.proj[l]] + q
    if not k[RSTDP_]:
        return syn.weight[wq], np.zeros(q.size)
    e = pl.elig_off[l] + q
    return _each(_rule(catch_up, k, pl.decay[l]), 2, syn.weight[wq], pl.elig[e], pl.t_elig[e], pl.dopamine[l],
                 pl.t_dopamine[l], t)


def _pair(syn: Synapses, pl: Plasticity, l: int, q: np.ndarray, t: int, w, c, x, pairing) -> None:
    """Synapses q of projection l, at (w, c) at step t, pair with trace values x (``pairing``:
    on_arrival or on_post_spike)."""
    k = pl.rule[l]
    syn.weight[syn.syn[pl.proj[l]] + q], c = _each(_rule(pairing, k), 2, w, c, x)
    if k[RSTDP_]:
        pl.elig[pl.elig_off[l] + q], pl.t_elig[pl.elig_off[l] + q] = c, t


def arrive(state: tuple, syn: Synapses, pl: Plasticity, l: int, t: int) -> int:
    """The synapses whose presynaptic spike arrives at step t (emitted at t - delay) add their weight to the
    target variable and are depressed; each group's presynaptic trace is bumped. Returns how many arrived."""
    k, proj, depth, g0 = pl.rule[l], pl.proj[l], int(pl.depth[l]), pl.group_off[l]
    n_pre = pl.pre_range[l, 1] - pl.pre_range[l, 0]
    groups = []
    for d in range(depth):  # spikes emitted d steps ago reach their synapses of delay d
        slot = (t - d) % depth
        start = g0 + slot * n_pre
        groups.append(pl.hist[start:start + pl.hist_n[pl.slot_off[l] + slot]] * depth + d)
    group = np.concatenate(groups)
    pl.x_pre[g0 + group] = _each(_rule(bump, pl.decay[l], PRE), 1, pl.x_pre[g0 + group], pl.t_pre[g0 + group], t,
                                 k[RATE_PLUS], k[NEAREST])
    pl.t_pre[g0 + group] = t
    ptr = pl.arrival_ptr[g0 + l:]
    rows = [pl.arrival[pl.syn_off[l] + ptr[g]:pl.syn_off[l] + ptr[g + 1]] for g in group]
    q = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    j = syn.post[syn.syn[proj] + q].astype(np.int64)
    w, c = _caught_up(syn, pl, l, q, t)
    g = syn.target[proj]
    np.add.at(state[syn.target_pop[g]][syn.target_row[g]], syn.post_lo[proj] + j, w)
    p = pl.post_off[l] + j
    x_post = _each(_rule(trace_at, pl.decay[l], POST), 1, pl.x_post[p], pl.t_post[p], t, k[RATE_MINUS])
    _pair(syn, pl, l, q, t, w, c, x_post, on_arrival)
    return q.size


def postsynaptic(syn: Synapses, pl: Plasticity, l: int, spikes: np.ndarray, t: int) -> None:
    """Each postsynaptic neuron that fired at step t bumps its trace and potentiates its incoming synapses."""
    k, s0, p0 = pl.rule[l], pl.syn_off[l], pl.post_off[l]
    j = _inside(spikes, pl.post_range[l]) - pl.post_range[l, 0]
    pl.x_post[p0 + j] = _each(_rule(bump, pl.decay[l], POST), 1, pl.x_post[p0 + j], pl.t_post[p0 + j], t,
                              k[RATE_MINUS], k[NEAREST])
    pl.t_post[p0 + j] = t
    ptr = pl.incoming_ptr[p0 + l:]
    pos = np.concatenate([np.arange(s0 + ptr[n], s0 + ptr[n + 1]) for n in j]) if j.size else np.zeros(0, np.int64)
    group = pl.group_off[l] + pl.incoming_group[pos]
    q = pl.incoming[pos]
    w, c = _caught_up(syn, pl, l, q, t)
    x_pre = _each(_rule(trace_at, pl.decay[l], PRE), 1, pl.x_pre[group], pl.t_pre[group], t, k[RATE_PLUS])
    _pair(syn, pl, l, q, t, w, c, x_pre, on_post_spike)


def record_synapses(syn: Synapses, pl: Plasticity, rec: Recorder, t: int) -> None:
    for m in np.flatnonzero(t % rec.syn_every == 0):
        rec.syn_values[m, rec.syn_count[m]] = synapse_value(syn, pl, rec.syn_l[m], rec.syn_q[m], rec.syn_var[m], t)
        rec.syn_count[m] += 1


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
