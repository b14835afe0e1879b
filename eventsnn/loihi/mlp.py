r"""A trained ``eventsnn.nn`` spiking MLP as a Loihi chain: quantisation with every mapping written out.

The float model is a sequence ``Linear, LIF, Linear, LIF, ...`` (snnTorch
``Leaky`` semantics, :func:`eventsnn.autodiff.lif_sequence`), optionally
ending with a ``Linear`` readout of the last LIF layer's mean spikes over
the run, as ``examples/digits.py`` builds it. Per neuron i and step t = 1..T,
with x the layer's input spikes (W[in, out] as nn.Linear stores it)::

    I[t]   = sum_j W[j, i] x_j[t] + b_i
    mem[t] = beta (1 - spk[t-1]) mem[t-1] + I[t]          nn.LIF, reset="zero"
    spk[t] = mem[t] > thr_i                                (strictly greater)
    logits = (1/T) sum_t readout(spk[t]) = (1/T) sum_t (sum_j R[j, k] spk_j[t]) + c_k

:func:`quantize_mlp` maps each (Linear, LIF) pair to a (Dense, LIF) pair of
:mod:`.fixed_point` (Lava's bit-accurate LIF: u, v, vth << 6, see there)::

    du     = 4095                    decay(u, du + 1) = decay(u, 4096) = 0, so u[t] = a[t] << 6:
                                     no synaptic current, the input enters v in the step it arrives
    dv     = round(4096 (1 - beta))  decay(v, dv) = trunc(v (4096 - dv) / 4096): beta_q = 1 - dv/4096,
                                     |beta_q - beta| <= 2**-13 (dv is clipped to 4095 for beta < 2**-13)
    s_i    = vth / thr_i             per-neuron scale: v = 64 s_i mem, so v > vth << 6  <=>  mem > thr_i
    Dense  = quantize_weights(s_i W[:, i]^T, num_weight_bits)   a[t] = floor(sum_j w_ij 2**weight_exp x_j[t])
                                     ~ s_i (I[t] - b_i): 8-bit weights with one exponent per layer
    bias   = bias_mant << bias_exp = round(64 s_i b_i), bias_exp the smallest in 0..7 that fits 13 bits
    reset  : Loihi sets v to 0 in the step it spikes; nn's zero reset multiplies the previous mem by
             (1 - spk[t-1]) in the next step. Both make step t + 1 start from 0, so the spike trains are
             the same equations; only the recorded value at the spike step differs (nn keeps mem > thr,
             Loihi stores v = 0). nn's "subtract" and "none" resets have no Loihi LIF equivalent: refused.

so that, per step, Loihi computes ``v[t] = trunc(beta_q v[t-1]) + 64 a[t] + bias``, i.e. 64 s_i mem[t]
up to rounding: weights (half a step of the 8-bit grid), the bias (half a unit of 2**bias_exp), beta,
the truncation of the decay (< 1 of 64 s_i per step) and the floor of a negative weight_exp (< 1 of s_i
per step). The threshold itself is exact: thr_i maps to vth by definition of s_i.

The readout Linear becomes a LIF that never spikes and integrates without leak::

    du = 4095, dv = 0 (beta_q = 1, exact), vth = 2**17 - 1 (never reached, see the bounds), one scale s:
    Dense = quantize_weights(s R^T), bias = round(64 s c)
    v[T_end] = sum_t (64 a[t] + bias) ~ 64 s T logits     (mlp_scores divides it back)

**Timing.** Each Lava Dense delays by one step, so layer l (0-based) sees the float model's step t at
Loihi step t + l + 1: the chain runs T + L steps for L layers (:func:`mlp_chain` appends L silent input
rows). Layer l's first l + 1 steps receive nothing but its bias; its starting v is solved backwards so
that these steps end at v = 0 exactly without spiking (``LoihiMLP.states``), as nn's mem starts at 0.
:func:`align_traces` cuts each layer's T steps back out.

**Bounds.** vth (one per spiking layer; None picks the largest) and the readout's s are chosen so that,
with every input spiking at every step, no integer leaves its range: |a| <= 2**15 - 1 (Loihi's 16-bit
activation; u = a << 6 never wraps), v stays inside 24 bits (never saturates, even far below threshold,
as long as the run has at most T + L steps; the starting v too), the bias fits 13 + 3 bits and the
readout never reaches its threshold. The quantised layer is checked against these bounds; a given
``vth`` that breaks them is refused. So every difference from the float model is rounding, none is
overflow. One thing no scale fixes: a layer l > 0 whose bias is below -thr / (1/beta + ... + 1/beta^l)
would have to pass above its threshold on the way to v = 0 before its first input; it is refused.

**Input.** The MLP's input must be spikes [T, n_in]: both the float and the fixed-point run take the
same spike trains (``examples/digits.py`` draws them from the pixel intensities, a Bernoulli rate code).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy as np

from .._validation import check_array, check_int
from .fixed_point import (BIAS_EXP_BITS, BIAS_MANT_BITS, DECAY_BITS, DECAY_UNITY, MAX_UV, NUM_WEIGHT_BITS_RANGE,
                          VTH_BITS, VTH_SHIFT, Chain, DenseParams, LayerTrace, LIFParams, LIFState, bias_parts)
from .quantize import effective_weights, quantize_weights

A_MAX = (1 << 15) - 1                          # Loihi's 16-bit activation
V_MAX = MAX_UV - 1                             # v never saturates while |v| <= 2**23 - 1
VTH_MAX = (1 << VTH_BITS) - 1                  # 131071; also the readout's threshold (never reached)
BIAS_RANGE = (-(1 << (BIAS_MANT_BITS - 1)), (1 << (BIAS_MANT_BITS - 1)) - 1)   # mantissa [-4096, 4095]
BIAS_EXP_MAX = (1 << BIAS_EXP_BITS) - 1        # 7
DU_NO_CURRENT = (1 << DECAY_BITS) - 1          # 4095: u holds this step's input only


class LoihiMLP(NamedTuple):
    """A quantised MLP: the chain's layers, starting states, scales and run length.

    layers: (DenseParams, LIFParams) per layer, for run_layers / to_lava; states: starting LIF states (they
    cancel each layer's bias before its first input); scales: per layer the per-neuron s with v = 64 s mem
    (the readout: one s for all outputs); steps: the float model's T; readout: whether the last layer is a
    non-spiking readout (else class scores are the last layer's spike counts).
    """

    layers: list[tuple[DenseParams, LIFParams]]
    states: list[LIFState]
    scales: list[np.ndarray]
    steps: int
    readout: bool


# --- The float model -----------------------------------------------------------------------------------------------

def _leaves(model: Any, name: str = "model") -> list[tuple[str, Any]]:
    """(dotted name, module) of the Linear and LIF layers of ``model`` in attribute order."""
    from .. import nn

    if isinstance(model, (nn.Linear, nn.LIF)):
        return [(name, model)]
    if isinstance(model, (list, tuple)):
        children = [(str(i), m) for i, m in enumerate(model)]
    elif isinstance(model, nn.Module):
        children = list(model.children())
    else:
        raise ValueError(f"{name} must be an nn.Module or a list of them, got {type(model).__name__}")
    if not children:
        raise ValueError(f"layer {name} ({type(model).__name__}) has no Loihi equivalent: only nn.Linear and "
                         f"nn.LIF layers map to Dense and LIF")
    prefix = "" if name == "model" else name + "."
    return [leaf for child, m in children for leaf in _leaves(m, prefix + child)]


def _values(name: str, value: Any, n: int) -> np.ndarray:
    """A scalar or per-neuron parameter (float or Tensor) as float64 [n]."""
    arr = np.asarray(getattr(value, "data", value), dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr!r}")
    if arr.shape not in ((), (n,)):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got shape {arr.shape}")
    return np.broadcast_to(arr, (n,)).astype(np.float64)


def _float_layers(model: Any) -> tuple[list[tuple[str, np.ndarray, np.ndarray, Any]], bool]:
    """[(name, W [out, in], b [out], LIF or None for the readout)], readout?; ValueError naming a bad layer."""
    from .. import nn

    leaves = _leaves(model)
    layers, k, n_prev = [], 0, None
    while k < len(leaves):
        name, linear = leaves[k]
        if not isinstance(linear, nn.Linear):
            raise ValueError(f"layer {name} ({type(linear).__name__}) must follow an nn.Linear: "
                             f"the model must be Linear, LIF, Linear, LIF, ... [, Linear]")
        w = check_array(f"{name}.weight", linear.weight.data).T
        b = np.zeros(w.shape[0]) if linear.bias is None else check_array(f"{name}.bias", linear.bias.data)
        if n_prev is not None and w.shape[1] != n_prev:
            raise ValueError(f"layer {name} takes {w.shape[1]} inputs but the layer before has "
                             f"{n_prev} neurons")
        lif = leaves[k + 1][1] if k + 1 < len(leaves) else None
        if lif is not None:
            lif_name = leaves[k + 1][0]
            if isinstance(lif, nn.ALIF):
                raise ValueError(f"layer {lif_name} is an ALIF: Loihi's LIF has no adaptive threshold")
            if not isinstance(lif, nn.LIF):
                raise ValueError(f"layer {lif_name} ({type(lif).__name__}) must be an nn.LIF after the nn.Linear "
                                 f"{name}")
            if lif.reset != "zero":
                raise ValueError(f"layer {lif_name} has reset={lif.reset!r}: Loihi's LIF resets v to 0 when it "
                                 f"spikes, which is nn.LIF's reset='zero'; train with that")
            if lif.size != w.shape[0]:
                raise ValueError(f"layer {lif_name} has {lif.size} neurons but {name} gives "
                                 f"{w.shape[0]} outputs")
        layers.append((name if lif is None else f"{name} -> {lif_name}", w, b, lif))
        n_prev, k = w.shape[0], k + 2
    return layers, layers[-1][3] is None


# --- Integer parameters and their bounds ---------------------------------------------------------------------------

def _activation_range(dense: DenseParams) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) a per neuron that Dense can send: floor of the sum of its negative (positive) weights."""
    w = effective_weights(dense)
    return np.floor(np.minimum(w, 0).sum(axis=1)), np.floor(np.maximum(w, 0).sum(axis=1))


def _overflow(lo: np.ndarray, hi: np.ndarray, bias: np.ndarray, vth: int, gain: float, readout: bool) -> float:
    """The largest ratio of a worst-case integer to its limit (<= 1: nothing wraps or saturates).

    a in [lo, hi] each step, bias added each step (v units). A spiking layer's v before the spike test is at
    most vth << 6 + 64 hi + bias+ and at least -(64 |lo| + bias-) * gain (gain: 1 / (1 - beta_q) or the
    number of steps, whichever is smaller); the readout's |v| is at most gain (64 max|a| + |bias|).
    """
    a = np.maximum(-lo, hi)
    ratios = [a.max() / A_MAX]
    if readout:
        ratios.append((gain * (64 * a + np.abs(bias))).max() / (VTH_MAX << VTH_SHIFT))
    else:
        ratios.append(((vth << VTH_SHIFT) + 64 * hi + np.maximum(bias, 0)).max() / V_MAX)
        ratios.append((gain * (64 * -lo + np.maximum(-bias, 0))).max() / V_MAX)
    return float(max(ratios))


def _layer(w: np.ndarray, b: np.ndarray, scale: np.ndarray, lif: LIFParams, bits: int, gain: float,
           readout: bool) -> tuple[DenseParams, LIFParams, float]:
    """The Dense and LIF of one layer for per-neuron scales ``scale`` (v = 64 scale mem), and its overflow ratio."""
    dense = quantize_weights(scale[:, None] * w, bits)
    mant, exp = bias_parts(64 * scale * b)
    lif = lif._replace(bias_mant=mant, bias_exp=exp)
    return dense, lif, _overflow(*_activation_range(dense), mant << exp, lif.vth, gain, readout)


def _largest_scale(w: np.ndarray, b: np.ndarray, per: np.ndarray, bits: int, gain: float, readout: bool,
                   start_gain: float) -> float:
    """The largest x with scale = x * per inside the bounds of :func:`_overflow`, from the float weights
    (the quantised ones are checked afterwards); x is vth for a spiking layer, s for the readout, at most 131071.
    The largest weight also stays below what weight_exp 7 holds (at least 256 - 2**(9 - bits), times 2**7), so
    quantize_weights never clips. start_gain: the starting |v| that cancels the bias, per unit of bias
    (:func:`_silent_start`)."""
    pos, neg = per * np.maximum(w, 0).sum(axis=1), per * np.maximum(-w, 0).sum(axis=1)
    bias, a = per * b, np.maximum(pos, neg)
    top = max(256 - (1 << max(9 - bits, 0)), 128) << 7
    pairs = [(A_MAX, a), ((BIAS_RANGE[1] << BIAS_EXP_MAX) / 64, np.abs(bias)), (VTH_MAX, np.ones(1)),
             (V_MAX / 64, start_gain * np.abs(bias)), (top, per * np.abs(w).max(axis=1, initial=0.0))]
    if readout:
        pairs.append((VTH_MAX, gain * (a + np.abs(bias))))
    else:
        pairs += [(V_MAX / 64, 1 + pos + np.maximum(bias, 0)), (V_MAX / 64, gain * (neg + np.maximum(-bias, 0)))]
    return min(float(limit) / float(used.max()) if used.max() > 0 else math.inf for limit, used in pairs)


def _silent_start(name: str, lif: LIFParams, n: int, pre_steps: int) -> LIFState:
    """The state from which ``pre_steps`` steps without input (u = 0, bias only) end at v = 0 without a spike.

    Solved backwards: v_{k-1} is the integer x with decay(x, dv) = v_k - bias; decay is monotone and moves by
    at most 1 when x does, so x = sign(y) ceil(|y| 4096 / (4096 - dv)) for y = v_k - bias.
    """
    bias = np.broadcast_to(np.asarray(lif.bias_mant, np.int64) << np.asarray(lif.bias_exp, np.int64), (n,))
    keep = DECAY_UNITY - lif.dv
    path = [np.zeros(n, np.int64)]
    for _ in range(pre_steps):
        y = path[0] - bias
        path.insert(0, np.sign(y) * (-(-np.abs(y) * DECAY_UNITY // keep)))
    high = np.max(path[1:], axis=0) > lif.vth << VTH_SHIFT
    if np.any(high):
        raise ValueError(f"layer {name}: neuron {np.flatnonzero(high)[0]}'s negative bias is too strong: it would "
                         f"spike on its way to v = 0 in the {pre_steps} steps before its first input (a layer l > 0 "
                         f"needs bias >= -threshold / (1/beta + ... + 1/beta^l))")
    return LIFState.initial(n, 0, path[0])  # the scales keep |v0| < 2**23 (ValueError naming v otherwise)


def quantize_mlp(model: Any, steps: int, *, num_weight_bits: int = 8, vth: int | None = None) -> LoihiMLP:
    """Quantise a spiking MLP (``Linear, LIF, ..., [Linear]``) into a Loihi chain; the mapping is in the module
    docstring.

    model: an nn.Module whose Linear and LIF layers, in attribute order, form the MLP (e.g. examples/digits.py's
    SpikingMLP: fc, lif, readout), or a list of them; every LIF must have reset="zero" and one beta for the
    layer (Loihi's dv is per population); thresholds may differ per neuron. steps: T, the number of steps the
    float model runs (it bounds the readout's and the leak-free layers' sums). num_weight_bits: Dense's [1, 8]
    (2 or more for weights of both signs). vth: threshold mantissa of every spiking layer, in [1, 131071];
    None picks per layer the largest within the bounds. ValueError naming the layer or parameter otherwise.
    """
    steps = check_int("steps", steps, minimum=1)
    num_weight_bits = check_int("num_weight_bits", num_weight_bits, minimum=NUM_WEIGHT_BITS_RANGE[0])
    if num_weight_bits > NUM_WEIGHT_BITS_RANGE[1]:
        raise ValueError(f"num_weight_bits must be <= {NUM_WEIGHT_BITS_RANGE[1]}, got {num_weight_bits}")
    if vth is not None:
        vth = check_int("vth", vth, minimum=1)
        if vth > VTH_MAX:
            raise ValueError(f"vth must be <= {VTH_MAX} (unsigned 17-bit), got {vth}")
    floats, readout = _float_layers(model)
    depth = len(floats)
    layers, states, scales = [], [], []
    for k, (name, w, b, lif) in enumerate(floats):
        n = w.shape[0]
        if lif is None:  # the readout: one scale for all outputs, v integrates without leak
            params, per, gain = LIFParams(du=DU_NO_CURRENT, dv=0, vth=VTH_MAX), np.ones(n), steps + depth
        else:
            beta = _values(f"layer {name} beta", lif.beta, n)
            if np.ptp(beta) != 0:
                raise ValueError(f"layer {name}: beta must be one value for the layer (Loihi's dv is per "
                                 f"population), got {beta.min()}..{beta.max()}")
            thr = _values(f"layer {name} threshold", lif.threshold, n)
            if np.any(thr <= 0):
                raise ValueError(f"layer {name}: threshold must be > 0, got {thr.min()}")
            dv = min(int(round(DECAY_UNITY * (1.0 - beta[0]))), DU_NO_CURRENT)
            params, per = LIFParams(du=DU_NO_CURRENT, dv=dv, vth=1), 1.0 / thr
            gain = min(DECAY_UNITY / dv, steps + depth) if dv else steps + depth
        keep = 1.0 - params.dv / DECAY_UNITY  # beta_q; the start v is about bias (1/beta_q + ... + 1/beta_q^(k+1))
        start_gain = sum(keep ** -j for j in range(1, k + 2)) * 1.001
        x = _largest_scale(w, b, per, num_weight_bits, gain, lif is None, start_gain)
        if lif is not None and x < 1:
            raise ValueError(f"layer {name}: no vth >= 1 keeps its worst-case sums and bias within Loihi's ranges "
                             f"(its weights or bias are too large next to its threshold)")
        if lif is not None and vth is not None:
            if vth > x:
                raise ValueError(f"vth={vth} lets layer {name}'s worst-case sums or bias leave Loihi's ranges; "
                                 f"use vth <= {math.floor(x)} or vth=None")
            x = vth
        for _ in range(50):  # the quantised weights may sum a little higher than the float ones: lower x until fit
            if lif is not None:
                x = math.floor(x)
                params = params._replace(vth=x)
            dense, lif_params, ratio = _layer(w, b, x * per, params, num_weight_bits, gain, lif is None)
            if ratio <= 1.0:
                break
            if lif is not None and vth is not None:
                raise ValueError(f"vth={x} lets layer {name}'s quantised worst-case sums leave Loihi's ranges (by "
                                 f"{ratio:.3g}); use vth <= {math.floor(x / ratio)}")
            if lif is not None and x <= 1:
                raise ValueError(f"layer {name}: no vth >= 1 keeps its quantised worst-case sums within Loihi's "
                                 f"ranges")
            x *= 0.999 / ratio
        else:
            raise ValueError(f"layer {name}: its quantised sums stay beyond Loihi's ranges (by {ratio:.3g})")
        layers.append((dense, lif_params))
        scales.append(x * per)
        states.append(_silent_start(name, lif_params, n, k + 1))
    return LoihiMLP(layers, states, scales, steps, readout)


# --- Running it ----------------------------------------------------------------------------------------------------

def mlp_chain(mlp: LoihiMLP, spikes: Any):
    """The chain to run for input spikes [T, n_in] (T = mlp.steps): the spikes and L silent rows, the layers and
    the starting states, as a :class:`~eventsnn.loihi.fixed_point.Chain` for run_layers(*chain) or run_lava(*chain)."""
    x = np.asarray(spikes)
    n_in = np.shape(mlp.layers[0][0].weights)[1]
    if x.shape != (mlp.steps, n_in) or not np.all((x == 0) | (x == 1)):
        raise ValueError(f"spikes must be spikes (bool or 0/1) of shape ({mlp.steps}, {n_in}), got shape {x.shape}")
    padded = np.zeros((mlp.steps + len(mlp.layers), n_in), bool)
    padded[:mlp.steps] = x.astype(bool)
    return Chain(padded, mlp.layers, mlp.states)


def _check_traces(mlp: LoihiMLP, traces: Sequence[LayerTrace]) -> None:
    rows = mlp.steps + len(mlp.layers)
    if len(traces) != len(mlp.layers) or any(t.spikes.shape[0] != rows for t in traces):
        raise ValueError(f"traces must be {len(mlp.layers)} layer traces of {rows} steps (a run of mlp_chain), "
                         f"got {[t.spikes.shape for t in traces]}")


def align_traces(mlp: LoihiMLP, traces: Sequence[LayerTrace]) -> list[LayerTrace]:
    """Each layer's T steps that correspond to the float model's steps 1..T (layer l: Loihi steps l + 2 ..
    l + T + 1), from full traces [T + L, n] of a run of :func:`mlp_chain`."""
    _check_traces(mlp, traces)
    if any(t.v.shape[0] != t.spikes.shape[0] for t in traces):
        raise ValueError("traces must hold u and v at every step (run Lava with monitors)")
    return [LayerTrace(*(x[l + 1:l + 1 + mlp.steps] for x in trace)) for l, trace in enumerate(traces)]


def mlp_scores(mlp: LoihiMLP, traces: Sequence[LayerTrace]) -> np.ndarray:
    """Class scores [n_out] of a run of :func:`mlp_chain`: with a readout, its v after the last step divided by
    64 s T (so they approximate the float model's logits); else the last layer's spike counts over its T steps.
    Needs only the last row of v: traces recorded without monitors do."""
    _check_traces(mlp, traces)
    last = traces[-1]
    if mlp.readout:
        return last.v[-1].astype(np.float64) / (64 * mlp.scales[-1] * mlp.steps)
    return last.spikes[-mlp.steps:].sum(axis=0).astype(np.float64)
