"""Backends: interchangeable implementations of one operation inventory.

``numpy`` is the readable reference; ``numba`` (the default) compiles the
same operations; ``cuda`` runs them on a GPU (numba-cuda, docs/cuda.md). A backend owns a built network's arrays
(:class:`~eventsnn.backends.base.CPUBackend`); see
``eventsnn.backends.state`` for the inventory.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_int
from .base import CPUBackend
from .cuda_backend import CudaBackend
from .numba_backend import NumbaBackend
from .numpy_backend import NumpyBackend

BACKENDS: dict[str, type[CPUBackend]] = {"numpy": NumpyBackend, "numba": NumbaBackend, "cuda": CudaBackend}


def get_backend(name: str) -> type[CPUBackend]:
    """The backend class called ``name``."""
    return BACKENDS[check_choice("backend", name, tuple(BACKENDS))]


def check_threads(threads: int) -> int:
    """A thread count for the Numba backend (>= 1)."""
    return check_int("threads", threads, minimum=1)


WEIGHT_DTYPES = ("float64", "float32")


def check_weight_dtype(weight_dtype) -> np.dtype:
    """How a built network stores its weights: float64 or float32 (a name or a NumPy type)."""
    try:
        name = np.dtype(weight_dtype).name if weight_dtype is not None else None
    except TypeError:
        name = weight_dtype
    return np.dtype(check_choice("weight_dtype", name, WEIGHT_DTYPES))
