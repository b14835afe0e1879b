"""Differentiable ops: each is a NumPy forward plus its explicit VJP, side by side.

Notation: ``g`` is dL/d(output); every VJP returns dL/d(input) for each input,
with the input's shape (broadcast axes summed back by :func:`unbroadcast`).
Every op takes array-likes where it takes Tensors: they become constants
(:func:`~eventsnn.autodiff.tensor.as_tensor`), which no gradient reaches.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import numba
import numpy as np

from .._validation import check_positive
from ..kernels.event_linear import active_index, sparse_matmul, transpose_index
from .tensor import Tensor, as_tensor, record

ArrayLike = Any

# Below this many element operations a kernel runs on one thread. Starting the
# Numba workers costs little on an idle machine, but when another process holds
# a core a woken worker can wait a whole scheduler slice (several ms) for it, so
# kernels of a few thousand elements stay on one thread. From a few hundred
# thousand (the LIF layers, index builds and transposes of the MLP benchmark,
# 0.5-2.5 M) two threads won on this 2-core machine: the step went from 33 to
# 29 ms (medians of three runs each).
PARALLEL_MIN_WORK = 1 << 18


@contextlib.contextmanager
def kernel_threads(work: int) -> Iterator[None]:
    """Run the Numba kernels inside on one thread when ``work`` < PARALLEL_MIN_WORK."""
    previous = numba.get_num_threads()
    numba.set_num_threads(previous if work >= PARALLEL_MIN_WORK else 1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched to reach it."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _pair(a: ArrayLike, b: ArrayLike, op: str) -> tuple[Tensor, Tensor, tuple[int, ...]]:
    """Both operands as Tensors (a plain number takes the other's dtype) and the result shape."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        b = as_tensor(b, a.dtype)
    elif isinstance(b, Tensor) and not isinstance(a, Tensor):
        a = as_tensor(a, b.dtype)
    a, b = as_tensor(a), as_tensor(b)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast") from None
    return a, b, shape


# ---- elementwise binary ------------------------------------------------------------
def add(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a + b (broadcasting)."""
    a, b, _ = _pair(a, b, "add")
    return record("add", a.data + b.data, (a, b),
                  lambda g: (unbroadcast(g, a.shape), unbroadcast(g, b.shape)))


def sub(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a - b (broadcasting)."""
    a, b, _ = _pair(a, b, "sub")
    return record("sub", a.data - b.data, (a, b),
                  lambda g: (unbroadcast(g, a.shape), unbroadcast(-g, b.shape)))


def mul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a * b (broadcasting)."""
    a, b, _ = _pair(a, b, "mul")
    return record("mul", a.data * b.data, (a, b),
                  lambda g: (unbroadcast(g * b.data, a.shape), unbroadcast(g * a.data, b.shape)))


def div(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a / b (broadcasting); d/db = -a / b^2."""
    a, b, _ = _pair(a, b, "div")
    out = a.data / b.data
    return record("div", out, (a, b),
                  lambda g: (unbroadcast(g / b.data, a.shape), unbroadcast(-g * out / b.data, b.shape)))


def neg(a: ArrayLike) -> Tensor:
    """-a."""
    a = as_tensor(a)
    return record("neg", -a.data, (a,), lambda g: (-g,))


# ---- elementwise unary -------------------------------------------------------------
def exp(a: ArrayLike) -> Tensor:
    """e^a."""
    a = as_tensor(a)
    out = np.exp(a.data)
    return record("exp", out, (a,), lambda g: (g * out,))


def log(a: ArrayLike) -> Tensor:
    """ln a (a > 0)."""
    a = as_tensor(a)
    return record("log", np.log(a.data), (a,), lambda g: (g / a.data,))


def tanh(a: ArrayLike) -> Tensor:
    """tanh a; derivative 1 - tanh^2."""
    a = as_tensor(a)
    out = np.tanh(a.data)
    return record("tanh", out, (a,), lambda g: (g * (1 - out * out),))


def sigmoid(a: ArrayLike) -> Tensor:
    """1 / (1 + e^-a); derivative s (1 - s)."""
    a = as_tensor(a)
    out = 0.5 * (1 + np.tanh(0.5 * a.data))  # overflow-free logistic
    return record("sigmoid", out, (a,), lambda g: (g * out * (1 - out),))


def relu(a: ArrayLike) -> Tensor:
    """max(a, 0)."""
    a = as_tensor(a)
    return record("relu", np.maximum(a.data, 0), (a,), lambda g: (g * (a.data > 0),))


# ---- reductions and shape ----------------------------------------------------------
def _expand(g: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Broadcast a reduced gradient back to the input ``shape``."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape).copy()


def _reduce(op: str, f: Any, a: Tensor, axis: Any, keepdims: bool) -> np.ndarray:
    """``f(a.data, axis, keepdims)``; an axis that ``a`` lacks is a ValueError naming ``op``."""
    try:
        return f(a.data, axis=axis, keepdims=keepdims)
    except (np.exceptions.AxisError, TypeError):
        raise ValueError(f"{op}: axis {axis!r} does not exist in shape {a.shape}") from None


def sum(a: ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes if None)."""
    a = as_tensor(a)
    return record("sum", _reduce("sum", np.sum, a, axis, keepdims), (a,),
                  lambda g: (_expand(g, a.shape, axis, keepdims),))


def mean(a: ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes if None)."""
    a = as_tensor(a)
    out = _reduce("mean", np.mean, a, axis, keepdims)
    n = a.size // max(out.size, 1) if a.size else 1
    return record("mean", out, (a,), lambda g: (_expand(g / n, a.shape, axis, keepdims),))


def reshape(a: ArrayLike, shape: tuple[int, ...]) -> Tensor:
    """The same values in ``shape``."""
    a = as_tensor(a)
    try:
        out = a.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape {a.shape} into {tuple(shape)}") from None
    return record("reshape", out, (a,), lambda g: (g.reshape(a.shape),))


def transpose(a: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse them if ``axes`` is None)."""
    a = as_tensor(a)
    axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation for shape {a.shape}")
    inverse = tuple(np.argsort(axes))
    return record("transpose", a.data.transpose(axes), (a,), lambda g: (g.transpose(inverse),))


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join along ``axis``; the VJP splits g back into the pieces."""
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} do not join on axis {axis}") from None
    cuts = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return record("concatenate", out, tensors, lambda g: tuple(np.split(g, cuts, axis=axis)))


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Stack equal-shape tensors along a new ``axis``."""
    tensors = tuple(as_tensor(t) for t in tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: needs tensors of one shape, got {sorted(shapes)}")
    try:
        out = np.stack([t.data for t in tensors], axis=axis)
    except (np.exceptions.AxisError, TypeError):
        raise ValueError(f"stack: axis {axis!r} does not exist for stacking shape {tensors[0].shape}") from None
    return record("stack", out, tensors,
                  lambda g: tuple(np.moveaxis(g, axis, 0)))


def getitem(a: ArrayLike, index: Any) -> Tensor:
    """a[index] for basic slices and integer-array indices (repeats accumulate)."""
    a = as_tensor(a)
    if isinstance(index, Tensor):
        index = index.data.astype(np.intp)
    try:
        out = a.data[index]
    except IndexError as err:  # an IndexError still, so iterating over a Tensor stops at its end
        raise IndexError(f"getitem: index {index!r:.80} does not fit shape {a.shape} ({err})") from None

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        full = np.zeros_like(a.data)
        np.add.at(full, index, g)
        return (full,)

    return record("getitem", out, (a,), vjp)


# ---- linear algebra ----------------------------------------------------------------
def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for operands with ndim >= 2 (leading axes broadcast)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    return record("matmul", a.data @ b.data, (a, b), lambda g: (
        unbroadcast(g @ np.swapaxes(b.data, -1, -2), a.shape),
        unbroadcast(np.swapaxes(a.data, -1, -2) @ g, b.shape),
    ))


def _tensors(*xs: ArrayLike | None) -> tuple[Tensor | None, ...]:
    """Each of ``xs`` as a Tensor (see :func:`as_tensor`); None (an absent bias) stays None."""
    return tuple(None if x is None else as_tensor(x) for x in xs)


def linear(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> Tensor:
    """y = x W + b with x[..., in], W[in, out], b[out].

    The VJP flattens the leading axes so dL/dW = x^T g is one matrix product.
    """
    x, weight, bias = _tensors(x, weight, bias)
    if weight.ndim != 2 or x.shape[-1:] != weight.shape[:1]:
        raise ValueError(f"linear: input shape {x.shape} does not fit weight shape {weight.shape}")
    if bias is not None and bias.shape != weight.shape[1:]:
        raise ValueError(f"linear: bias shape {bias.shape} does not fit weight shape {weight.shape}")
    x2 = x.data.reshape(-1, x.shape[-1])  # one 2-D GEMM: NumPy's batched 3-D @ 2-D is far slower
    out = (x2 @ weight.data).reshape(x.shape[:-1] + weight.shape[1:])
    if bias is not None:
        out += bias.data

    def vjp(g: np.ndarray) -> tuple:
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g2 @ weight.data.T).reshape(x.shape) if x.requires_grad else None
        return (gx, x2.T @ g2) if bias is None else (gx, x2.T @ g2, g2.sum(axis=0))

    inputs = (x, weight) if bias is None else (x, weight, bias)
    return record("linear", out, inputs, vjp)


def event_linear(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> Tensor:
    """y = x W + b like :func:`linear`, touching only the weight rows of nonzero inputs.

    Meant for spike input (x mostly 0, else 1). The nonzeros of x are listed
    once (:func:`~eventsnn.kernels.event_linear.active_index`); the forward sums
    the rows of W for active inputs and dL/dW = x^T g reuses the list, so
    only rows of inputs that were active get a nonzero gradient. dL/dx = g W^T
    stays dense (it is needed where x is a spike output) and is skipped when
    x does not require a gradient.
    """
    x, weight, bias = _tensors(x, weight, bias)
    if weight.ndim != 2 or x.shape[-1:] != weight.shape[:1]:
        raise ValueError(f"event_linear: input shape {x.shape} does not fit weight shape {weight.shape}")
    if bias is not None and bias.shape != weight.shape[1:]:
        raise ValueError(f"event_linear: bias shape {bias.shape} does not fit weight shape {weight.shape}")
    with kernel_threads(x.size):
        indptr, indices, values = active_index(x.data.reshape(-1, x.shape[-1]))
    values = values.astype(weight.dtype, copy=False)
    with kernel_threads(values.size * weight.shape[1]):
        out = sparse_matmul(indptr, indices, values, weight.data).reshape(x.shape[:-1] + weight.shape[1:])
    if bias is not None:
        out += bias.data

    def vjp(g: np.ndarray) -> tuple:
        g2 = g.reshape(-1, g.shape[-1]).astype(weight.dtype, copy=False)
        gx = (g2 @ weight.data.T).reshape(x.shape).astype(x.dtype, copy=False) if x.requires_grad else None
        with kernel_threads(values.size):
            columns = transpose_index(indptr, indices, values, weight.shape[0])
        with kernel_threads(values.size * weight.shape[1]):
            gw = sparse_matmul(*columns, g2)
        return (gx, gw) if bias is None else (gx, gw, g2.sum(axis=0))

    inputs = (x, weight) if bias is None else (x, weight, bias)
    return record("event_linear", out, inputs, vjp)


def embedding(weight: ArrayLike, indices: ArrayLike) -> Tensor:
    """Rows ``weight[indices]``; the VJP scatter-adds g into the used rows."""
    weight = as_tensor(weight)
    idx = np.asarray(indices)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise ValueError(f"embedding: indices must lie in [0, {weight.shape[0]}), got range [{idx.min()}, {idx.max()}]")

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        gw = np.zeros_like(weight.data)
        np.add.at(gw, idx, g)
        return (gw,)

    return record("embedding", weight.data[idx], (weight,), vjp)


def layer_norm(x: ArrayLike, gamma: ArrayLike | None = None, beta: ArrayLike | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise the last axis: y = (x - mu) / sqrt(var + eps) * gamma + beta."""
    eps = check_positive("eps", eps)
    x, gamma, beta = _tensors(x, gamma, beta)
    n = x.shape[-1]
    for name, p in (("gamma", gamma), ("beta", beta)):
        if p is not None and p.shape != (n,):
            raise ValueError(f"layer_norm: {name} shape {p.shape} does not fit input shape {x.shape}")
    mu = x.data.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(x.data.var(axis=-1, keepdims=True) + eps)
    xhat = (x.data - mu) * inv
    out = xhat * gamma.data if gamma is not None else xhat
    if beta is not None:
        out = out + beta.data

    def vjp(g: np.ndarray) -> tuple:
        gh = g * gamma.data if gamma is not None else g
        # d xhat: inv * (gh - mean(gh) - xhat * mean(gh * xhat))
        gx = inv * (gh - gh.mean(axis=-1, keepdims=True) - xhat * (gh * xhat).mean(axis=-1, keepdims=True))
        flat = g.reshape(-1, n)
        grads = [gx]
        if gamma is not None:
            grads.append((flat * xhat.reshape(-1, n)).sum(axis=0))
        if beta is not None:
            grads.append(flat.sum(axis=0))
        return tuple(grads)

    inputs = (x,) + tuple(p for p in (gamma, beta) if p is not None)
    return record("layer_norm", out, inputs, vjp)


# ---- losses ------------------------------------------------------------------------
def log_softmax_array(z: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, shifted by the max for stability."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits: ArrayLike, targets: ArrayLike, ignore_index: int | None = -100) -> Tensor:
    """Mean over kept rows of -log softmax(logits)[target]; rows equal to ``ignore_index`` are skipped.

    ``logits`` has shape [..., C] and ``targets`` the leading shape [...].
    """
    logits = as_tensor(logits)
    t = np.asarray(targets)
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"cross_entropy: targets must be integers, got dtype {t.dtype}")
    if t.shape != logits.shape[:-1]:
        raise ValueError(f"cross_entropy: logits shape {logits.shape} does not fit targets shape {t.shape}")
    c = logits.shape[-1]
    z = logits.data.reshape(-1, c)
    t = t.reshape(-1)
    keep = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
    if np.any((t[keep] < 0) | (t[keep] >= c)):
        raise ValueError(f"cross_entropy: targets must lie in [0, {c}) or equal ignore_index={ignore_index}")
    n = max(int(keep.sum()), 1)
    rows = np.flatnonzero(keep)
    logp = log_softmax_array(z)
    loss = -logp[rows, t[rows]].sum() / n

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        grad = np.exp(logp)  # softmax
        grad[rows, t[rows]] -= 1
        grad[~keep] = 0
        return ((g / n) * grad.reshape(logits.shape),)

    return record("cross_entropy", np.asarray(loss, dtype=logits.dtype), (logits,), vjp)


def mse(pred: ArrayLike, target: ArrayLike) -> Tensor:
    """mean((pred - target)^2); ``target`` must have the same shape as ``pred``."""
    pred = as_tensor(pred)
    target = as_tensor(target, pred.dtype)
    if target.shape != pred.shape:
        raise ValueError(f"mse: pred shape {pred.shape} and target shape {target.shape} differ")
    d = pred.data - target.data
    scale = 2.0 / max(d.size, 1)
    return record("mse", np.asarray(np.mean(d * d), dtype=pred.dtype), (pred, target),
                  lambda g: (g * scale * d, -g * scale * d))


# ---- operators on Tensor -----------------------------------------------------------
Tensor.__add__ = add
Tensor.__radd__ = lambda a, b: add(b, a)
Tensor.__sub__ = sub
Tensor.__rsub__ = lambda a, b: sub(b, a)
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda a, b: mul(b, a)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda a, b: div(b, a)
Tensor.__neg__ = neg
Tensor.__matmul__ = matmul
Tensor.__getitem__ = getitem
Tensor.sum = sum
Tensor.mean = mean
Tensor.reshape = lambda a, *shape: reshape(a, shape[0] if len(shape) == 1 else shape)  # t.reshape(2, 3) or t.reshape((2, 3))
Tensor.transpose = transpose
Tensor.T = property(lambda a: transpose(a))
Tensor.exp = exp
Tensor.log = log
Tensor.tanh = tanh
Tensor.sigmoid = sigmoid
Tensor.relu = relu
