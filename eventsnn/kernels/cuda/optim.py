"""CUDA twin of :func:`eventsnn.nn.optim.adam_update`: one Adam / AdamW step in place.

One thread per element does the CPU kernel's float32 arithmetic in its
order (elements are independent: no atomics, the same result on every run).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

from ...nn.optim import AdamScalars
from .arrays import THREADS, blocks, device_array, on_device


@cuda.jit
def _adam(w, g, m, v, b1, c1, b2, c2, step, bias2, eps, wd, shrink):
    i = cuda.grid(1)
    if i >= w.size:
        return
    gi = g[i] + wd * w[i]
    m[i] = b1 * m[i] + c1 * gi
    v[i] = b2 * v[i] + c2 * gi * gi
    w[i] = shrink * w[i] - step * m[i] / (math.sqrt(v[i] / bias2) + eps)


def adam_update(w: Any, g: Any, m: Any, v: Any, scalars: AdamScalars) -> None:
    """Update parameters w and moments m, v (float32, one shape) in place from gradient g.

    ``scalars`` is ``Adam.scalars(np.float32)`` (or ``AdamW``'s) for the
    step. NumPy arrays are copied to the device and the results written
    back into them; device arrays are updated on the device.
    """
    if not isinstance(scalars, AdamScalars):
        raise ValueError(f"scalars must be an AdamScalars, got {scalars!r}")
    for name, value in scalars._asdict().items():
        if not np.isfinite(value):
            raise ValueError(f"scalars.{name} must be finite, got {float(value)}")
    if not (scalars.bias2 > 0 and scalars.eps > 0):  # the update divides by sqrt(v / bias2) + eps
        raise ValueError(f"scalars.bias2 and scalars.eps must be > 0, got {float(scalars.bias2)} and "
                         f"{float(scalars.eps)}")
    for name, a in (("w", w), ("m", m), ("v", v)):
        if not on_device(a) and not (isinstance(a, np.ndarray) and a.dtype == np.float32 and a.flags.writeable):
            raise ValueError(f"{name} must be a writeable float32 NumPy or device array (it is updated in place)")
    shape = tuple(w.shape) if on_device(w) else np.shape(w)
    given = {"w": w, "g": g, "m": m, "v": v}
    dev = {name: device_array(name, a, shape) for name, a in given.items()}
    if not on_device(v) and (v < 0).any():  # a second moment; its square root is taken (a device v is not read)
        raise ValueError(f"v must be >= 0, got {float(v[v < 0].flat[0])}")
    flat = [d.reshape(d.size) for d in dev.values()]
    if flat[0].size:
        _adam[blocks(flat[0].size), THREADS](*flat, *(np.float32(s) for s in scalars))
    for name in ("w", "m", "v"):
        if not on_device(given[name]):
            given[name][...] = dev[name].copy_to_host()
