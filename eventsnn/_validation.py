"""Input checks shared by every public entry point.

Each check raises ``ValueError`` whose message names the parameter and the
offending value, so a user sees at once which argument was wrong.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_finite(name: str, value: float) -> float:
    """Return ``value`` as a float; reject NaN, infinities and non-numbers (strings and bools too, which
    ``float`` would take)."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as a float; it must be finite and > 0."""
    x = check_finite(name, value)
    if x <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def check_nonnegative(name: str, value: float) -> float:
    """Return ``value`` as a float; it must be finite and >= 0."""
    x = check_finite(name, value)
    if x < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return x


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int (bools rejected), optionally in [``minimum``, ``maximum``]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (a string such as ``'no'`` would read as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_seed(name: str, value: Any) -> np.random.Generator:
    """A NumPy generator from ``value``: None (fresh entropy), an int >= 0, or a generator (used as it is)."""
    if value is None or isinstance(value, np.random.Generator):
        return np.random.default_rng(value)
    return np.random.default_rng(check_int(name, value, minimum=0))


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def as_array(name: str, value: Any, dtype: Any = np.float64) -> np.ndarray:
    """``value`` as an array of ``dtype`` (0-d for a number); None, text and a lone bool, which NumPy would
    read as NaN, parse or take as 0/1, are a ValueError naming ``name``, as is anything that does not convert."""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be convertible to {np.dtype(dtype).name}, got {value!r}") from err


def check_array(
    name: str,
    value: Any,
    *,
    shape: tuple | None = None,
    ndim: int | None = None,
    dtype: Any = np.float64,
    finite: bool = True,
) -> np.ndarray:
    """Return ``value`` as a C-contiguous array of ``dtype``.

    ``shape`` may contain ``None`` for a free axis. Non-finite entries are
    rejected when ``finite`` is true (for floating dtypes).
    """
    arr = np.ascontiguousarray(as_array(name, value, dtype))
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok:
            want = tuple("any" if s is None else s for s in shape)
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if finite and np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].flat[0]
        raise ValueError(f"{name} must be finite, got a value {bad!r}")
    return arr


def check_indices(name: str, value: Any, *, shape: tuple | None = None, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as an int64 array; fractional or non-numeric entries are a ValueError, not truncated."""
    raw = np.asarray(value)
    if raw.size and raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)):
            bad = raw[~np.isfinite(raw) | (raw != np.round(raw))].flat[0]
            raise ValueError(f"{name} must hold whole numbers (indices), got {bad!r}")
    elif raw.dtype.kind == "b":  # a mask taken for indices would pick neurons 0 and 1
        raise ValueError(f"{name} must hold integer indices, not bools (for a mask: np.flatnonzero(mask)), "
                         f"got {value!r}")
    elif raw.size and raw.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer indices, got dtype {raw.dtype}")
    return check_array(name, raw, shape=shape, ndim=ndim, dtype=np.int64)
