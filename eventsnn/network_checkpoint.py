"""A network as a checkpoint Snapshot, and back.

- ``config``: dt, seed, backend, and the structure: populations (model class
  and parameters, size, name), projections (endpoints, target, kind),
  timed currents and monitors, each endpoint as [population, start, stop].
- ``parameters``: synapse tables (``projections.K.indptr|indices|weight|delay``
  or ``projections.K.weights|delay``), timed values (``drives.K.values``) and
  spike-generator events (``populations.K.indices|times``).
- ``groups["dynamic"]``: the step count, the state matrix (membranes,
  synaptic variables), refractory counters, the delay ring of pending
  input, generator cursors; ``groups["monitors"]``: what was recorded so far.

Restoring and running on gives the same spikes as never having stopped.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .checkpoint import Snapshot, expect_arrays
from .errors import CheckpointError
from .inputs import Poisson, SpikeGenerator, TimedCurrent
from .kernels import layout as L
from .monitors import RateMonitor, SpikeMonitor, StateMonitor
from .neurons import ALIF, IF, LIF, CondLIF, Izhikevich
from .population import Population, PopulationView
from .projections import Dense, Sparse

KIND = "eventsnn.Network"
MODELS = {cls.__name__: cls for cls in (LIF, IF, ALIF, CondLIF, Izhikevich, Poisson, SpikeGenerator)}
_ARRAY_FIELDS = {"indices", "times"}  # SpikeGenerator fields stored as parameters


def snapshot(net) -> Snapshot:
    """The whole network, built if it was not yet."""
    sim = net.build()
    pops = net.populations
    index = {id(p): k for k, p in enumerate(pops)}

    def where(view: PopulationView) -> list[int]:
        return [index[id(view.population)], view.start, view.stop]

    params: dict[str, np.ndarray] = {}
    pop_cfg = []
    for k, p in enumerate(pops):
        fields = {f.name: getattr(p.model, f.name) for f in dataclasses.fields(p.model)}
        for name in _ARRAY_FIELDS & fields.keys():
            params[f"populations.{k}.{name}"] = fields.pop(name)
        pop_cfg.append({"name": p.name, "n": p.n, "model": type(p.model).__name__, "params": fields})
    proj_cfg = []
    for k, pr in enumerate(net.projections):
        proj_cfg.append({"pre": where(pr.pre), "post": where(pr.post), "target": pr.target,
                         "kind": "dense" if isinstance(pr, Dense) else "sparse"})
        if isinstance(pr, Dense):
            params[f"projections.{k}.weights"], params[f"projections.{k}.delay"] = pr.weights, pr.delay
        else:
            for name in ("indptr", "indices", "weight", "delay"):
                params[f"projections.{k}.{name}"] = getattr(pr, name)
    drive_cfg = []
    for k, d in enumerate(net.drives):
        drive_cfg.append({"target": where(d.view), "variable": d.variable, "dt": d.dt})
        params[f"drives.{k}.values"] = d.values
    mon_cfg, records = [], {}
    for k, m in enumerate(net.monitors):
        cfg = {"type": type(m).__name__, "source": where(m.view)}
        if isinstance(m, StateMonitor):
            cfg.update(variable=m.variable, indices=m.indices.tolist(), every=m.every)
            records[str(k)] = {"values": m.values, "first_step": -1 if m._first_step is None else m._first_step}
        elif isinstance(m, SpikeMonitor):
            records[str(k)] = {"steps": m.steps, "i": m.i}
        else:
            records[str(k)] = {"counts": m.counts, "first_step": -1 if m._first_step is None else m._first_step}
        mon_cfg.append(cfg)
    config = {"dt": net.dt, "seed": net.seed, "backend": net.backend, "populations": pop_cfg,
              "projections": proj_cfg, "drives": drive_cfg, "monitors": mon_cfg}
    dynamic = {"step": net.step, "spike_count": net.spike_count, "syn_events": net.syn_events,
               "state": sim.state, "refractory": sim.refractory, "ring": sim.ring, "gen_cursor": sim.gen_cursor}
    return Snapshot(KIND, config, params, {"dynamic": dynamic, "monitors": records})


def restore(cls, snap: Snapshot):
    """Rebuild the network a snapshot describes (a :class:`CheckpointError` if it does not fit)."""
    cfg, params = snap.config, snap.parameters
    try:
        pops = [_population(k, p, params) for k, p in enumerate(cfg["populations"])]

        def view(spec) -> PopulationView:
            pop, start, stop = spec
            return PopulationView(pops[pop], start, stop)

        net = cls(dt=cfg["dt"], seed=cfg["seed"], backend=cfg["backend"])
        net.add(*pops)
        for k, pc in enumerate(cfg["projections"]):
            pre, post = view(pc["pre"]), view(pc["post"])
            if pc["kind"] == "dense":
                shape = (pre.n, post.n)
                expect_arrays({n: params.get(f"projections.{k}.{n}") for n in ("weights", "delay")},
                              {"weights": (shape, np.float64), "delay": (shape, np.float64)}, f"/parameters/projections.{k}")
                net.add(Dense(pre, post, params[f"projections.{k}.weights"], params[f"projections.{k}.delay"],
                              target=pc["target"]))
            else:
                net.add(_sparse(k, pre, post, pc["target"], params))
        for k, dc in enumerate(cfg["drives"]):
            net.add(TimedCurrent(view(dc["target"]), params[f"drives.{k}.values"], dc["dt"], dc["variable"]))
        for mc in cfg["monitors"]:
            source = view(mc["source"])
            if mc["type"] == "StateMonitor":
                net.add(StateMonitor(source, mc["variable"], mc["indices"], mc["every"]))
            else:
                net.add({"SpikeMonitor": SpikeMonitor, "RateMonitor": RateMonitor}[mc["type"]](source))
    except CheckpointError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise CheckpointError(f"/config: does not describe a network ({type(err).__name__}: {err})") from err
    _check_parameters_used(cfg, params)
    sim = net.build()
    if "dynamic" in snap.groups:
        _restore_dynamic(net, sim, snap.groups["dynamic"])
        _restore_records(net, snap.groups.get("monitors", {}))
    return net


def _population(k: int, spec: dict, params: dict) -> Population:
    model_cls = MODELS.get(spec["model"])
    if model_cls is None:
        raise CheckpointError(f"/config/populations/{k}: unknown neuron model {spec['model']!r}")
    fields = dict(spec["params"])
    for name in _ARRAY_FIELDS & {f.name for f in dataclasses.fields(model_cls)}:
        key = f"populations.{k}.{name}"
        if key not in params:
            raise CheckpointError(f"missing /parameters/{key}, which the configuration requires")
        fields[name] = params[key]
    return Population(spec["n"], model_cls(**fields), name=spec["name"])


def _sparse(k: int, pre: PopulationView, post: PopulationView, target: str, params: dict) -> Sparse:
    names = ("indptr", "indices", "weight", "delay")
    arrays = {n: params.get(f"projections.{k}.{n}") for n in names}
    indices = arrays["indices"]
    if isinstance(indices, np.ndarray) and indices.dtype == np.int64:  # written before indices became int32
        arrays["indices"] = indices.astype(np.int32) if indices.size == 0 or indices.max() < 2**31 else indices
    m = arrays["indptr"][-1] if isinstance(arrays["indptr"], np.ndarray) and arrays["indptr"].size else 0
    expect_arrays(arrays, {"indptr": ((pre.n + 1,), np.int64), "indices": ((m,), np.int32),
                           "weight": ((m,), np.float64), "delay": ((m,), np.float64)}, f"/parameters/projections.{k}")
    return Sparse(pre, post, *(arrays[n] for n in names), target=target)


def _check_parameters_used(cfg: dict, params: dict) -> None:
    """Every stored array must belong to something the configuration describes."""
    known = set()
    for k, pc in enumerate(cfg["projections"]):
        names = ("weights", "delay") if pc["kind"] == "dense" else ("indptr", "indices", "weight", "delay")
        known |= {f"projections.{k}.{n}" for n in names}
    known |= {f"drives.{k}.values" for k in range(len(cfg["drives"]))}
    known |= {f"populations.{k}.{n}" for k, p in enumerate(cfg["populations"]) if p["model"] == "SpikeGenerator"
              for n in _ARRAY_FIELDS}
    unexpected = sorted(set(params) - known)
    if unexpected:
        raise CheckpointError(f"unexpected /parameters/{unexpected[0]}, which the configuration does not define")


def _restore_dynamic(net, sim, dyn: dict) -> None:
    n, p = sim.state.shape[1], sim.pop_code.size
    arrays = {k: dyn.get(k) for k in ("state", "refractory", "ring", "gen_cursor")}
    expect_arrays(arrays, {"state": ((L.N_ROWS, n), np.float64), "refractory": ((n,), np.int32),
                           "ring": (sim.ring.shape, np.float64), "gen_cursor": ((p,), np.int64)}, "/dynamic")
    for name in ("step", "spike_count", "syn_events"):
        value = dyn.get(name)
        if not isinstance(value, int) or value < 0:
            raise CheckpointError(f"/dynamic/{name}: expected a non-negative integer, found {value!r}")
    sim.state[...] = arrays["state"]
    sim.refractory[...] = arrays["refractory"]
    sim.ring[...] = arrays["ring"]
    sim.gen_cursor[...] = arrays["gen_cursor"]
    net.step, net.spike_count, net.syn_events = dyn["step"], dyn["spike_count"], dyn["syn_events"]


def _restore_records(net, records: dict) -> None:
    for k, m in enumerate(net.monitors):
        rec = records.get(str(k))
        if rec is None:
            raise CheckpointError(f"missing /monitors/{k}, which the configuration requires")
        first = rec.get("first_step", -1)
        if isinstance(m, SpikeMonitor):
            if rec["steps"].size:
                m._collect(rec["steps"], rec["i"], net.dt)
        elif isinstance(m, StateMonitor):
            if rec["values"].size:
                m._collect(rec["values"].reshape(-1, m.indices.size), first, net.dt)
        elif rec["counts"].size:
            m._collect(rec["counts"], first, net.dt)
