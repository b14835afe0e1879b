"""A network as a checkpoint Snapshot, and back (network layout 3).

- ``config``: ``layout`` (3), dt, seed, backend, ``weight_dtype`` ("float64"
  when absent, as written before it existed), and the structure:
  populations (model class, scalar parameters, variable names, size, name),
  projections (endpoints, target, kind, plasticity rule), timed currents and
  monitors, each endpoint as [population, start, stop].
- ``parameters``: per-neuron model parameters (``populations.K.NAME``),
  synapse tables as the simulation holds them now
  (``projections.K.indptr|indices|weight|delay`` or
  ``projections.K.weights|delay``: weights, of the network's
  weight_dtype, changed by a user or a run are saved; delays in ms as
  simulated), timed values (``drives.K.values``) and spike-generator
  events (``populations.K.indices|times``).
- ``groups["dynamic"]``: the step count, each population's state
  (``state.K``: one row per variable) and refractory counters
  (``refractory.K``), the delay rings of pending input, generator cursors,
  and each plastic projection's learning state (``plasticity.K.NAME``:
  traces, eligibility, presynaptic history, dopamine; the raw weights are
  saved as they are, R-STDP ones not brought to the current step, so saving
  changes nothing and a restored run continues bit for bit);
  ``groups["monitors"]``: what was recorded so far.

A model is stored by class name: the built-in ones, or a user-defined class
whose module is imported before loading (nothing is imported from a file).
Restoring and running on gives the same spikes as never having stopped.
Layout 2 (no plasticity) is read as well. Layout 1 (eventsnn 0.1.0: one
five-row state matrix, one merged synapse table) is refused with a
CheckpointError that says so.
"""
from __future__ import annotations

import sys

import numpy as np

from .checkpoint import Snapshot, expect_arrays
from .errors import CheckpointError
from .inputs import Poisson, SpikeGenerator, TimedCurrent
from .monitors import RateMonitor, SpikeMonitor, StateMonitor, SynapseMonitor
from .neuron_model import NeuronModel
from .neurons import ALIF, IF, LIF, AdEx, CondLIF, Izhikevich
from .plasticity import RULES
from .population import Population, PopulationView, as_view
from .projections import Dense, Sparse

KIND = "eventsnn.Network"
LAYOUT = 3
READS = (2, 3)  # layout 2 is layout 3 without plasticity
BUILT_IN = {cls.__name__: cls for cls in (LIF, IF, ALIF, CondLIF, Izhikevich, AdEx, Poisson, SpikeGenerator)}


def _model_name(model: NeuronModel) -> str:
    cls = type(model)
    return cls.__name__ if BUILT_IN.get(cls.__name__) is cls else f"{cls.__module__}:{cls.__qualname__}"


def _model_class(k: int, name: str) -> type:
    if name in BUILT_IN:
        return BUILT_IN[name]
    module, _, qualname = name.partition(":")
    cls = sys.modules.get(module)
    for part in qualname.split(".") if cls is not None else ():
        cls = getattr(cls, part, None)
    if not (isinstance(cls, type) and issubclass(cls, NeuronModel)):
        raise CheckpointError(f"/config/populations/{k}: neuron model {name!r} is not built in; import the "
                              f"module {module!r} that defines it before loading")
    return cls


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
        fields = p.model.parameters()
        for name in [n for n, v in fields.items() if isinstance(v, np.ndarray)]:
            params[f"populations.{k}.{name}"] = np.asarray(fields.pop(name))
        pop_cfg.append({"name": p.name, "n": p.n, "model": _model_name(p.model), "params": fields,
                        "variables": list(p.model.variable_names())})
    proj_cfg = []
    dynamic = {}
    for k, pr in enumerate(net.projections):
        cfg = {"pre": where(pr.pre), "post": where(pr.post), "target": pr.target,
               "kind": "dense" if isinstance(pr, Dense) else "sparse", "plasticity": None}
        weight = sim.synapse_values(pr, "weight")  # raw: R-STDP's refer to t_elig (pr.weight is integrated to now)
        _check_finite(f"projection {k}'s weight", weight)
        if isinstance(pr, Dense):
            params[f"projections.{k}.weights"], params[f"projections.{k}.delay"] = weight.reshape(pr.delay.shape), pr.delay
        else:
            params.update({f"projections.{k}.indptr": pr.indptr, f"projections.{k}.indices": pr.indices,
                           f"projections.{k}.weight": weight, f"projections.{k}.delay": pr.delay})
        if pr.plasticity is not None:
            dopamine = getattr(pr.plasticity, "dopamine", None)
            cfg["plasticity"] = {"rule": type(pr.plasticity).__name__, "params": pr.plasticity.parameters(),
                                 "dopamine": None if dopamine is None else where(as_view(dopamine, "dopamine"))}
            dynamic.update({f"plasticity.{k}.{name}": value for name, value in sim.plastic_state(pr).items()})
        proj_cfg.append(cfg)
    drive_cfg = []
    for k, d in enumerate(net.drives):
        drive_cfg.append({"target": where(d.view), "variable": d.variable, "dt": d.dt})
        params[f"drives.{k}.values"] = d.values
    mon_cfg, records = [], {}
    projection_index = {id(pr): k for k, pr in enumerate(net.projections)}
    for k, m in enumerate(net.monitors):
        if isinstance(m, SynapseMonitor):
            cfg = {"type": "SynapseMonitor", "projection": projection_index[id(m.projection)]}
        else:
            cfg = {"type": type(m).__name__, "source": where(m.view)}
        if isinstance(m, (StateMonitor, SynapseMonitor)):
            cfg.update(variable=m.variable, indices=m.indices.tolist(), every=m.every)
            records[str(k)] = {"values": m.values, "first_step": -1 if m._first_step is None else m._first_step}
        elif isinstance(m, SpikeMonitor):
            records[str(k)] = {"steps": m.steps, "i": m.i}
        else:
            records[str(k)] = {"counts": m.counts, "first_step": -1 if m._first_step is None else m._first_step}
        mon_cfg.append(cfg)
    config = {"layout": LAYOUT, "dt": net.dt, "seed": net.seed, "backend": net.backend,
              "weight_dtype": net.weight_dtype.name, "populations": pop_cfg,
              "projections": proj_cfg, "drives": drive_cfg, "monitors": mon_cfg}
    dynamic.update({"step": net.step, "spike_count": net.spike_count, "syn_events": net.syn_events,
                    "ring": sim.ring(), "gen_cursor": sim.generator_cursor()})
    for k, p in enumerate(pops):
        dynamic[f"state.{k}"], dynamic[f"refractory.{k}"] = p.state, p.refractory
        for name, row in zip(p.model.variable_names(), dynamic[f"state.{k}"]):
            _check_finite(f"population {p.name!r}'s {name}", row)
    return Snapshot(KIND, config, params, {"dynamic": dynamic, "monitors": records})


def _check_finite(name: str, values: np.ndarray) -> None:
    """Refuse to save what could not be loaded (a NaN written into a live array, a diverged run)."""
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite to be saved, got {values[~np.isfinite(values)].flat[0]}")


def restore(cls, snap: Snapshot, backend: str | None = None):
    """Rebuild the network a snapshot describes, on ``backend`` (None: the saved one; a :class:`CheckpointError`
    if it does not fit)."""
    cfg, params = snap.config, snap.parameters
    if cfg.get("layout") not in READS:
        raise CheckpointError(f"/config: network layout {cfg.get('layout', 1)!r} (written by eventsnn 0.1.0, "
                              f"checkpoint format_version 1) is not read by this eventsnn, which reads network "
                              f"layout {LAYOUT}; rebuild the network and run it again")
    try:
        pops = [_population(k, p, params) for k, p in enumerate(cfg["populations"])]

        def view(spec) -> PopulationView:
            pop, start, stop = spec
            return PopulationView(pops[pop], start, stop)

        net = cls(dt=cfg["dt"], seed=cfg["seed"], backend=cfg["backend"] if backend is None else backend,
                  weight_dtype=cfg.get("weight_dtype", "float64"))
        net.add(*pops)
        for k, pc in enumerate(cfg["projections"]):
            pre, post = view(pc["pre"]), view(pc["post"])
            rule = _rule(k, pc.get("plasticity"), view)
            if pc["kind"] == "dense":
                shape = (pre.n, post.n)
                expect_arrays({n: params.get(f"projections.{k}.{n}") for n in ("weights", "delay")},
                              {"weights": (shape, net.weight_dtype), "delay": (shape, np.float64)},
                              f"/parameters/projections.{k}")
                net.add(Dense(pre, post, params[f"projections.{k}.weights"], params[f"projections.{k}.delay"],
                              target=pc["target"], plasticity=rule))
            else:
                net.add(_sparse(k, pre, post, pc["target"], params, rule, net.weight_dtype))
        for k, dc in enumerate(cfg["drives"]):
            net.add(TimedCurrent(view(dc["target"]), params[f"drives.{k}.values"], dc["dt"], dc["variable"]))
        for mc in cfg["monitors"]:
            if mc["type"] == "SynapseMonitor":
                net.add(SynapseMonitor(net.projections[mc["projection"]], mc["variable"], mc["indices"],
                                       mc["every"]))
            elif mc["type"] == "StateMonitor":
                net.add(StateMonitor(view(mc["source"]), mc["variable"], mc["indices"], mc["every"]))
            else:
                net.add({"SpikeMonitor": SpikeMonitor, "RateMonitor": RateMonitor}[mc["type"]](view(mc["source"])))
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
    model_cls = _model_class(k, spec["model"])
    fields = dict(spec["params"])
    prefix = f"populations.{k}."
    fields.update({name[len(prefix):]: arr for name, arr in params.items() if name.startswith(prefix)})
    model = model_cls(**fields)
    if list(model.variable_names()) != list(spec["variables"]):
        raise CheckpointError(f"/config/populations/{k}: variables {spec['variables']} differ from "
                              f"{spec['model']}'s {list(model.variable_names())}")
    return Population(spec["n"], model, name=spec["name"])


def _rule(k: int, spec: dict | None, view):
    """The plasticity rule of projection k (None without one)."""
    if spec is None:
        return None
    if spec["rule"] not in RULES:
        raise CheckpointError(f"/config/projections/{k}: unknown plasticity rule {spec['rule']!r}")
    extra = {} if spec["dopamine"] is None else {"dopamine": view(spec["dopamine"])}
    return RULES[spec["rule"]](**spec["params"], **extra)


def _sparse(k: int, pre: PopulationView, post: PopulationView, target: str, params: dict, rule,
            weight_dtype: np.dtype) -> Sparse:
    names = ("indptr", "indices", "weight", "delay")
    arrays = {n: params.get(f"projections.{k}.{n}") for n in names}
    indices = arrays["indices"]
    if isinstance(indices, np.ndarray) and indices.dtype == np.int64:  # written before indices became int32
        arrays["indices"] = indices.astype(np.int32) if indices.size == 0 or indices.max() < 2**31 else indices
    m = arrays["indptr"][-1] if isinstance(arrays["indptr"], np.ndarray) and arrays["indptr"].size else 0
    expect_arrays(arrays, {"indptr": ((pre.n + 1,), np.int64), "indices": ((m,), np.int32),
                           "weight": ((m,), weight_dtype), "delay": ((m,), np.float64)}, f"/parameters/projections.{k}")
    return Sparse(pre, post, *(arrays[n] for n in names), target=target, plasticity=rule)


def _check_parameters_used(cfg: dict, params: dict) -> None:
    """Every stored array must belong to something the configuration describes."""
    known = set()
    for k, pc in enumerate(cfg["projections"]):
        names = ("weights", "delay") if pc["kind"] == "dense" else ("indptr", "indices", "weight", "delay")
        known |= {f"projections.{k}.{n}" for n in names}
    known |= {f"drives.{k}.values" for k in range(len(cfg["drives"]))}
    known |= {n for n in params if n.startswith("populations.")}  # model parameters: the models checked them
    unexpected = sorted(set(params) - known)
    if unexpected:
        raise CheckpointError(f"unexpected /parameters/{unexpected[0]}, which the configuration does not define")


def _restore_dynamic(net, sim, dyn: dict) -> None:
    expected = {"ring": (sim.ring().shape, np.float64), "gen_cursor": (sim.inputs.gen_cursor.shape, np.int64)}
    for k, p in enumerate(net.populations):
        expected[f"state.{k}"] = (p.state.shape, np.float64)
        expected[f"refractory.{k}"] = ((p.n,), np.int32)
    plastic = {f"plasticity.{k}.{name}": live for k, pr in enumerate(net.projections) if pr.plasticity is not None
               for name, live in sim.plastic_state(pr).items()}
    expected.update({name: (live.shape, live.dtype) for name, live in plastic.items()})
    expect_arrays({k: v for k, v in dyn.items() if k in expected or isinstance(v, np.ndarray)}, expected, "/dynamic")
    for name in ("step", "spike_count", "syn_events"):
        value = dyn.get(name)
        if not isinstance(value, int) or value < 0:
            raise CheckpointError(f"/dynamic/{name}: expected a non-negative integer, found {value!r}")
    for k in range(len(net.populations)):  # as save refuses to write them
        state = dyn[f"state.{k}"]
        if not np.all(np.isfinite(state)):
            raise CheckpointError(f"/dynamic/state.{k}: must be finite, found {state[~np.isfinite(state)][0]}")
    net.step, net.spike_count, net.syn_events = dyn["step"], dyn["spike_count"], dyn["syn_events"]
    sim.now = net.step
    for k, p in enumerate(net.populations):
        sim.write(p, dyn[f"state.{k}"])
        sim.write(p, dyn[f"refractory.{k}"], "refractory")
    sim.write_ring(dyn["ring"])
    for name, live in plastic.items():
        live[...] = dyn[name]
    sim.write_generator_cursor(dyn["gen_cursor"])


def _restore_records(net, records: dict) -> None:
    for k, m in enumerate(net.monitors):
        rec = records.get(str(k))
        if rec is None:
            raise CheckpointError(f"missing /monitors/{k}, which the configuration requires")
        first = rec.get("first_step", -1)
        if isinstance(m, SpikeMonitor):
            if rec["steps"].size:
                m._collect(rec["steps"], rec["i"], net.dt)
        elif isinstance(m, (StateMonitor, SynapseMonitor)):
            if rec["values"].size:
                m._collect(rec["values"].reshape(-1, m.indices.size), first, net.dt)
        elif rec["counts"].size:
            m._collect(rec["counts"], first, net.dt)
