"""The tape: a ``Tensor`` that records the ops applied to it, and ``backward``.

Every op (see :mod:`eventsnn.autodiff.ops`) computes its forward value with
NumPy and, when any input requires a gradient, records a :class:`Node`
holding the inputs and a vector-Jacobian product (VJP) closure::

    vjp(g) -> (dL/dx_1, ..., dL/dx_k)      given g = dL/d(output)

Nodes carry a global sequence number, so recording order is a topological
order of the graph. ``backward()`` collects the nodes reachable from the loss
and replays them in reverse recording order: reverse-mode autodiff in the
style of micrograd / HIPS autograd, with one VJP per op and nothing hidden.
"""
from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

_counter = itertools.count()
_grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context in which ops record nothing (evaluation, optimizer updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return _grad_enabled


@dataclass(eq=False)
class Node:
    """One recorded op: its inputs and the VJP mapping dL/dout to dL/dinputs."""

    name: str
    inputs: tuple["Tensor", ...]
    vjp: Callable[[np.ndarray], tuple[np.ndarray | None, ...]]
    seq: int


class Tensor:
    """An n-d array with an optional gradient.

    ``data`` keeps its floating dtype (float64 unless given float32); other
    real numbers (bool, int) are converted to float64 and anything else
    (None, strings, complex, objects) is refused. ``grad`` is filled by
    :meth:`backward` for tensors with ``requires_grad``.
    """

    __array_priority__ = 100  # make ``ndarray + Tensor`` call Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, *, _node: Node | None = None):
        arr = np.asarray(data)
        if arr.dtype not in (np.float32, np.float64):
            if arr.dtype.kind not in "biuf":  # None would become nan, a complex number would lose its imaginary part
                raise ValueError(f"Tensor data must be real numbers, got {data!r:.80}")
            arr = arr.astype(np.float64)
        self.data: np.ndarray = arr
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad) or _node is not None
        self._node = _node

    # ---- array-like conveniences -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> "Tensor":
        """The same values, cut from the graph."""
        return Tensor(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=8)}{flag})"

    # ---- reverse pass --------------------------------------------------------------
    def backward(self, grad: np.ndarray | None = None) -> None:
        """Accumulate dL/dx into ``x.grad`` for every leaf reachable from here.

        Without ``grad`` the tensor must hold a single value (the loss); a NaN
        or infinite loss raises ``FloatingPointError`` before anything is
        accumulated.
        """
        if grad is None:
            if self.size != 1:
                raise ValueError(f"backward() without grad needs a single-value tensor, got shape {self.shape}")
            if not np.isfinite(self.data).all():
                raise FloatingPointError(f"loss is not finite ({self.item()!r}); refusing to backpropagate")
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"grad shape {grad.shape} does not match tensor shape {self.shape}")
        if not self.requires_grad:
            raise ValueError("backward() called on a tensor that does not require grad")

        grads: dict[int, np.ndarray] = {id(self): grad}
        for node_owner in _tape_from(self):
            node = node_owner._node
            g = grads.pop(id(node_owner), None)
            if g is None:  # output unused by the loss
                continue
            for x, gx in zip(node.inputs, node.vjp(g)):
                if gx is None or not x.requires_grad:
                    continue
                if gx.shape != x.shape:  # a VJP bug, never a user error
                    raise AssertionError(f"{node.name}: VJP gave shape {gx.shape} for input {x.shape}")
                if x._node is None:  # leaf: accumulate as PyTorch does
                    x.grad = gx.copy() if x.grad is None else x.grad + gx
                else:
                    key = id(x)
                    grads[key] = grads[key] + gx if key in grads else gx
        if self._node is None:
            self.grad = grad.copy() if self.grad is None else self.grad + grad

    # operators are attached in ops.py, next to their VJPs


def _tape_from(root: Tensor) -> list[Tensor]:
    """Non-leaf tensors reachable from ``root``, latest recorded first."""
    seen: set[int] = set()
    found: list[Tensor] = []
    stack = [root]
    while stack:  # iterative: long time loops would overflow recursion
        t = stack.pop()
        if t._node is None or id(t) in seen:
            continue
        seen.add(id(t))
        found.append(t)
        stack.extend(t._node.inputs)
    found.sort(key=lambda t: t._node.seq, reverse=True)
    return found


def record(name: str, out: np.ndarray, inputs: tuple[Tensor, ...], vjp: Callable) -> Tensor:
    """Wrap ``out`` as a Tensor, recording a node if any input needs a gradient."""
    if _grad_enabled and any(x.requires_grad for x in inputs):
        return Tensor(out, _node=Node(name, inputs, vjp, next(_counter)))
    return Tensor(out)


def as_tensor(x: Any, dtype: np.dtype | None = None) -> Tensor:
    """``x`` itself if it is a Tensor, else a constant Tensor (of ``dtype`` if given): no gradient reaches it."""
    if isinstance(x, Tensor):
        return x
    t = Tensor(x)  # refuses what is not numbers before a cast to ``dtype`` could turn "0.9" or None into one
    return t if dtype is None or t.dtype == dtype else Tensor(t.data.astype(dtype))
