r"""A float network of LIF/IF populations as a Loihi network of :class:`LoihiLIF`, and how far they agree.

eventsnn's LIF and IF take the exact step v' = c_v v + c_0 + c_x I_ext + p_e I_e (``constants(dt)``:
c_v = exp(-dt/tau_m) for LIF, 1 for IF), I_e' = a_e I_e + the weights that arrive. With a scale
s = 64·vth / (v_th - v_reset) (Loihi units per mV), V = s·(v - v_reset) and U(t+1) = s·p_e·I_e(t), it
becomes Lava's step (U' = (1 - (du+1)/4096) U + 64 a; V' = (1 - dv/4096) V + U' + bias) with

    dv   = round(4096 (1 - c_v)),          du = round(4096 (1 - a_e)) - 1,
    bias = s (c_0 + c_x I_ext - (1 - c_v) v_reset)   (per neuron, as bias_mant·2**bias_exp),
    a    = s p_e w / 64 per spike of weight w        (quantised per projection: quantize_weights),

threshold V > 64·vth and reset V = 0. What it changes, measured by :func:`spike_agreement`: the rounding
of decays, bias and weights; the threshold (eventsnn fires at v >= v_th, Loihi above); and, only with
``approximate=True``, two things Loihi's LIF lacks: refractoriness (dropped) and a second synaptic time
constant (inhibitory currents decay with tau_e, their weights scaled to keep each spike's charge,
p_i/(1 - a_i) per unit weight). Without it either raises a ValueError naming t_ref or tau_i.
Spike generators and Poisson inputs are copied as they are. The result runs on eventsnn's backends;
it is not handed to Lava here (only chains are, :mod:`eventsnn.lava`), and where two projections with
negative weight exponents drive one population (excitation and inhibition, typically) LoihiLIF floors
their summed activation where Lava's Dense processes floor each: see :mod:`.model`.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int, check_positive
from ..inputs import Poisson, SpikeGenerator
from ..neurons import IF, LIF
from .fixed_point import DECAY_UNITY, MAX_UV, VTH_BITS, bias_parts
from .model import LoihiLIF
from .quantize import effective_weights, quantize_weights


def to_loihi(net, *, vth: int = 1 << 15, num_weight_bits: int = 8, approximate: bool = False, backend: str = "numba"):
    """A new Network with each LIF/IF population of ``net`` (not yet run) replaced by a LoihiLIF population.

    Returns (network, populations): the new network and a dict mapping each old population to its copy.
    ``vth``: the threshold mantissa (the scale: finer with more, 17 bits at most). Projections keep their
    structure, delays and kind; monitors are not copied.
    """
    from ..network import Network
    from ..population import Population
    from ..projections import Dense, Sparse

    vth = check_int("vth", vth, minimum=1)
    if vth >= 1 << VTH_BITS:
        raise ValueError(f"vth must be < {1 << VTH_BITS} (17 bits), got {vth}")
    if net.step:
        raise ValueError(f"net must not have run yet (it has run {net.step} steps)")
    if net.drives:
        raise ValueError("net must have no timed currents: Loihi's bias is constant")
    dt = check_positive("dt", net.dt)
    copies, info = {}, {}
    populations = {id(p): p for p in net.populations}  # and those only projections name (added at build)
    populations.update({id(v.population): v.population for pr in net.projections for v in (pr.pre, pr.post)})
    for pop in populations.values():
        model = pop.model
        if isinstance(model, (SpikeGenerator, Poisson)):
            copies[id(pop)] = Population(pop.n, model, name=pop.name)
            continue
        if type(model) not in (LIF, IF) or model.reset != "hard":
            raise ValueError(f"population {pop.name!r}: neuron model {model!r} has no Loihi equivalent "
                             "(LIF or IF with reset='hard' only)")
        if np.any(np.asarray(model.t_ref) > 0) and not approximate:
            raise ValueError(f"t_ref must be 0 for Loihi's LIF (no refractoriness), got {model.t_ref} in population "
                             f"{pop.name!r}; approximate=True drops it")
        for name in ("tau_m", "tau_e", "tau_i", "v_th", "v_reset", "v_rest"):
            if np.ndim(getattr(model, name, 0.0)):
                raise ValueError(f"{name} must be one value per population for Loihi, got an array in {pop.name!r}")
        c = model.constants(dt)
        scale = 64.0 * vth / (model.v_th - model.v_reset)
        mant, exp = bias_parts(scale * (c["c0"] + c["cx"] * pop["I_ext"] - (1.0 - c["cv"]) * model.v_reset))
        du = min(max(round(DECAY_UNITY * (1.0 - c["ae"])) - 1, 0), DECAY_UNITY - 1)
        dv = min(max(round(DECAY_UNITY * (1.0 - c["cv"])), 0), DECAY_UNITY - 1)
        copy = Population(pop.n, LoihiLIF(du=du, dv=dv, vth=vth, bias_mant=mant, bias_exp=exp), name=pop.name)
        copy["v"] = np.clip(np.rint(scale * (pop["v"] - model.v_reset)), -MAX_UV + 1, MAX_UV - 1)
        copies[id(pop)] = copy
        info[id(pop)] = {"scale": scale, "p_e": c["pe"], "p_i": c["pi"], "a_e": c["ae"], "a_i": c["ai"],
                         "model": model}
    out = Network(*copies.values(), dt=dt, seed=net.seed, backend=backend)
    for pr in net.projections:
        post = info.get(id(pr.post.population))
        if post is None:
            raise ValueError(f"projection onto {pr.post.population.name!r}: a spike source takes no input on Loihi")
        if pr.plasticity is not None or pr.variable not in ("I_e", "I_i"):
            raise ValueError(f"projection onto {pr.post.population.name!r}: target {pr.target!r} "
                             f"{'with plasticity ' if pr.plasticity else ''}has no Loihi equivalent (a current only)")
        gain = post["p_e"]
        if pr.variable == "I_i" and post["model"].tau_i != post["model"].tau_e:
            if not approximate:
                raise ValueError(f"tau_i must equal tau_e for Loihi's single current, got {post['model'].tau_i} != "
                                 f"{post['model'].tau_e} ms in {pr.post.population.name!r}; approximate=True "
                                 "scales inhibitory weights to keep each spike's charge")
            gain = post["p_i"] / (1.0 - post["a_i"]) * (1.0 - post["a_e"])
        pre = copies[id(pr.pre.population)][pr.pre.start:pr.pre.stop]
        target = copies[id(pr.post.population)][pr.post.start:pr.post.stop]
        if isinstance(pr, Dense):
            params = quantize_weights(post["scale"] * gain / 64.0 * pr.weights.T, num_weight_bits)
            out.add(Dense(pre, target, effective_weights(params).T, pr.delay, target="a_in"))
        else:
            params = quantize_weights(post["scale"] * gain / 64.0 * pr.weight[None, :], num_weight_bits)
            out.add(Sparse(pre, target, pr.indptr, pr.indices, effective_weights(params)[0], pr.delay,
                           target="a_in"))
    return out, {pop: copies[id(pop)] for pop in populations.values()}


def spike_agreement(a, b, window: float = 1.0) -> dict:
    """How far two SpikeMonitors of the same neurons agree: ``spikes`` (each), ``count_correlation`` (of
    the per-neuron spike counts) and ``coincidence``: the fraction of a's spikes with a spike of the same
    neuron in b within ``window`` ms, and of b's in a (the smaller of the two)."""
    window = check_positive("window", window)
    if a.view.n != b.view.n:
        raise ValueError(f"b must monitor {a.view.n} neurons like a, got {b.view.n}")

    def matched(x, y) -> float:
        if x.num_spikes == 0:
            return 1.0
        hits = 0
        for train_x, train_y in zip(x.spike_trains(), y.spike_trains()):
            if train_x.size and train_y.size:
                k = np.clip(np.searchsorted(train_y, train_x), 1, train_y.size) - 1
                near = np.minimum(np.abs(train_y[k] - train_x),
                                  np.abs(train_y[np.minimum(k + 1, train_y.size - 1)] - train_x))
                hits += int((near <= window + 1e-9).sum())
        return hits / x.num_spikes

    ca, cb = a.count, b.count
    corr = float(np.corrcoef(ca, cb)[0, 1]) if ca.std() > 0 and cb.std() > 0 else float(np.array_equal(ca, cb))
    return {"spikes": [a.num_spikes, b.num_spikes], "count_correlation": corr,
            "coincidence": min(matched(a, b), matched(b, a))}
