"""Optimizers (SGD with momentum, Adam, AdamW) and global-norm gradient clipping.

Optimizer state is plain data so a checkpoint layer can store it:
``state_dict() -> {"step": int, slot: {param_name: ndarray}}``.
Before any parameter changes, ``step()`` checks that every gradient has its
parameter's shape (``ValueError`` otherwise) and is finite
(``FloatingPointError`` otherwise).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, NamedTuple

import numpy as np
from numba import njit

from .._validation import check_array, check_int, check_nonnegative, check_positive
from ..autodiff import Tensor
from .module import Module


def _named(params: Iterable[Tensor] | Iterable[tuple[str, Tensor]]) -> dict[str, Tensor]:
    """Accept ``module.named_parameters()`` or a plain iterable of Tensors (named "0", "1", ...), each
    Tensor once (a repeated one would be updated twice per step)."""
    if isinstance(params, Module):
        raise ValueError(f"params must be an iterable of Tensors such as module.parameters(), got the module "
                         f"{type(params).__name__}")
    try:
        items = list(params)
    except TypeError:
        raise ValueError(f"params must be an iterable of Tensors, got {params!r:.80}") from None
    named = dict(items) if items and all(isinstance(p, tuple) for p in items) else dict(enumerate(items))
    if len(named) != len(items):  # a repeated name would silently drop a parameter
        raise ValueError(f"parameter names must be distinct, got {[name for name, _ in items]!r:.200}")
    first: dict[int, Any] = {}
    for name, p in named.items():
        if not isinstance(p, Tensor):
            raise ValueError(f"params must hold Tensors, got {type(p).__name__} for parameter {name}")
        if first.setdefault(id(p), name) != name:
            raise ValueError(f"parameter {name} is the same Tensor as parameter {first[id(p)]}: pass each once")
    return {str(name): p for name, p in named.items()}


def _check_grads(params: Mapping[str, Tensor]) -> None:
    for name, p in params.items():
        if p.grad is not None and np.shape(p.grad) != p.shape:
            raise ValueError(f"gradient of {name} has shape {np.shape(p.grad)} but the parameter has shape "
                             f"{p.shape}; no parameter was updated")
        if p.grad is not None and not np.all(np.isfinite(p.grad)):
            raise FloatingPointError(f"gradient of {name} is not finite; no parameter was updated")


class Optimizer:
    """Base: holds named parameters, per-parameter slot arrays and the step count."""

    slots: tuple[str, ...] = ()
    nonnegative_slots: tuple[str, ...] = ()  # slots that hold squares

    def __init__(self, params: Iterable[Any], lr: float):
        self.params = _named(params)
        if not self.params:
            raise ValueError("params must not be empty")
        self.lr = check_positive("lr", lr)
        self.step_count = 0
        self.state = {slot: {n: np.zeros_like(p.data) for n, p in self.params.items()} for slot in self.slots}

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        _check_grads(self.params)
        self.step_count += 1
        for name, p in self.params.items():
            if p.grad is not None:
                self._update(name, p.data, np.asarray(p.grad, dtype=p.dtype))

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step_count, **{s: {n: a.copy() for n, a in d.items()} for s, d in self.state.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict` output; raises ``ValueError`` on any mismatch."""
        expected = {"step", *self.slots}
        if set(state) != expected:
            raise ValueError(f"optimizer state keys {sorted(state)} differ from {sorted(expected)}")
        step = check_int("step", state["step"], 0)
        loaded = {}
        for slot in self.slots:
            if set(state[slot]) != set(self.params):
                raise ValueError(f"optimizer slot {slot!r} names {sorted(state[slot])} "
                                 f"differ from {sorted(self.params)}")
            shapes = {n: p.shape for n, p in self.params.items()}
            loaded[slot] = {n: check_array(f"{slot}.{n}", a, shape=shapes[n], dtype=self.params[n].dtype)
                            for n, a in state[slot].items()}
            if slot in self.nonnegative_slots:
                for n, a in loaded[slot].items():
                    if np.any(a < 0):
                        raise ValueError(f"{slot}.{n} must be >= 0 (it holds squares), got {a.min()!r}")
        self.step_count, self.state = step, loaded


class SGD(Optimizer):
    """v = mu v + (g + wd w);  w -= lr v   (plain SGD when momentum mu = 0)."""

    slots = ("momentum_buffer",)

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = check_nonnegative("momentum", momentum)
        if self.momentum >= 1:  # the velocity would never forget a gradient
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        v = self.state["momentum_buffer"][name]
        v *= self.momentum
        v += g + self.weight_decay * w if self.weight_decay else g
        w -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; ``weight_decay`` adds wd w to g (L2).

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    slots = ("exp_avg", "exp_avg_sq")
    nonnegative_slots = ("exp_avg_sq",)
    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2) in [0, 1), got {betas!r}") from None
        self.b1, self.b2 = (check_nonnegative("betas", b) for b in (b1, b2))
        if not (self.b1 < 1 and self.b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas!r}")
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)

    def scalars(self, dtype: Any) -> "AdamScalars":
        """The scalars of this step's :func:`adam_update` (step count ``step_count``, at least 1: ``step`` counts
        the step before it updates) in ``dtype``."""
        if self.step_count < 1:
            raise ValueError(f"step_count must be at least 1 (the step being taken; step() counts it first), "
                             f"got {self.step_count}")
        t, dt = self.step_count, np.dtype(dtype).type  # scalars in the parameter's dtype keep float32 math float32
        coupled, decoupled = (0.0, self.weight_decay) if self.decoupled else (self.weight_decay, 0.0)
        return AdamScalars(dt(self.b1), dt(1 - self.b1), dt(self.b2), dt(1 - self.b2), dt(self.lr / (1 - self.b1 ** t)),
                           dt(1 - self.b2 ** t), dt(self.eps), dt(coupled), dt(1 - self.lr * decoupled))

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        m, v = self.state["exp_avg"][name], self.state["exp_avg_sq"][name]
        flat = [a.reshape(-1) for a in (w, g, m, v)]  # views for contiguous arrays ...
        adam_update(*flat, *self.scalars(w.dtype))
        for dst, src in zip((w, m, v), (flat[0], flat[2], flat[3])):
            if not np.shares_memory(dst, src):  # ... and copies, written back, for strided ones
                dst[...] = src.reshape(dst.shape)


class AdamScalars(NamedTuple):
    """The scalars of one :func:`adam_update` call, in the parameters' dtype (see its docstring)."""

    b1: float
    c1: float
    b2: float
    c2: float
    step: float
    bias2: float
    eps: float
    wd: float
    shrink: float


@njit(cache=True, error_model="numpy")  # no per-division zero check: it blocks vectorisation (eps > 0)
def adam_update(w, g, m, v, b1, c1, b2, c2, step, bias2, eps, wd, shrink):
    """One Adam step in place on 1-D arrays, all scalars in the arrays' dtype:

    g' = g + wd w;  m = b1 m + c1 g';  v = b2 v + c2 g'^2;
    w = shrink w - step m / (sqrt(v / bias2) + eps)

    with c1 = 1 - b1, c2 = 1 - b2, step = lr / (1 - b1^t), bias2 = 1 - b2^t
    and shrink = 1 - lr wd for AdamW's decoupled decay (then wd = 0); each
    scalar is rounded once to the dtype, as NumPy does. One pass per written
    array, so each loop vectorises, instead of NumPy's temporaries for every operator.
    """
    for i in range(w.size):
        m[i] = b1 * m[i] + c1 * (g[i] + wd * w[i])
    for i in range(w.size):
        gi = g[i] + wd * w[i]
        v[i] = b2 * v[i] + c2 * gi * gi
    for i in range(w.size):
        w[i] = shrink * w[i] - step * m[i] / (np.sqrt(v[i] / bias2) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): w *= 1 - lr wd before the Adam step."""

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr, betas, eps, weight_decay)


def clip_grad_norm(params: Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients by min(1, max_norm / ||g||) with ||g|| the global L2 norm; return ||g||."""
    max_norm = check_positive("max_norm", max_norm)
    grads = [p.grad for p in _named(params).values() if p.grad is not None]
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if not math.isfinite(total):
        raise FloatingPointError(f"gradient norm is not finite ({total!r})")
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
    return total
