"""What a checkpoint holds, independent of the file, and who can rebuild it."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Self, TypeVar

import numpy as np

from eventsnn.errors import CheckpointError


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything a checkpoint holds.

    ``kind`` is the registered class name, ``config`` a JSON-serialisable dict,
    ``parameters`` maps dotted names to arrays, and ``groups`` maps group names
    (``"optimizer"``, ``"rng"``, ``"history"``, ``"dynamic"``, ...) to nested
    dicts whose leaves are numpy arrays (numeric, bool or fixed bytes) or JSON
    values (None, bool, int, float, str and lists of them).
    """

    kind: str
    config: dict[str, Any]
    parameters: dict[str, np.ndarray] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)


class Checkpointable(Protocol):
    """What :func:`~eventsnn.checkpoint.save` and ``load`` need from an object."""

    def checkpoint_state(self) -> Snapshot: ...

    @classmethod
    def from_checkpoint(cls, snap: Snapshot) -> Self: ...


_REGISTRY: dict[str, type] = {}
# Kinds whose modules ``import eventsnn`` does not load (the language model's): the module that
# registers each is imported when the kind is first looked up. A fixed table, not read from a file.
_LAZY_KINDS = {"eventsnn.lm.Trainer": "eventsnn.lm.train", "eventsnn.lm.InferenceLM": "eventsnn.lm.engine"}
T = TypeVar("T", bound=type)


def checkpointable(kind: str) -> Callable[[T], T]:
    """Class decorator: register the class so that ``load`` can rebuild ``kind``.

    ``load`` finds classes only through this registry; it never imports a
    module named in a file.
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string, got {kind!r}")

    def register(cls: T) -> T:
        for method in ("checkpoint_state", "from_checkpoint"):
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"{cls.__qualname__} must define {method}() to be checkpointable")
        known = _REGISTRY.get(kind)
        # Re-running the same class definition (module reload) may re-register.
        if known is not None and _qualified(known) != _qualified(cls):
            raise ValueError(f"kind {kind!r} is already registered to {_qualified(known)}")
        _REGISTRY[kind] = cls
        return cls

    return register


def registered_class(kind: str) -> type | None:
    """The class registered for ``kind``, or None."""
    if kind not in _REGISTRY and kind in _LAZY_KINDS:
        importlib.import_module(_LAZY_KINDS[kind])
    return _REGISTRY.get(kind)


def registered_kinds() -> list[str]:
    """All registered kinds, sorted (for error messages)."""
    return sorted(_REGISTRY.keys() | _LAZY_KINDS.keys())


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def expect_arrays(
    arrays: Mapping[str, Any],
    expected: Mapping[str, tuple[tuple[int | None, ...], Any]],
    where: str = "/parameters",
) -> None:
    """Check that ``arrays`` holds exactly the arrays the configuration implies.

    ``expected`` maps each name to ``(shape, dtype)``; ``None`` in a shape
    leaves that axis free. Raises :class:`CheckpointError` naming the
    missing, unexpected or mismatching path, e.g. ``/parameters/fc1.weight``.
    """
    missing = [f"{where}/{n}" for n in expected if n not in arrays]
    if missing:
        raise CheckpointError(f"missing {', '.join(missing)}, which the configuration requires")
    unexpected = [f"{where}/{n}" for n in arrays if n not in expected]
    if unexpected:
        raise CheckpointError(f"unexpected {', '.join(unexpected)}, which the configuration does not define")
    for name, (shape, dtype) in expected.items():
        arr, at = arrays[name], f"{where}/{name}"
        if not isinstance(arr, np.ndarray):
            raise CheckpointError(f"{at}: expected an array, found {type(arr).__name__}")
        if arr.dtype != np.dtype(dtype):
            raise CheckpointError(f"{at}: dtype {arr.dtype} does not fit the configuration ({np.dtype(dtype)})")
        if len(arr.shape) != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            raise CheckpointError(f"{at}: shape {arr.shape} does not fit the configuration {tuple(shape)}")
