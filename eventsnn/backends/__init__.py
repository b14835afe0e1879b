"""Backends: interchangeable implementations of one operation inventory.

``numpy`` is the readable reference; ``numba`` (the default) compiles the
same operations. See ``eventsnn.backends.state`` for the inventory.
"""
from __future__ import annotations

from typing import Callable

from .._validation import check_choice
from . import numba_backend, numpy_backend
from .state import Recorder, SimState

BACKENDS: dict[str, Callable[[SimState, Recorder, int, int], int]] = {
    "numpy": numpy_backend.run,
    "numba": numba_backend.run,
}


def get_backend(name: str) -> Callable[[SimState, Recorder, int, int], int]:
    """The ``run`` function of backend ``name``."""
    return BACKENDS[check_choice("backend", name, tuple(BACKENDS))]
