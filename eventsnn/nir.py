r"""NIR, the Neuromorphic Intermediate Representation (the ``nir`` package, 1.0.8): export and import.

:func:`to_nir` turns an ``eventsnn.nn`` model (``Sequential`` of ``Linear``
and ``LIF`` layers) or a simulator :class:`~eventsnn.Network` (``LIF`` and
``IF`` populations, ``Sparse`` and ``Dense`` projections, one
``SpikeGenerator`` input) into a ``nir.NIRGraph``; :func:`from_nir` turns a
graph (or a ``.nir`` file) into a :class:`NIRModel`, ``model(x)`` mapping
input spikes x[T, n_in] to the output [T, n_out]. ``nir`` is an optional
dependency: ``pip install 'eventsnn[nir]'``.

NIR states each node as a continuous-time equation and leaves the
discretisation to each tool; these are eventsnn's conventions (see
``docs/nir.md`` for the whole mapping and how snnTorch and Norse differ):

- **Time**: ``dt``, time constants and delays are in seconds.
- **Integration**: forward Euler over one step, as snnTorch's and Norse's
  importers do, with u the sum of the node's inputs in the step:

  .. math::
      \text{LI, LIF: } v \leftarrow v + \tfrac{dt}{\tau}(v_{leak} - v + r u), \quad
      \text{I, IF: } v \leftarrow v + dt\, r u,

      \text{CubaLI, CubaLIF: } i \leftarrow i + \tfrac{dt}{\tau_{syn}}(w_{in} u - i), \quad
      v \leftarrow v + \tfrac{dt}{\tau_{mem}}(v_{leak} - v + r i)

  (the membrane sees the synaptic current of the same step, as snnTorch's
  ``Synaptic`` does).
- **Spikes and reset**: z = [v > v_threshold] (strict); where z, v <- v_reset
  in the same step. This is NIR 1.0.8's reset. A subtractive reset has no NIR
  node, so ``nn.LIF(reset="subtract")`` (snnTorch's default ``Leaky``) and
  simulator populations with ``reset="subtract"`` are refused.
- **Start**: every graph runs from rest: v = v_leak (LI, LIF, CubaLI, CubaLIF),
  v = v_reset (IF), v = 0 (I), synaptic currents 0.
- **Edges** carry a node's output of the same step; a node sums its inputs.
  ``Delay`` shifts by round(delay/dt) steps. An edge that closes a cycle
  without a Delay (found by depth-first search from the Input) carries the
  previous step's output, and at the first step the node's output at rest
  (an Affine's bias): snnTorch's recurrent layers.

An exported graph reproduces the exporting model's spikes when imported with
the same ``dt``, up to float rounding: the two compute the same quantities in
a different order, so only a membrane within rounding of its threshold
(about 1e-15 relative) can fire in one and not the other.
"""
from __future__ import annotations

import importlib
import math
import os
from typing import Any

import numpy as np

from ._validation import check_array, check_positive
from .errors import MissingDependencyError

__all__ = ["NIRModel", "from_nir", "to_nir"]


def _nir():
    """The ``nir`` package, or a MissingDependencyError naming the extra that installs it."""
    try:
        return importlib.import_module("nir")
    except ImportError as err:
        raise MissingDependencyError(f"eventsnn.nir needs the optional package 'nir' ({err}): "
                                     "pip install 'eventsnn[nir]'") from err


# --- export ----------------------------------------------------------------------------------------------


def to_nir(obj: Any, dt: float, *, output: Any = None):
    """Export ``obj`` as a ``nir.NIRGraph`` whose nodes run with time step ``dt`` (seconds).

    ``obj`` is an ``eventsnn.nn`` model (a ``Sequential`` of ``Linear`` and
    ``LIF`` layers, or one such layer) or a :class:`~eventsnn.Network` that
    has not run yet. An ``nn.LIF`` layer (mem[t] = beta mem[t-1] + I[t])
    becomes a NIR ``LIF`` with tau = dt/(1 - beta), r = 1, v_leak = 0,
    v_reset = 0; the layer feeding it is scaled by 1/(1 - beta) so that Euler
    gives back beta mem + I (``reset="none"``: ``LI`` then ``Threshold``).
    A network's one ``SpikeGenerator`` population is the graph's input and
    ``output`` (a population; default: the only other one) its output;
    populations that cannot reach ``output`` are left out. Time constants are
    exported so that Euler steps of ``dt`` give the simulator's exact
    per-step factors, e.g. tau = dt/(1 - exp(-dt/tau_m)); ``dt`` must be the
    network's own step (``net.dt``/1000). ``docs/nir.md`` lists every mapping.
    """
    nir = _nir()
    dt = check_positive("dt", dt)
    from .network import Network

    if isinstance(obj, Network):
        nodes, edges = _network_nodes(nir, obj, dt, output)
    else:
        if output is not None:
            raise ValueError(f"output names a population of a Network; an nn model has one output, got {output!r}")
        nodes, edges = _module_nodes(nir, obj, dt)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt, "exporter": "eventsnn"})


def _per_neuron(value: Any, n: int) -> np.ndarray:
    """A parameter (a number or an array) as a float64 vector of n values."""
    return np.array(np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)))


def _module_nodes(nir, model, dt: float) -> tuple[dict, list]:
    from .nn import LIF, Linear, Module, Sequential

    if not isinstance(model, Module):
        raise ValueError(f"obj must be an eventsnn.Network or an eventsnn.nn model, got {model!r}")
    layers = list(model) if isinstance(model, Sequential) else [model]
    if not layers:
        raise ValueError("obj must hold at least one layer, got an empty Sequential")
    nodes: dict = {}
    edges: list = []
    previous, width, weights = "input", None, None  # weights: the node of the layer just before, if a Linear
    for k, layer in enumerate(layers):
        name, kind = str(k), type(layer)
        if kind not in (Linear, LIF):
            raise ValueError(f"layer {k} ({kind.__name__}) has no NIR equivalent; to_nir exports Linear and LIF "
                             "(reset='zero' or 'none') layers")
        n_in, n_out = (layer.weight.shape if kind is Linear else (layer.size, layer.size))
        if width is not None and n_in != width:
            raise ValueError(f"layer {k} ({kind.__name__}) takes {n_in} inputs but the layer before gives {width}")
        if width is None:
            first = n_in
        if kind is Linear:
            w = np.array(layer.weight.data.T, dtype=np.float64)  # NIR stores [out, in]
            b = None if layer.bias is None else np.array(layer.bias.data, dtype=np.float64)
            nodes[name] = weights = nir.Linear(weight=w) if b is None else nir.Affine(weight=w, bias=b)
        else:
            if layer.reset == "subtract":
                raise ValueError(f"layer {k} (LIF) has reset='subtract', which NIR cannot express (NIR resets "
                                 "v to v_reset); use reset='zero'")
            beta, threshold = (_per_neuron(getattr(v, "data", v), n_out) for v in (layer.beta, layer.threshold))
            if np.any(beta >= 1.0):
                raise ValueError(f"layer {k} (LIF): beta must be < 1 to give a finite tau, got {beta.max()!r}")
            gain = 1.0 / (1.0 - beta)
            r = np.ones(n_out)
            if weights is None:
                r = gain
            else:  # fold the gain into the layer before, so that r = 1
                weights.weight *= gain[:, None]
                if isinstance(weights, nir.Affine):
                    weights.bias *= gain
            tau, zero = dt / (1.0 - beta), np.zeros(n_out)
            if layer.reset == "zero":
                nodes[name] = nir.LIF(tau=tau, r=r, v_leak=zero, v_threshold=threshold, v_reset=zero)
            else:
                nodes[name] = nir.LI(tau=tau, r=r, v_leak=zero)
                edges.append((name, name + ".spike"))
                nodes[name + ".spike"] = nir.Threshold(threshold=threshold)
            weights = None
        edges.append((previous, name))
        previous, width = (name + ".spike" if name + ".spike" in nodes else name), n_out
    edges.append((previous, "output"))
    return {"input": nir.Input(input_type=np.array([first])), **nodes,
            "output": nir.Output(output_type=np.array([width]))}, edges


def _network_nodes(nir, net, dt: float, output) -> tuple[dict, list]:
    from .backends.base import delay_steps
    from .inputs import SpikeGenerator
    from .neurons import IF, LIF

    if not math.isclose(dt * 1000.0, net.dt, rel_tol=1e-9):
        raise ValueError(f"dt must be the network's step in seconds ({net.dt / 1000.0!r}), got {dt!r}")
    if net.step:
        raise ValueError(f"the network must not have run yet (a NIR graph starts from rest), it is at step "
                         f"{net.step}")
    if net.drives:
        raise ValueError("a network with a TimedCurrent has no NIR equivalent")
    pops = list({id(p): p for p in net.populations + [v.population for pr in net.projections
                                                       for v in (pr.pre, pr.post)]}.values())
    inputs = [p for p in pops if isinstance(p.model, SpikeGenerator)]
    if len(inputs) != 1:
        raise ValueError(f"a network needs exactly one SpikeGenerator population as its NIR input, got {len(inputs)}")
    source = inputs[0]
    others = [p for p in pops if p is not source]
    if output is None and len(others) == 1:
        output = others[0]
    if not any(output is p for p in others):
        raise ValueError(f"output must be one of the network's populations {[p.name for p in others]}, "
                         f"got {output!r}")
    names = [p.name for p in pops]
    for p in pops:
        if "/" in p.name or p.name in ("input", "output") or names.count(p.name) > 1:
            raise ValueError(f"population name {p.name!r} cannot name a NIR node (it must be unique, hold no '/' "
                             "and not be 'input' or 'output')")

    # group synapses by (pre, post, variable, delay in steps): one Linear (then one Delay) each
    groups: dict = {}
    for proj in net.projections:
        if proj.plasticity is not None:
            raise ValueError(f"a plastic projection ({type(proj.plasticity).__name__}) onto "
                             f"{proj.post.population.name!r} has no NIR equivalent")
        i, j, w, delay = proj.synapses()
        pre, post = proj.pre.population, proj.post.population
        steps = delay_steps(np.asarray(delay, dtype=np.float64), net.dt) if len(w) else np.zeros(1, np.int64)
        for k in np.unique(steps):
            key = (pre.name, post.name, proj.variable, int(k))
            matrix = groups.setdefault(key, (pre, post, np.zeros((post.n, pre.n))))[2]
            sel = steps == k if len(w) else np.zeros(0, bool)
            np.add.at(matrix, (proj.post.start + j[sel], proj.pre.start + i[sel]), w[sel])

    driven = {post.name for _, post, _ in groups.values()}
    keep = {output.name}  # the populations that reach the output
    while True:
        more = {pre.name for pre, post, _ in groups.values() if post.name in keep} - keep
        if not more:
            break
        keep |= more
    if source.name not in keep:
        raise ValueError(f"the input population {source.name!r} does not reach the output {output.name!r}")

    nodes: dict = {"input": nir.Input(input_type=np.array([source.n])),
                   "output": nir.Output(output_type=np.array([output.n]))}
    edges: list = [(output.name, "output")]
    entry = {}  # (population, variable) -> the node its synapses feed, and the factor on their weights
    for p in others:
        if p.name not in keep:
            continue
        if type(p.model) not in (LIF, IF):
            raise ValueError(f"population {p.name!r}: {type(p.model).__name__} has no NIR equivalent "
                             "(to_nir exports LIF and IF populations)")
        if p.name not in driven:
            raise ValueError(f"population {p.name!r} receives no projection, and NIR would make it a second "
                             "input of the graph")
        variables = {var for (_, post, var, _) in groups if post == p.name}
        nodes_p, entry_p, edges_p = _population_nodes(nir, p, net.dt, dt, variables)
        nodes.update(nodes_p)
        edges += edges_p
        entry.update({(p.name, var): e for var, e in entry_p.items()})
    for (pre_name, post_name, var, k), (pre, post, matrix) in groups.items():
        if post_name not in keep:
            continue
        target, factor = entry[(post_name, var)]
        name = f"{pre_name}>{post_name}.{var}.{k}"
        nodes[name] = nir.Linear(weight=matrix * factor[:, None])
        nodes[name + ".delay"] = nir.Delay(delay=np.full(post.n, (k + 1) * dt))  # spikes act one step later
        edges += [("input" if pre is source else pre_name, name), (name, name + ".delay"), (name + ".delay", target)]
    return nodes, edges


def _population_nodes(nir, pop, dt_ms: float, dt: float, variables: set) -> tuple[dict, dict, list]:
    """NIR nodes of one LIF or IF population (``pop.name`` emits its spikes), the entry node and weight
    factor of each driven variable, and the edges inside.

    With c = model.constants(dt) the simulator does, per step,
    v <- cv v + c0 + pe J_e + pi J_i (J: currents before their decay J <- a J + W s), so a synaptic
    current becomes an LI node holding pe J (tau = dt/(1 - a), r = pe/(1 - a)) and a spike onto v
    adds cv w; the membrane (r = 1/(1 - cv)) then adds its inputs as they are. With one current and
    no input onto v, a single CubaLIF holds J (w_in = 1/(1 - a), r = pe/(1 - cv)).
    """
    from .neurons import LIF

    model, n, name = pop.model, pop.n, pop.name
    c = {k: _per_neuron(v, n) for k, v in model.constants(dt_ms).items()}
    if model.reset != "hard":
        raise ValueError(f"population {name!r}: reset='{model.reset}' has no NIR equivalent (NIR resets v to "
                         "v_reset); use reset='hard'")
    if np.any(c["n_ref"] > 1):
        raise ValueError(f"population {name!r}: t_ref = {model.t_ref!r} ms spans more than one step, and NIR "
                         "has no refractoriness")
    leaky = isinstance(model, LIF)
    rest = _per_neuron(model.v_rest if leaky else model.v_reset, n)
    if not (np.array_equal(pop["v"], rest) and not np.any(pop.state[1:]) and not np.any(pop.refractory)):
        raise ValueError(f"population {name!r} is not at rest (v = {'v_rest' if leaky else 'v_reset'}, currents, "
                         "I_ext and refractory counters 0), and a NIR graph starts from rest")

    def tau(factor: str, what: str) -> np.ndarray:
        """The Euler time constant dt/(1 - a) whose step decays by the simulator's exact factor a."""
        if np.any(c[factor] >= 1.0):
            raise ValueError(f"population {name!r}: {what} = {getattr(model, what)!r} ms is too long for dt = "
                             f"{dt_ms} ms (exp(-dt/{what}) rounds to 1)")
        return dt / (1.0 - c[factor])

    v_th, v_reset = np.nextafter(c["v_th"], -np.inf), c["v_reset"]  # v >= v_th is v > the float below it
    currents = sorted(v for v in variables if v != "v")
    factor, what = {"I_e": "ae", "I_i": "ai"}, {"I_e": "tau_e", "I_i": "tau_i"}
    decay = {v: c[factor[v]] for v in currents}
    to_v = {"I_e": c["pe"], "I_i": c["pi"]}
    nodes: dict = {}
    entry: dict = {}
    edges: list = []
    single = (leaky and currents and "v" not in variables
              and all(np.array_equal(decay[v], decay[currents[0]]) and np.array_equal(to_v[v], to_v[currents[0]])
                      for v in currents))
    if single:
        v = currents[0]
        tau_syn, tau_mem = tau(factor[v], what[v]), tau("cv", "tau_m")
        nodes[name] = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=to_v[v] * tau_mem / dt, v_leak=rest,
                                  v_threshold=v_th, v_reset=v_reset, w_in=tau_syn / dt)
        return nodes, {v: (name, np.ones(n)) for v in currents}, edges
    if leaky:
        tau_mem = tau("cv", "tau_m")
        nodes[name] = nir.LIF(tau=tau_mem, r=tau_mem / dt, v_leak=rest, v_threshold=v_th, v_reset=v_reset)
    else:
        nodes[name] = nir.IF(r=np.full(n, 1.0 / dt), v_threshold=v_th, v_reset=v_reset)
    if "v" in variables:
        entry["v"] = (name, c["cv"])
    for v in currents:
        tau_syn = tau(factor[v], what[v])
        nodes[f"{name}.{v}"] = nir.LI(tau=tau_syn, r=to_v[v] * tau_syn / dt, v_leak=np.zeros(n))
        edges.append((f"{name}.{v}", name))
        entry[v] = (f"{name}.{v}", np.ones(n))
    return nodes, entry, edges


# --- import ----------------------------------------------------------------------------------------------


def from_nir(graph_or_path: Any, dt: float) -> "NIRModel":
    """A runnable model of a NIR graph (a ``nir.NIRGraph``, or the path of a ``.nir`` file) with step ``dt``
    (seconds), integrated as the module docstring states.

    Supported nodes: Input, Output, Affine, Linear, Scale, Delay, Threshold,
    LI, LIF, CubaLI, CubaLIF, I, IF and nested NIRGraphs; the graph needs one
    Input and one Output of one dimension. Any other node raises ValueError
    naming the node and its type, as does a file that is not NIR.
    """
    nir = _nir()
    dt = check_positive("dt", dt)
    if isinstance(graph_or_path, (str, os.PathLike)):
        path = os.fspath(graph_or_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"graph_or_path: no such file {path!r}")
        try:
            graph = nir.read(path)
        except Exception as err:  # h5py, nir's own asserts and type checks: all mean "not a NIR graph"
            raise ValueError(f"graph_or_path {path!r} is not a NIR file: {type(err).__name__}: {err}") from err
    elif isinstance(graph_or_path, nir.NIRGraph):
        graph = graph_or_path
    else:
        raise ValueError(f"graph_or_path must be a nir.NIRGraph or the path of a .nir file, got {graph_or_path!r}")
    return NIRModel(graph, dt)


def _flatten(nir, graph, prefix: str = "") -> tuple[dict, list]:
    """Nodes and edges of ``graph`` with subgraphs inlined (node ``a`` of subgraph ``g`` becomes ``g.a``;
    the subgraph's Input and Output nodes pass their input on)."""
    nodes: dict = {}
    edges: list = []
    ports: dict = {}  # subgraph -> (its Input node names, its Output node names)
    for key, node in graph.nodes.items():
        name = prefix + str(key)
        if isinstance(node, nir.NIRGraph):
            inner, inner_edges = _flatten(nir, node, name + ".")
            nodes.update(inner)
            edges += inner_edges
            ports[str(key)] = tuple([f"{name}.{k}" for k, v in node.nodes.items() if isinstance(v, kind)]
                                    for kind in (nir.Input, nir.Output))
        else:
            nodes[name] = node
    for a, b in graph.edges:
        a, b = str(a), str(b)
        for end in (a, b):
            if end not in graph.nodes:
                raise ValueError(f"edge ({a!r}, {b!r}) names node {prefix + end!r}, which the graph does not hold")
        for src in ports[a][1] if a in ports else [prefix + a]:
            edges += [(src, dst) for dst in (ports[b][0] if b in ports else [prefix + b])]
    return nodes, edges


def _param(name: str, node: Any, field: str, positive: bool = False) -> np.ndarray:
    """A node's parameter as a finite float64 array (NIR writes NumPy arrays; Norse hands torch tensors)."""
    value = getattr(node, field)
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"NIR node {name!r} ({type(node).__name__}): {field} must be numeric, got {value!r}") from None
    if not np.all(np.isfinite(arr)) or (positive and np.any(arr <= 0)):
        raise ValueError(f"NIR node {name!r} ({type(node).__name__}): {field} must be finite"
                         f"{' and > 0' if positive else ''}, got {arr!r}")
    return arr


class _Pass:
    """Input, Output and subgraph ports: y = u. ``n`` is the size, None until an input gives it."""

    def __init__(self, name: str, n: int | None = None):
        self.name, self.n_in, self.n = name, n, n

    def bind(self, n_in: int | None) -> None:
        """Take the size of the node's inputs (None: it has none)."""
        if n_in is not None and self.n is not None and n_in != self.n:
            raise ValueError(f"NIR node {self.name!r} has size {self.n} but receives {n_in} values")
        self.n_in = self.n = self.n if n_in is None else n_in

    def reset(self) -> None:
        """Return to rest."""

    def rest(self) -> np.ndarray:
        """The output at rest, before the first step (what an edge closing a cycle carries at step 0)."""
        return np.zeros(self.n)

    def step(self, u: np.ndarray) -> np.ndarray:
        return u


class _Weights(_Pass):
    """Affine and Linear: y = W u + b; Scale: y = s u."""

    def __init__(self, name: str, w: np.ndarray, b: np.ndarray | None = None, scale: bool = False):
        if scale and w.ndim != 1 or not scale and w.ndim != 2:
            what = "scale must be a vector" if scale else "weight must be a matrix [out, in]"
            raise ValueError(f"NIR node {name!r}: {what}, got shape {w.shape}")
        super().__init__(name, w.shape[0])
        self.w, self.n_in, self.scale = w, w.shape[-1], scale
        if b is not None and b.shape not in ((), (self.n,)):
            raise ValueError(f"NIR node {name!r}: bias must have shape ({self.n},), got {b.shape}")
        self.b = np.broadcast_to(0.0 if b is None else b, (self.n,))

    def bind(self, n_in: int | None) -> None:
        pass

    def rest(self) -> np.ndarray:
        return self.b.copy()

    def step(self, u: np.ndarray) -> np.ndarray:
        return (self.w * u if self.scale else self.w @ u) + self.b


class _Delay(_Pass):
    """y[t] = u[t - k], k = round(delay/dt) steps per element (0 before the first input arrives)."""

    def __init__(self, name: str, delay: np.ndarray, dt: float):
        steps = delay / dt
        k = np.rint(steps)
        if np.any(np.abs(steps - k) > 1e-6 * np.maximum(1.0, k)):
            raise ValueError(f"NIR node {name!r} (Delay): delay must be whole steps of dt = {dt!r} s, got {delay!r}")
        self.k = k.astype(np.int64)
        super().__init__(name, self.k.size if self.k.ndim else None)

    def bind(self, n_in: int | None) -> None:
        super().bind(n_in)
        self.k = np.broadcast_to(self.k, (self.n,))

    @property
    def instant(self) -> bool:
        return bool(self.k.min() == 0)

    def reset(self) -> None:
        self.history, self.t = np.zeros((int(self.k.max()) + 1, self.n)), 0

    def emit(self) -> np.ndarray:
        return self.history[(self.t - self.k) % len(self.history), np.arange(self.n)]

    def push(self, u: np.ndarray) -> None:
        self.history[self.t % len(self.history)] = u
        self.t += 1

    def step(self, u: np.ndarray) -> np.ndarray:
        self.history[self.t % len(self.history)] = u
        y = self.emit()
        self.t += 1
        return y


class _Neuron(_Pass):
    """LI, LIF, CubaLI, CubaLIF, I, IF, Threshold, as per-step coefficients:
    i <- s_decay i + s_gain u (Cuba only); v <- decay v + leak + gain (i or u); spike where v > threshold."""

    def __init__(self, nir, name: str, node: Any, dt: float):
        get = lambda field, positive=False: _param(name, node, field, positive)  # noqa: E731
        p: dict[str, np.ndarray] = {}
        if isinstance(node, nir.Threshold):
            p["threshold"] = get("threshold")
        else:
            if isinstance(node, (nir.CubaLI, nir.CubaLIF)):
                k = dt / get("tau_syn", True)
                p.update(s_decay=1.0 - k, s_gain=k * get("w_in"))
            if isinstance(node, (nir.I, nir.IF)):
                p.update(decay=np.float64(1.0), leak=np.float64(0.0), gain=dt * get("r"), v0=np.float64(0.0))
            else:
                k = dt / get("tau_mem" if isinstance(node, (nir.CubaLI, nir.CubaLIF)) else "tau", True)
                v_leak = get("v_leak")
                p.update(decay=1.0 - k, leak=k * v_leak, gain=k * get("r"), v0=v_leak)
            if isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF)):
                p.update(threshold=get("v_threshold"), v_reset=get("v_reset"))
                if isinstance(node, nir.IF):
                    p["v0"] = p["v_reset"]
        sizes = {a.size for a in p.values() if a.ndim}
        if len(sizes) > 1 or any(a.ndim > 1 for a in p.values()):
            raise ValueError(f"NIR node {name!r} ({type(node).__name__}): parameters must be vectors of one "
                             f"length, got shapes {[a.shape for a in p.values()]}")
        super().__init__(name, sizes.pop() if sizes else None)
        self.p, self.threshold_only = p, isinstance(node, nir.Threshold)

    def bind(self, n_in: int | None) -> None:
        super().bind(n_in)
        self.p = {k: np.broadcast_to(v, (self.n,)) for k, v in self.p.items()}

    def reset(self) -> None:
        self.v = np.array(self.p.get("v0", 0.0))
        self.i = np.zeros(self.n)

    def rest(self) -> np.ndarray:
        if self.threshold_only:
            return (0.0 > self.p["threshold"]).astype(np.float64)
        return np.zeros(self.n) if "threshold" in self.p else np.array(self.p["v0"])

    def step(self, u: np.ndarray) -> np.ndarray:
        p = self.p
        if self.threshold_only:
            return (u > p["threshold"]).astype(np.float64)
        if "s_gain" in p:
            self.i = p["s_decay"] * self.i + p["s_gain"] * u
            u = self.i
        self.v = p["decay"] * self.v + p["leak"] + p["gain"] * u
        if "threshold" not in p:
            return self.v.copy()
        z = self.v > p["threshold"]
        self.v = np.where(z, p["v_reset"], self.v)
        return z.astype(np.float64)


def _unit(nir, name: str, node: Any, dt: float) -> _Pass:
    if isinstance(node, (nir.Input, nir.Output)):
        shape = np.asarray(node.input_type["input"] if isinstance(node, nir.Input) else node.output_type["output"])
        return _Pass(name, int(shape[0]) if shape.ndim == 1 and shape.size == 1 else None)
    if isinstance(node, nir.Affine):
        return _Weights(name, _param(name, node, "weight"), _param(name, node, "bias"))
    if isinstance(node, nir.Linear):
        return _Weights(name, _param(name, node, "weight"))
    if isinstance(node, nir.Scale):
        return _Weights(name, _param(name, node, "scale"), scale=True)
    if isinstance(node, nir.Delay):
        return _Delay(name, _param(name, node, "delay"), dt)
    if isinstance(node, (nir.LI, nir.LIF, nir.CubaLI, nir.CubaLIF, nir.I, nir.IF, nir.Threshold)):
        return _Neuron(nir, name, node, dt)
    raise ValueError(f"NIR node {name!r} of type {type(node).__name__} is not supported by eventsnn (supported: "
                     "Input, Output, Affine, Linear, Scale, Delay, Threshold, LI, LIF, CubaLI, CubaLIF, I, IF, "
                     "NIRGraph)")


class NIRModel:
    """A NIR graph run step by step: ``model(x)`` maps x[T, n_in] to the Output's values [T, n_out]
    (spikes as 0/1 where the Output is fed by spiking nodes), starting from rest at every call.

    Attributes: ``graph`` (the ``nir.NIRGraph``), ``dt`` (s), ``n_in``, ``n_out``, ``order`` (the node names
    in evaluation order).
    """

    def __init__(self, graph: Any, dt: float):
        nir = _nir()
        if not isinstance(graph, nir.NIRGraph):
            raise ValueError(f"graph must be a nir.NIRGraph, got {graph!r}")
        self.graph, self.dt = graph, check_positive("dt", dt)
        top = {kind: [str(k) for k, v in graph.nodes.items() if isinstance(v, kind)]
               for kind in (nir.Input, nir.Output)}
        for kind, found in top.items():
            if len(found) != 1:
                raise ValueError(f"the graph needs exactly one {kind.__name__} node, got {found}")
        self.input, self.output = top[nir.Input][0], top[nir.Output][0]
        nodes, edges = _flatten(nir, graph)
        self.units = {name: _unit(nir, name, node, dt) for name, node in nodes.items()}
        for name in (self.input, self.output):
            if self.units[name].n is None:
                node = nodes[name]
                shape = node.input_type["input"] if name == self.input else node.output_type["output"]
                raise ValueError(f"NIR node {name!r} ({type(node).__name__}) must have a shape of one dimension, got "
                                 f"{shape!r} (export from snnTorch with ignore_dims=[0], from Norse with an "
                                 "unbatched sample)")
        self.preds: dict = {name: [] for name in nodes}
        for a, b in edges:
            self.preds[b].append(a)
        self.delayed = [n for n, u in self.units.items() if isinstance(u, _Delay) and not u.instant]
        self.order, self.back = self._schedule(list(nodes), edges)
        sizes: dict = {}  # settled node by node: a node of no size of its own waits for one of its inputs
        while len(sizes) < len(nodes):
            ready = [n for n in self.order if n not in sizes and (self.units[n].n is not None
                                                                  or any(a in sizes for a in self.preds[n]))]
            if not ready:
                name = next(n for n in self.order if n not in sizes)
                raise ValueError(f"NIR node {name!r} ({type(nodes[name]).__name__}): its size follows neither "
                                 "from its parameters nor from an input")
            for name in ready:
                known = {sizes[a] for a in self.preds[name] if a in sizes}
                if len(known) > 1:
                    raise ValueError(f"NIR node {name!r} receives inputs of different sizes {sorted(known)}")
                self.units[name].bind(known.pop() if known else None)
                sizes[name] = self.units[name].n
        for a, b in edges:
            if sizes[a] != self.units[b].n_in:
                raise ValueError(f"edge ({a!r}, {b!r}) carries {sizes[a]} values but {b!r} takes {self.units[b].n_in}")
        self.n_in, self.n_out = sizes[self.input], sizes[self.output]

    def _schedule(self, names: list, edges: list) -> tuple[list, set]:
        """Evaluation order (reverse DFS postorder from the input over same-step edges) and the back edges."""
        succ: dict = {n: [] for n in names}
        for a, b in edges:
            if a not in self.delayed:  # a delayed node's output is known at the start of the step
                succ[a].append(b)
        state = dict.fromkeys(names, 0)  # 0 unseen, 1 on the DFS stack, 2 finished
        post, back = [], set()
        for root in [self.input] + names:
            if state[root]:
                continue
            state[root], stack = 1, [(root, iter(succ[root]))]
            while stack:
                node, children = stack[-1]
                for child in children:
                    if state[child] == 1:
                        back.add((node, child))
                    elif state[child] == 0:
                        state[child] = 1
                        stack.append((child, iter(succ[child])))
                        break
                else:
                    state[node] = 2
                    post.append(node)
                    stack.pop()
        return post[::-1], back

    def __call__(self, x: Any) -> np.ndarray:
        x = check_array("x", x, ndim=2)
        if x.shape[1] != self.n_in:
            raise ValueError(f"x must have shape [T, {self.n_in}], got {x.shape}")
        for unit in self.units.values():
            unit.reset()
        out = np.zeros((x.shape[0], self.n_out))
        previous = {name: unit.rest() for name, unit in self.units.items()}
        for t in range(x.shape[0]):
            now = {name: self.units[name].emit() for name in self.delayed}
            for name in self.order:
                unit = self.units[name]
                u = np.zeros(unit.n_in)
                for a in self.preds[name]:
                    u = u + ((previous if (a, name) in self.back else now)[a])
                if name == self.input:
                    now[name] = x[t]
                elif name in now:
                    unit.push(u)
                else:
                    now[name] = unit.step(u)
            out[t] = now[self.output]
            previous = now
        return out
