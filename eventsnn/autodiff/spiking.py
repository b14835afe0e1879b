"""Spiking tape ops: the Heaviside spike and fused LIF / ALIF time loops.

See :mod:`eventsnn.kernels.bptt` for the equations. ``lif_sequence`` and
``alif_sequence`` record one tape node for all T steps; their VJP is the
fused BPTT kernel and agrees with the per-step composition of
:func:`spike`, :func:`~eventsnn.autodiff.ops.mul` and friends.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_array, check_choice
from ..kernels import bptt
from .ops import ArrayLike, kernel_threads, unbroadcast
from .surrogate import FastSigmoid, Surrogate
from .tensor import Tensor, as_tensor, record

RESETS = {"subtract": bptt.SUBTRACT, "zero": bptt.ZERO, "none": bptt.NONE}


def spike(x: ArrayLike, surrogate: Surrogate = FastSigmoid()) -> Tensor:
    """H(x) = 1[x > 0]; backward multiplies by ``surrogate(x)``."""
    x = as_tensor(x)
    if not isinstance(surrogate, Surrogate):
        raise ValueError(f"surrogate must be a Surrogate, got {surrogate!r}")
    out = (x.data > 0).astype(x.dtype)
    return record("spike", out, (x,), lambda g: (g * surrogate(x.data),))


def _per_neuron(name: str, value: ArrayLike, n: int, dtype: np.dtype, lo: float = -np.inf,
                hi: float = np.inf, positive: bool = False) -> tuple[Tensor, np.ndarray]:
    """``value`` as a Tensor of shape () or (n,) with values in [lo, hi] (and > 0 if ``positive``), and its
    values broadcast to [n]."""
    try:
        t = as_tensor(value, dtype)
    except ValueError:  # None, a string: not numbers
        raise ValueError(f"{name} must be a number, an array [N] or a Tensor, got {value!r:.80}") from None
    if t.shape not in ((), (n,)):
        raise ValueError(f"{name} must have shape () or ({n},), got {t.shape}")
    arr = check_array(name, t.data, dtype=dtype)
    outside = (arr < lo) | (arr > hi) | ((arr <= 0) if positive else False)
    if np.any(outside):
        rule = "be > 0" if positive else f"lie in [{lo}, {hi}]"
        raise ValueError(f"{name} must {rule}, got {arr[outside].flat[0]!r}")
    return t, np.ascontiguousarray(np.broadcast_to(arr, (n,)))


class NeuronState(NamedTuple):
    """Where a layer's neurons stand after a sequence: membrane, last spikes, adaptation ([B, N] each)."""

    mem: np.ndarray
    spk: np.ndarray
    adapt: np.ndarray

    @classmethod
    def zeros(cls, batch: int, n: int, dtype=np.float64) -> "NeuronState":
        return cls(*(np.zeros((batch, n), dtype) for _ in range(3)))


def alif_sequence(current: Tensor, beta: ArrayLike, threshold: ArrayLike, rho: ArrayLike = 0.0,
                  gamma: ArrayLike = 0.0, surrogate: Surrogate = FastSigmoid(), reset: str = "subtract",
                  detach_reset: bool = True) -> Tensor:
    """Adaptive LIF over time from rest: current[T, B, N] -> spikes[T, B, N].

    beta, rho in [0, 1] are the per-step decay factors of membrane and
    adaptation (beta = exp(-dt / tau_mem)); threshold > 0 and gamma >= 0
    (threshold increase per spike, in membrane units) are scalars or per-neuron [N].
    Gradients flow to every argument that is a Tensor with ``requires_grad``.
    """
    return alif_sequence_from(current, beta, threshold, rho, gamma, surrogate, reset, detach_reset)[0]


def alif_sequence_from(current: Tensor, beta: ArrayLike, threshold: ArrayLike, rho: ArrayLike = 0.0,
                       gamma: ArrayLike = 0.0, surrogate: Surrogate = FastSigmoid(), reset: str = "subtract",
                       detach_reset: bool = True, state: NeuronState | None = None) -> tuple[Tensor, NeuronState]:
    """:func:`alif_sequence` starting from ``state`` (rest if None); returns (spikes, final state).

    Running T1 steps and then T2 more from the returned state gives the same
    spikes as T1 + T2 steps at once. Gradients do not flow into ``state``
    (truncated BPTT).
    """
    current = as_tensor(current)
    if current.ndim != 3:
        raise ValueError(f"current must have shape [T, B, N], got {current.shape}")
    check_array("current", current.data, dtype=current.dtype)
    if not isinstance(surrogate, Surrogate):
        raise ValueError(f"surrogate must be a Surrogate, got {surrogate!r}")
    mode = RESETS[check_choice("reset", reset, tuple(RESETS))]
    n, dtype = current.shape[2], current.dtype
    params = [_per_neuron("beta", beta, n, dtype, 0.0, 1.0),
              _per_neuron("threshold", threshold, n, dtype, positive=True),
              _per_neuron("rho", rho, n, dtype, 0.0, 1.0), _per_neuron("gamma", gamma, n, dtype, 0.0)]
    tensors = tuple(t for t, _ in params)
    b, th, r, gm = (arr for _, arr in params)
    if state is None:
        state = NeuronState.zeros(current.shape[1], n, dtype)
    if not isinstance(state, tuple) or len(state) != len(NeuronState._fields):
        raise ValueError(f"state must be a NeuronState (mem, spk, adapt) or None, got {state!r:.80}")
    initial = tuple(check_array(f"state.{name}", x, shape=current.shape[1:], dtype=dtype)
                    for name, x in zip(NeuronState._fields, state))
    # the adaptation history is only read where gamma != 0 or gamma is learned
    adaptive = tensors[3].requires_grad or bool(np.any(gm != 0))
    with kernel_threads(current.size):
        spk, mem, ad, a_last = bptt.neuron_run(np.ascontiguousarray(current.data), b, th, r, gm, mode, *initial,
                                               adaptive)

    def vjp(g: np.ndarray) -> tuple:
        with kernel_threads(g.size):
            g_in, *d = bptt.neuron_backward(np.ascontiguousarray(g, dtype=dtype), spk, mem, ad, b, th, r, gm,
                                            mode, bool(detach_reset), surrogate.kind, surrogate.slope, *initial)
        return (g_in,) + tuple(unbroadcast(di.sum(axis=0), t.shape) if t.requires_grad else None
                               for di, t in zip(d, tensors))

    final = NeuronState(mem[-1].copy(), spk[-1].copy(), a_last) if current.shape[0] else NeuronState(*initial)
    return record("alif_sequence", spk, (current,) + tensors, vjp), final


def lif_sequence(current: Tensor, beta: ArrayLike, threshold: ArrayLike = 1.0,
                 surrogate: Surrogate = FastSigmoid(), reset: str = "subtract",
                 detach_reset: bool = True) -> Tensor:
    """Leaky integrate-and-fire over time, as snnTorch ``Leaky``: current[T, B, N] -> spikes.

    mem[t] = beta mem[t-1] + I[t] - spk[t-1] threshold  (reset="subtract"),
    spk[t] = H(mem[t] - threshold); the reset term is detached from the graph
    unless ``detach_reset=False``. This is :func:`alif_sequence` with gamma = 0.
    """
    return alif_sequence(current, beta, threshold, 0.0, 0.0, surrogate, reset, detach_reset)
