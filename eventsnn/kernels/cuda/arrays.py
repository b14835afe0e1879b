"""Arrays in and out of the CUDA wrappers: NumPy input is validated and copied to the device; device input is used."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numba import cuda

from ..._validation import check_array
from . import INSTALL

THREADS = 128  # threads per block of the one-thread-per-element kernels


@functools.cache  # only a success is cached (a call that raises is not): one check per process
def require_device() -> None:
    """A RuntimeError that says what to do unless a CUDA GPU (or Numba's CUDA simulator) is there."""
    if not cuda.is_available():
        raise RuntimeError(f"no CUDA GPU found (numba.cuda.is_available() is False): run on a machine with an "
                           f"NVIDIA GPU and its driver, with numba-cuda and the CUDA toolkit installed by "
                           f"{INSTALL}; or run Numba's CUDA simulator: NUMBA_ENABLE_CUDASIM=1 in the environment "
                           f"before numba is imported (import eventsnn imports it)")


def on_device(x: Any) -> bool:
    """Whether ``x`` is a device array: Numba's (real or simulated), or anything with ``__cuda_array_interface__``."""
    return hasattr(x, "copy_to_host") or hasattr(x, "__cuda_array_interface__")


def device_array(name: str, x: Any, shape: tuple | None = None, dtype: Any = np.float32):
    """``x`` on the device, of ``dtype`` and ``shape`` (``None`` entries are free).

    NumPy input is checked by :func:`eventsnn._validation.check_array`
    (finite values included) and copied; a device array is checked for
    dtype and shape only (looking for NaN would cost a copy to the host).
    """
    require_device()
    if not on_device(x):
        return cuda.to_device(check_array(name, x, shape=shape, dtype=dtype))
    d = x if hasattr(x, "copy_to_host") else cuda.as_cuda_array(x)  # a CuPy or PyTorch array is viewed, not copied
    if d.dtype != np.dtype(dtype):
        raise ValueError(f"{name} must be {np.dtype(dtype).name}, got a device array of {d.dtype}")
    if shape is not None and (d.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, d.shape))):
        want = tuple("any" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want}, got {d.shape}")
    return d


def blocks(n: int, threads: int = THREADS) -> int:
    """Blocks of ``threads`` covering n elements (at least one)."""
    return max(1, -(-n // threads))


def returned(x, device: bool):
    """A result as the caller gave its input: a device array, or a NumPy copy."""
    return x if device else x.copy_to_host()
