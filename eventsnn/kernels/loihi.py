"""Numba twin of :mod:`eventsnn.loihi.fixed_point`: Lava's bit-accurate LIF and Dense, same integers.

The reference module states the equations and the Lava source lines they
mirror; these kernels do the same arithmetic one neuron (or one spiking
input) at a time in int64, with the int32 wraps Lava's arrays perform
written out. Arguments are checked by the reference module's validators
before they get here.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..loihi.fixed_point import (ACT_SHIFT, DECAY_SHIFT, DECAY_UNITY, DM_OFFSET, DS_OFFSET, INT32_MIN, MAX_UV,
                                 VTH_SHIFT, WEIGHT_BITS, SignMode)

_MIXED = int(SignMode.MIXED)
_INHIBITORY = int(SignMode.INHIBITORY)


@njit(cache=True)
def _wrap_int32(x):
    """x (int64) wrapped into [-2**31, 2**31) as int32 arithmetic leaves it."""
    return (x - INT32_MIN) % (1 << 32) + INT32_MIN


@njit(cache=True)
def _decay(x, decay):
    """x * (4096 - decay) / 4096 rounded toward zero."""
    p = np.int64(x) * (DECAY_UNITY - decay)
    return p >> DECAY_SHIFT if p >= 0 else -((-p) >> DECAY_SHIFT)


@njit(cache=True)
def lif_step(a_in, u, v, du, dv, vth, bias_mant, bias_exp, spikes):
    """One LIF step in place: u, v (int32 [n]) advance by a_in (int32 [n]); spikes (bool [n]) are written.

    du, dv, vth are the population's; bias_mant, bias_exp (int64 [n]) per neuron.
    """
    threshold = np.int64(vth) << VTH_SHIFT
    for i in range(u.shape[0]):
        cur = _wrap_int32(_decay(u[i], du + DS_OFFSET) + _wrap_int32(np.int64(a_in[i]) << ACT_SHIFT))
        if cur > MAX_UV:
            cur -= 2 * MAX_UV
        elif cur <= -MAX_UV:
            cur += 2 * MAX_UV
        volt = _wrap_int32(_decay(v[i], dv + DM_OFFSET) + cur + (bias_mant[i] << bias_exp[i]))
        volt = min(max(volt, -MAX_UV + 1), MAX_UV - 1)
        spikes[i] = volt > threshold
        u[i] = cur
        v[i] = 0 if spikes[i] else volt


@njit(cache=True)
def truncate_weights(weights, sign_mode, num_weight_bits):
    """Lava's weight truncation: the low 8 - num_weight_bits (+1 if mixed) bits dropped, toward zero if inhibitory.

    weights int64 [n_out, n_in] within the sign mode's range; returns a new int64 array.
    """
    shift = WEIGHT_BITS - num_weight_bits + (1 if sign_mode == _MIXED else 0)
    out = np.empty_like(weights)
    for i in range(weights.shape[0]):
        for j in range(weights.shape[1]):
            w = weights[i, j]
            out[i, j] = -((-w >> shift) << shift) if sign_mode == _INHIBITORY else (w >> shift) << shift
    return out


@njit(cache=True)
def dense_step(spikes, weights, weight_exp, out):
    """out (int32 [n_out]) = the shifted column sum of truncated ``weights`` over the inputs that spiked.

    Event-driven: only columns j with spikes[j] are read.
    """
    n_out, n_in = weights.shape
    total = np.zeros(n_out, np.int64)
    for j in range(n_in):
        if spikes[j]:
            for i in range(n_out):
                total[i] += weights[i, j]
    for i in range(n_out):
        shifted = total[i] << weight_exp if weight_exp > 0 else total[i] >> -weight_exp
        out[i] = _wrap_int32(shifted)
