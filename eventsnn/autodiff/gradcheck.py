"""Check every VJP against central finite differences (float64)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .._validation import check_positive
from .tensor import Tensor


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[np.ndarray], *, eps: float = 1e-6,
              atol: float = 1e-6, rtol: float = 1e-5, seed: int = 0) -> bool:
    """Return True if the tape gradient of ``fn`` matches finite differences.

    The scalar probed is L(x) = sum(fn(x) * w) with a fixed random ``w``, so
    every output element is checked. Each input element is perturbed by
    +-``eps`` and dL/dx ~ (L(x + eps) - L(x - eps)) / (2 eps). Raises
    ``AssertionError`` naming the input and the worst element on mismatch.
    """
    eps, atol, rtol = check_positive("eps", eps), check_positive("atol", atol), check_positive("rtol", rtol)
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    w = None

    def loss(arrays: list[np.ndarray], track: bool) -> tuple[float, list[Tensor]]:
        nonlocal w
        ts = [Tensor(a, requires_grad=track) for a in arrays]
        out = fn(*ts)
        if not isinstance(out, Tensor):
            raise ValueError(f"gradcheck: fn must return a Tensor, got {out!r:.80}")
        if w is None:
            w = np.random.default_rng(seed).standard_normal(out.shape)
        total = (out * w).sum()
        if track:
            total.backward()
        return total.item(), ts

    _, tracked = loss(xs, True)
    for i, (x, t) in enumerate(zip(xs, tracked)):
        analytic = np.zeros_like(x) if t.grad is None else t.grad
        numeric = np.zeros_like(x)
        for j in range(x.size):
            plus, minus = x.copy(), x.copy()
            plus.flat[j] += eps
            minus.flat[j] -= eps
            lp = loss(xs[:i] + [plus] + xs[i + 1:], False)[0]
            lm = loss(xs[:i] + [minus] + xs[i + 1:], False)[0]
            numeric.flat[j] = (lp - lm) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(err > 0):
            j = int(np.argmax(err))
            raise AssertionError(f"gradcheck: input {i} (shape {x.shape}) element {j}: "
                                 f"tape {analytic.flat[j]!r} vs finite difference {numeric.flat[j]!r}")
    return True
