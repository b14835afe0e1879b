"""Bit-exact fixed-point model of Lava's LIF and Dense (lava-nc 0.10.0, bit-accurate process models).

This is the readable NumPy reference; :mod:`eventsnn.kernels.loihi` is its
Numba twin and gives identical integers. It mirrors ``PyLifModelBitAcc``
(``lava/proc/lif/models.py``) and ``PyDenseModelBitAcc``
(``lava/proc/dense/models.py`` with ``lava/utils/weightutils.py``); every
line reference below is to lava-nc 0.10.0. All quantities are integers in
Loihi's units; there is no time constant in ms, one call is one time step.

LIF (``lif_step``), per neuron, with ``a_in`` the integer activation Dense
delivered this step::

    u <- wrap24( decay(u, du + 1) + (a_in << 6) )                 current, 24 bits, wraps
    v <- clip24( decay(v, dv + 0) + u + (bias_mant << bias_exp) )  voltage, 24 bits, saturates
    s  = v > (vth << 6)                                            spike
    v <- 0 where s                                                 reset (u is not reset)

    decay(x, d) = trunc(x * (4096 - d) / 4096)    (rounds toward zero: sign(p) * (|p| >> 12))
    wrap24(x)   = x - 2**24 if x > 2**23, x + 2**24 if x <= -2**23, else x   (one correction)
    clip24(x)   = min(max(x, -(2**23 - 1)), 2**23 - 1)

The decay offsets are Lava's ``ds_offset = 1`` (current) and ``dm_offset =
0`` (voltage): du = 4095 clears u in one step, du = 0 still leaks 1/4096 of
it per step; dv = 0 keeps v. u lies in (-2**23, 2**23] (Lava maps -2**23 to
+2**23) as long as |a_in << 6| < 2**23, which Loihi's 16-bit activation
(|a_in| < 2**15) guarantees. Lava's simulation does not limit a_in; beyond
that its single correction leaves u outside 24 bits and its int32 arithmetic
wraps (``a_in << 6``, the sum for u, the sum for v). Those int32 wraps are
written out below (``_wrap_int32``) so the model equals Lava for every input
Lava accepts, not only for those Loihi can hold.

Dense (``dense_step``): weights W[n_out, n_in] are 8-bit values in the range
of their sign mode (``WEIGHT_RANGE``); Lava truncates their low bits to
``num_weight_bits`` (one bit more when the sign mode is mixed, as the sign
takes a bit), sums the columns of the inputs that spiked and shifts by
``weight_exp``::

    t     = 8 - num_weight_bits + (1 if mixed else 0)
    W'    = (W >> t) << t            (inhibitory: -((-W >> t) << t), i.e. toward zero)
    a_out = wrap32( sum_{j: s_j} W'[:, j]  <<  weight_exp )   (>> -weight_exp, floor, if negative)

Lava's Dense sends a_out one step later: what LIF receives at step t is
Dense's sum over the spikes of step t - 1 (zero at step 1). ``run_layers``
models that delay; ``dense_step`` is the stateless accumulation.

Lava clips weights into the sign mode's range before truncating
(``clip_weights``); here a weight outside it is a ValueError, so a quantiser
bug is not silently saturated. :func:`clip_weights` does Lava's clip for
callers who want it.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple, Sequence

import numpy as np

from .._validation import check_choice, check_int

# --- Bit widths and constants, each as in lava-nc 0.10.0 ------------------------------------------------------------
DECAY_BITS = 12                     # du, dv: unsigned 12-bit (lif/models.py:82-83, :252-253)
DECAY_SHIFT = 12                    # products with (4096 - d) are shifted right by 12 (lif/models.py:104)
DECAY_UNITY = 1 << DECAY_SHIFT      # 4096 (lif/models.py:105)
DS_OFFSET = 1                       # added to du: current decay constant is du + 1 (lif/models.py:94, :145)
DM_OFFSET = 0                       # added to dv: voltage decay constant is dv (lif/models.py:95, :174)
UV_BITS = 24                        # u and v are 24-bit (lif/models.py:80-81, :101)
MAX_UV = 1 << (UV_BITS - 1)         # 2**23: u wraps beyond it, v saturates one below it (lif/models.py:102, :161-186)
ACT_SHIFT = 6                       # a_in is shifted left by 6 before it is added to u (lif/models.py:108, :155)
VTH_SHIFT = 6                       # effective threshold is vth << 6 (lif/models.py:107, :273)
VTH_BITS = 17                       # vth: unsigned 17-bit, 0..131071 (lif/models.py:257, :262)
BIAS_MANT_BITS = 13                 # bias_mant: signed 13-bit, -4096..4095 (lif/models.py:84, :254)
BIAS_EXP_BITS = 3                   # bias_exp: unsigned 3-bit, 0..7 (lif/models.py:85, :256)
WEIGHT_BITS = 8                     # weights are clipped to 8 bits before truncation (dense/models.py:68, :87)
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1  # Lava keeps u, v, a_in, a_out in int32 (lif/models.py:78-81,
                                                  # dense/models.py:64; its channels cast to the sender's dtype)
WEIGHT_EXP_RANGE = (-8, 7)          # eventsnn's limit: Loihi's 4-bit signed weight exponent; Lava does not check it
NUM_WEIGHT_BITS_RANGE = (1, 8)      # eventsnn's limit: 0 bits would make Lava's mixed-sign truncation negative


class SignMode(IntEnum):
    """Lava's ``SignMode`` values (lava/utils/weightutils.py:12-18); NULL (0) is not accepted here."""

    MIXED = 1
    EXCITATORY = 2
    INHIBITORY = 3


# Weights Lava leaves unchanged when it clips them to 8 bits (weightutils.py:250-296 with num_bits=8).
WEIGHT_RANGE = {
    SignMode.MIXED: (-(1 << WEIGHT_BITS), (1 << WEIGHT_BITS) - 1),    # [-256, 255]
    SignMode.EXCITATORY: (0, (1 << WEIGHT_BITS) - 1),                 # [0, 255]
    SignMode.INHIBITORY: (-((1 << WEIGHT_BITS) - 1), 0),              # [-255, 0]
}


class LIFParams(NamedTuple):
    """Parameters of a Lava LIF population (defaults are Lava's ``LIF`` defaults).

    du, dv: current and voltage decay, unsigned 12-bit [0, 4095], one per population;
    vth: threshold mantissa, unsigned 17-bit [0, 131071]; the neuron spikes when v > vth << 6;
    bias_mant: signed 13-bit [-4096, 4095], scalar or per neuron [n];
    bias_exp: unsigned 3-bit [0, 7], scalar or per neuron; the bias added to v each step is bias_mant << bias_exp.
    """

    du: int = 0
    dv: int = 0
    vth: int = 10
    bias_mant: Any = 0
    bias_exp: Any = 0


class LIFState(NamedTuple):
    """u (current) and v (voltage), int32 [n] each; see the module docstring for their ranges."""

    u: np.ndarray
    v: np.ndarray

    @classmethod
    def initial(cls, n: int, u: Any = 0, v: Any = 0) -> "LIFState":
        """A validated starting state (Lava's ``LIF(u=..., v=...)``): u in (-2**23, 2**23], |v| < 2**23."""
        n = check_int("n", n, minimum=1)
        u = _int_array("u", u, -MAX_UV + 1, MAX_UV, "a 24-bit current", shape=(n,))
        v = _int_array("v", v, -MAX_UV + 1, MAX_UV - 1, "a 24-bit saturating voltage", shape=(n,))
        return cls(u.astype(np.int32), v.astype(np.int32))


class DenseParams(NamedTuple):
    """A Lava ``Dense`` with its fixed-point settings.

    weights: integers [n_out, n_in] within ``WEIGHT_RANGE[sign_mode]``;
    weight_exp: shift applied to the summed activation, eventsnn allows [-8, 7];
    num_weight_bits: bits of weight kept, [1, 8] (Lava's default 8);
    sign_mode: a :class:`SignMode`, or None for Lava's default: excitatory if no
    weight is negative, inhibitory if none is positive, mixed otherwise.
    """

    weights: Any
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: SignMode | None = None


class LayerTrace(NamedTuple):
    """One LIF layer over a run, after each step (what a Lava Monitor records): [T, n] each."""

    spikes: np.ndarray  # bool
    u: np.ndarray       # int32
    v: np.ndarray       # int32


# --- Validation ----------------------------------------------------------------------------------------------------

def _int_array(name: str, value: Any, lo: int, hi: int, what: str, shape: tuple | None = None) -> np.ndarray:
    """``value`` as an int64 array (scalars broadcast to ``shape``); integers in [lo, hi] only."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be {what}, an integer in [{lo}, {hi}]; got dtype {arr.dtype}")
    if shape is not None:
        if arr.ndim != 0 and arr.shape != shape:
            raise ValueError(f"{name} must be a scalar or have shape {shape}, got shape {arr.shape}")
        arr = np.broadcast_to(arr, shape)
    outside = (arr < lo) | (arr > hi)
    if np.any(outside):
        raise ValueError(f"{name} must be {what}, an integer in [{lo}, {hi}]; got {arr[outside].flat[0]!r}")
    return arr.astype(np.int64)


def _int_scalar(name: str, value: Any, lo: int, hi: int, what: str) -> int:
    x = check_int(name, value)
    if not lo <= x <= hi:
        raise ValueError(f"{name} must be {what}, an integer in [{lo}, {hi}]; got {value!r}")
    return x


def check_lif_params(params: LIFParams, n: int) -> tuple[int, int, int, np.ndarray, np.ndarray]:
    """(du, dv, vth, bias_mant[n], bias_exp[n]) of ``params`` for n neurons; ValueError naming a bad one."""
    if not isinstance(params, LIFParams):
        raise ValueError(f"params must be a LIFParams, got {type(params).__name__}")
    du = _int_scalar("du", params.du, 0, (1 << DECAY_BITS) - 1, "unsigned 12-bit")
    dv = _int_scalar("dv", params.dv, 0, (1 << DECAY_BITS) - 1, "unsigned 12-bit")
    vth = _int_scalar("vth", params.vth, 0, (1 << VTH_BITS) - 1, "unsigned 17-bit")
    half = 1 << (BIAS_MANT_BITS - 1)
    bias_mant = _int_array("bias_mant", params.bias_mant, -half, half - 1, "signed 13-bit", shape=(n,))
    bias_exp = _int_array("bias_exp", params.bias_exp, 0, (1 << BIAS_EXP_BITS) - 1, "unsigned 3-bit", shape=(n,))
    return du, dv, vth, bias_mant, bias_exp


def check_lif_state(state: LIFState) -> int:
    """The population size of ``state`` (int32 u and v of one shape [n])."""
    if not isinstance(state, LIFState):
        raise ValueError(f"state must be a LIFState, got {type(state).__name__}")
    for name in ("u", "v"):
        arr = getattr(state, name)
        if not isinstance(arr, np.ndarray) or arr.dtype != np.int32 or arr.ndim != 1:
            raise ValueError(f"state.{name} must be a 1-D int32 array (LIFState.initial makes one), got {arr!r}")
    if state.u.shape != state.v.shape:
        raise ValueError(f"state.u and state.v must have one shape, got {state.u.shape} and {state.v.shape}")
    return state.u.shape[0]


def resolve_sign_mode(weights: np.ndarray, sign_mode: Any) -> SignMode:
    """``sign_mode`` as a SignMode; None picks it from the weights as Lava's ``determine_sign_mode`` does
    (weightutils.py:21-43)."""
    if sign_mode is None:
        if weights.size == 0 or weights.min() >= 0:
            return SignMode.EXCITATORY
        return SignMode.INHIBITORY if weights.max() <= 0 else SignMode.MIXED
    if isinstance(sign_mode, bool) or not isinstance(sign_mode, (int, np.integer)) or sign_mode not in tuple(SignMode):
        raise ValueError(f"sign_mode must be None or one of {[m for m in SignMode]}, got {sign_mode!r}")
    return SignMode(sign_mode)


def check_dense_params(params: DenseParams) -> tuple[np.ndarray, int, int, SignMode]:
    """(weights int64 [n_out, n_in], weight_exp, num_weight_bits, sign_mode) of ``params``; ValueError if bad."""
    if not isinstance(params, DenseParams):
        raise ValueError(f"params must be a DenseParams, got {type(params).__name__}")
    raw = np.asarray(params.weights)
    if raw.ndim != 2:
        raise ValueError(f"weights must be a 2-D matrix [n_out, n_in], got shape {raw.shape}")
    if raw.dtype.kind not in "iu":
        raise ValueError(f"weights must be integers, got dtype {raw.dtype} (quantise them first)")
    sign_mode = resolve_sign_mode(raw, params.sign_mode)
    lo, hi = WEIGHT_RANGE[sign_mode]
    weights = _int_array("weights", raw, lo, hi, f"an 8-bit weight for sign_mode {sign_mode.name}")
    weight_exp = _int_scalar("weight_exp", params.weight_exp, *WEIGHT_EXP_RANGE, "a 4-bit signed exponent")
    num_weight_bits = _int_scalar("num_weight_bits", params.num_weight_bits, *NUM_WEIGHT_BITS_RANGE,
                                  "a number of weight bits")
    return weights, weight_exp, num_weight_bits, sign_mode


def _binary(name: str, value: Any, shape: tuple) -> np.ndarray:
    """``value`` as a bool array of ``shape``; it must hold spikes: bools, or numbers that are 0 or 1."""
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.dtype != np.bool_ and (arr.dtype.kind not in "iuf" or np.any((arr != 0) & (arr != 1))):
        raise ValueError(f"{name} must hold spikes (bool or 0/1), got {arr!r}")
    return arr.astype(np.bool_)


# --- Arithmetic ----------------------------------------------------------------------------------------------------

def _wrap_int32(x: np.ndarray) -> np.ndarray:
    """x (int64) as int32 arithmetic would leave it: two's complement wrap into [-2**31, 2**31)."""
    return (x - INT32_MIN) % (1 << 32) + INT32_MIN


def _decay(x: np.ndarray, decay: int) -> np.ndarray:
    """x * (4096 - decay) / 4096 rounded toward zero, as Lava computes it (lif/models.py:148-152, :179-183)."""
    p = x * (DECAY_UNITY - decay)
    return np.sign(p) * (np.abs(p) >> DECAY_SHIFT)


def truncate_weights(weights: np.ndarray, sign_mode: SignMode, num_weight_bits: int) -> np.ndarray:
    """Lava's ``truncate_weights`` (weightutils.py:204-247): drop the low 8 - num_weight_bits (+1 if mixed) bits,
    toward zero for inhibitory weights (they are negated, shifted and negated back). int64 in, int64 out."""
    shift = WEIGHT_BITS - num_weight_bits + (sign_mode == SignMode.MIXED)
    if sign_mode == SignMode.INHIBITORY:
        return -((-weights >> shift) << shift)
    return (weights >> shift) << shift


def clip_weights(weights: Any, sign_mode: SignMode | None = None) -> np.ndarray:
    """Lava's ``clip_weights(weights, sign_mode, num_bits=8)`` (weightutils.py:250-296): saturate integer
    weights into ``WEIGHT_RANGE[sign_mode]`` (sign mode from the weights if None). int64 out."""
    raw = np.asarray(weights)
    if raw.dtype.kind not in "iu":
        raise ValueError(f"weights must be integers, got dtype {raw.dtype}")
    lo, hi = WEIGHT_RANGE[resolve_sign_mode(raw, sign_mode)]
    return np.clip(raw.astype(np.int64), lo, hi)


def bias_parts(bias: Any) -> tuple[np.ndarray, np.ndarray]:
    """(bias_mant, bias_exp) with bias_mant << bias_exp nearest to ``bias`` (v units per step, per neuron), at
    the smallest exponent whose 13-bit mantissa holds it; a ValueError if even exponent 7 cannot."""
    value = np.asarray(bias, dtype=np.float64)
    half = 1 << (BIAS_MANT_BITS - 1)
    exp = np.full(value.shape, (1 << BIAS_EXP_BITS) - 1, np.int64)
    for e in range((1 << BIAS_EXP_BITS) - 2, -1, -1):  # |mantissa| grows as e falls: the last that fits is smallest
        exp = np.where(np.abs(np.rint(value / 2.0 ** e)) <= half - 1, e, exp)
    mant = np.rint(value / 2.0 ** exp)
    if np.any(np.abs(mant) > half - 1):
        raise ValueError(f"bias must fit a 13-bit mantissa at exponent 7, |bias| <= {(half - 1) << 7}; "
                         f"got {float(np.abs(value).max())}")
    return mant.astype(np.int64), exp


def lif_step(a_in: Any, state: LIFState, params: LIFParams) -> tuple[np.ndarray, LIFState]:
    """One step of Lava's ``PyLifModelBitAcc.run_spk`` (lif/models.py:194-216, 268-278).

    a_in: integer activation [n] received this step (int32 range, as Lava's ports carry it).
    Returns (spikes bool [n], new state); ``state`` is not modified.
    """
    n = check_lif_state(state)
    du, dv, vth, bias_mant, bias_exp = check_lif_params(params, n)
    a_in = _int_array("a_in", a_in, INT32_MIN, INT32_MAX, "an int32 activation", shape=(n,))

    # Current: decay by du + ds_offset, add the MSB-aligned input, wrap once into 24 bits (lif/models.py:143-170).
    u = _wrap_int32(_decay(state.u.astype(np.int64), du + DS_OFFSET) + _wrap_int32(a_in << ACT_SHIFT))
    u = np.where(u > MAX_UV, u - 2 * MAX_UV, u)
    u = np.where(u <= -MAX_UV, u + 2 * MAX_UV, u)
    # Voltage: decay by dv + dm_offset, add u and the bias, saturate at 24 bits (lif/models.py:110-122, :171-186).
    v = _wrap_int32(_decay(state.v.astype(np.int64), dv + DM_OFFSET) + u + (bias_mant << bias_exp))
    v = np.clip(v, -MAX_UV + 1, MAX_UV - 1)
    # Spike where v exceeds the MSB-aligned threshold; reset v (not u) to 0 (lif/models.py:56, :273, :278).
    spikes = v > (vth << VTH_SHIFT)
    v[spikes] = 0
    return spikes, LIFState(u.astype(np.int32), v.astype(np.int32))


def dense_step(spikes: Any, params: DenseParams) -> np.ndarray:
    """The activation Lava's ``PyDenseModelBitAcc`` sums from ``spikes`` (dense/models.py:77-107): int32 [n_out].

    Lava sends it on the next step (see :func:`run_layers`); spikes are bool or 0/1 [n_in].
    """
    weights, exp, num_weight_bits, sign_mode = check_dense_params(params)
    weights = truncate_weights(weights, sign_mode, num_weight_bits)  # Lava does this once, on its first step (:82-91)
    spikes = _binary("spikes", spikes, (weights.shape[1],))
    total = weights[:, spikes].sum(axis=1)  # int64, as numpy sums Lava's int32 weights (dense/models.py:102)
    total = total << exp if exp > 0 else total >> -exp  # arithmetic shift: floor for negative sums (:103-107)
    return _wrap_int32(total).astype(np.int32)  # a_out's channel is int32 (dense/models.py:64)


class Chain(NamedTuple):
    """Input spikes bool [T, n_in], layers [(DenseParams, LIFParams), ...], starting states (rest if None)."""

    inputs: np.ndarray
    layers: Sequence[tuple[DenseParams, LIFParams]]
    states: Sequence[LIFState] | None = None


def check_chain(inputs, layers: Sequence[tuple[DenseParams, LIFParams]],
                states: Sequence[LIFState] | None = None) -> Chain:
    """The chain with bool inputs and explicit states; ValueError naming the first bad parameter.

    inputs: spikes [T, n_in] (bool or 0/1), T >= 1; layers: one or more (DenseParams, LIFParams), layer i's
    weights [n_i, n_{i-1}]; states: one LIFState of size n_i per layer, or None for rest (u = v = 0).
    """
    x = np.asarray(inputs)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"inputs must be spikes [T, n_in] with T, n_in >= 1, got shape {x.shape}")
    if x.dtype != np.bool_ and (x.dtype.kind not in "iuf" or np.any((x != 0) & (x != 1))):
        raise ValueError(f"inputs must hold spikes (bool or 0/1), got values {np.unique(x)[:5]!r}")
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers must be a non-empty sequence of (DenseParams, LIFParams), got {layers!r}")
    sizes = [x.shape[1]]
    for i, pair in enumerate(layers):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ValueError(f"layers[{i}] must be a (DenseParams, LIFParams) pair, got {pair!r}")
        weights, *_ = check_dense_params(pair[0])
        if weights.shape[1] != sizes[-1]:
            raise ValueError(f"layers[{i}] Dense weights must have {sizes[-1]} columns, got shape {weights.shape}")
        sizes.append(weights.shape[0])
        check_lif_params(pair[1], sizes[-1])
    if states is None:
        states = [LIFState.initial(n) for n in sizes[1:]]
    if len(states) != len(layers) or any(check_lif_state(s) != n for s, n in zip(states, sizes[1:])):
        raise ValueError(f"states must be {len(layers)} LIFStates of sizes {sizes[1:]}, got {states!r}")
    return Chain(x.astype(np.bool_), list(layers), list(states))


def run_layers(inputs: Any, layers: Sequence[tuple[DenseParams, LIFParams]],
               states: Sequence[LIFState] | None = None, backend: str = "numpy") -> list[LayerTrace]:
    """Run the Lava chain source -> Dense -> LIF -> Dense -> LIF ... for T steps; a trace per LIF layer.

    inputs: spikes [T, n_in] of the source (Lava's ``io.source.RingBuffer`` sends column t - 1 at step t);
    layers: (Dense, LIF) pairs, each Dense feeding the LIF after it; states: starting LIF states (rest if None).
    Each Dense delays by one step, as Lava's does (dense/models.py:93-96): at step t LIF l receives
    Dense l's sum over layer l - 1's spikes of step t - 1, and nothing at step 1.
    backend "numpy" runs :func:`lif_step` and :func:`dense_step`; "numba" their twins in
    :mod:`eventsnn.kernels.loihi`. Both give identical integers.
    """
    check_choice("backend", backend, ("numpy", "numba"))
    x, layers, states = check_chain(inputs, layers, states)
    sizes = [x.shape[1]] + [s.u.shape[0] for s in states]
    T = x.shape[0]
    traces = [LayerTrace(np.zeros((T, n), np.bool_), np.zeros((T, n), np.int32), np.zeros((T, n), np.int32))
              for n in sizes[1:]]
    buffers = [np.zeros(n, np.int32) for n in sizes[1:]]  # Dense's a_buff, 0 before the first step
    states = list(states)
    dense, lif = _numba_steps(layers) if backend == "numba" else _numpy_steps(layers)
    for t in range(T):
        spikes = x[t]
        for i in range(len(layers)):
            a_in, buffers[i] = buffers[i], dense(i, spikes)
            spikes, states[i] = lif(i, a_in, states[i])
            traces[i].spikes[t], traces[i].u[t], traces[i].v[t] = spikes, states[i].u, states[i].v
    return traces


def _numpy_steps(layers: Sequence[tuple[DenseParams, LIFParams]]):
    """dense(i, spikes) -> a_out and lif(i, a_in, state) -> (spikes, state) of layer i: the reference."""
    return (lambda i, spikes: dense_step(spikes, layers[i][0]),
            lambda i, a_in, state: lif_step(a_in, state, layers[i][1]))


def _numba_steps(layers: Sequence[tuple[DenseParams, LIFParams]]):
    """The same two functions on the Numba kernels, with each layer's parameters checked and unpacked once."""
    from ..kernels import loihi as kernels

    dense_args, lif_args = [], []
    for dense, lif in layers:
        weights, exp, num_weight_bits, sign_mode = check_dense_params(dense)
        dense_args.append((kernels.truncate_weights(weights, int(sign_mode), num_weight_bits), exp))
        lif_args.append(check_lif_params(lif, weights.shape[0]))

    def dense_numba(i, spikes):
        weights, exp = dense_args[i]
        out = np.empty(weights.shape[0], np.int32)
        kernels.dense_step(spikes, weights, exp, out)
        return out

    def lif_numba(i, a_in, state):
        u, v = state.u.copy(), state.v.copy()
        spikes = np.empty(u.shape[0], np.bool_)
        kernels.lif_step(a_in, u, v, *lif_args[i], spikes)
        return spikes, LIFState(u, v)

    return dense_numba, lif_numba
