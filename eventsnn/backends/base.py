"""A CPU backend: owns a built network's arrays, runs steps on them, reads and writes them.

``prepare`` turns populations, projections and inputs into the structures of
:mod:`eventsnn.backends.state`; from then on the backend is the single
owner of the simulation's state and synapses, and everything else (a
population's variables, a projection's weights, monitors, checkpoints) goes
through ``read`` and ``write``. The two CPU backends differ only in
``run``: a NumPy loop over steps (the readable specification) or one
compiled Numba call.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..inputs import SpikeGenerator
from ..kernels.codegen import Plan
from .state import Inputs, Populations, Recorder, Synapses


class CPUBackend:
    """Arrays in host memory; subclasses implement ``run`` and ``kernel``."""

    name = "cpu"

    def __init__(self, net) -> None:
        self.dt, self.seed = net.dt, net.seed
        self.index = {id(p): k for k, p in enumerate(net.populations)}
        self.projection_index = {id(pr): k for k, pr in enumerate(net.projections)}
        self.constants = [{} if isinstance(p.model, SpikeGenerator) else p.model.constants(net.dt)
                          for p in net.populations]
        self.plans = [None if isinstance(p.model, SpikeGenerator) else Plan.of(p.model, c)
                      for p, c in zip(net.populations, self.constants)]
        self.pops = self._populations(net.populations)
        self.syn = self._synapses(net)
        self.inputs = self._inputs(net)

    # --- building -------------------------------------------------------------
    def kernel(self, plan: Plan | None, model):
        """What ``run`` calls for a population of ``model`` (None for a spike generator, which has no dynamics)."""
        raise NotImplementedError

    def _populations(self, populations) -> Populations:
        sizes = [p.n for p in populations]
        kernels, scalars, arrays = [], [], []
        for pop, plan, constants in zip(populations, self.plans, self.constants):
            if plan is None:
                scalars.append(np.zeros(0))
                arrays.append(np.zeros((0, pop.n)))
                kernels.append(self.kernel(None, None))
                continue
            s, a = plan.pack(constants, pop.n)
            scalars.append(s)
            arrays.append(a)
            kernels.append(self.kernel(plan, pop.model))
        return Populations(
            kernels=tuple(kernels),
            state=tuple(np.ascontiguousarray(p.initial_state_block(), dtype=np.float64) for p in populations),
            refractory=tuple(np.ascontiguousarray(p.initial_refractory(), dtype=np.int32) for p in populations),
            scalars=tuple(scalars), arrays=tuple(arrays),
            bounds=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            generator=np.array([plan is None for plan in self.plans], bool),
        )

    def _synapses(self, net) -> Synapses:
        projections = net.projections
        targets: dict[tuple[int, int], int] = {}
        max_delay: dict[int, int] = {}
        columns = {name: [] for name in ("pre_pop", "pre_lo", "pre_hi", "post_lo", "target")}
        degrees, posts, weights, delays = [], [], [], []
        for pr in projections:
            post_pop = self.index[id(pr.post.population)]
            g = targets.setdefault((post_pop, pr.post.population.model.variable_names().index(pr.variable)),
                                   len(targets))
            columns["pre_pop"].append(self.index[id(pr.pre.population)])
            columns["pre_lo"].append(pr.pre.start)
            columns["pre_hi"].append(pr.pre.stop)
            columns["post_lo"].append(pr.post.start)
            columns["target"].append(g)
            post, weight, delay_ms = pr.rows()
            steps = delay_steps(delay_ms, self.dt)
            max_delay[g] = max(max_delay.get(g, 0), int(steps.max(initial=0)))
            degrees.append(pr.out_degrees())
            posts.append(post)
            weights.append(weight)
            delays.append(steps)
        cat = lambda parts, dtype: (np.concatenate(parts).astype(dtype, copy=False) if parts  # noqa: E731
                                    else np.zeros(0, dtype))
        indptr = [np.concatenate([[0], np.cumsum(d)]) for d in degrees]
        target_list = sorted(targets, key=targets.get)
        depth = np.array([max_delay[g] + 1 for g in range(len(target_list))], np.int64)
        size = np.array([self.pops.state[p].shape[1] for p, _ in target_list], np.int64)
        ring_off = np.concatenate([[0], np.cumsum(depth * size)]).astype(np.int64)
        return Synapses(
            **{k: np.array(v, np.int64) for k, v in columns.items()},
            ptr=np.concatenate([[0], np.cumsum([i.size for i in indptr])]).astype(np.int64),
            syn=np.concatenate([[0], np.cumsum([p.size for p in posts])]).astype(np.int64),
            indptr=cat(indptr, np.int64), post=cat(posts, np.int32), weight=cat(weights, np.float64),
            delay=cat(delays, np.int32),
            target_pop=np.array([p for p, _ in target_list], np.int64),
            target_row=np.array([r for _, r in target_list], np.int64),
            depth=depth, ring_off=ring_off, ring=np.zeros(int(ring_off[-1])),
        )

    def _inputs(self, net) -> Inputs:
        steps, index, cursor, end = [], [], [], []
        count = 0
        for k, p in enumerate(net.populations):
            cursor.append(count)
            if isinstance(p.model, SpikeGenerator):
                s, i = p.model.events(self.dt)
                steps.append(s)
                index.append(self.pops.bounds[k] + i)
                count += s.size
            end.append(count)
        cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
        if net.drives:
            n_steps = max(math.ceil(d.values.shape[0] * d.dt / self.dt - 1e-9) for d in net.drives)
            drive = np.ascontiguousarray(np.concatenate([d.resampled(self.dt, n_steps) for d in net.drives], axis=1))
        else:
            drive = np.zeros((1, 0))
        views = [(d.view, d.view.population.model.variable_names().index(d.variable)) for d in net.drives]
        return Inputs(
            gen_step=cat(steps), gen_index=cat(index),
            gen_cursor=np.array(cursor, np.int64), gen_end=np.array(end, np.int64),
            drive=drive,
            drive_pop=cat([np.full(v.n, self.index[id(v.population)]) for v, _ in views]),
            drive_row=cat([np.full(v.n, row) for v, row in views]),
            drive_index=cat([np.arange(v.start, v.stop) for v, _ in views]),
        )

    # --- running ----------------------------------------------------------------
    def run(self, rec: Recorder, t0: int, n_steps: int) -> int:
        """Advance ``n_steps`` from step ``t0``; returns the steps done."""
        raise NotImplementedError

    # --- reading and writing --------------------------------------------------------
    def state(self, pop) -> np.ndarray:
        """The live (variables, n) state block of population ``pop``."""
        return self.pops.state[self.index[id(pop)]]

    def refractory(self, pop) -> np.ndarray:
        return self.pops.refractory[self.index[id(pop)]]

    def synapse_block(self, proj, name: str) -> np.ndarray:
        """The live ``weight`` (float64) or ``delay`` (int32 steps) of projection ``proj``'s synapses."""
        k = self.projection_index[id(proj)]
        return getattr(self.syn, name)[self.syn.syn[k]:self.syn.syn[k + 1]]


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
