"""CUDA twins of :mod:`eventsnn.kernels.event_linear`: the event-driven product and its weight gradient.

    y[m]  = sum_{k: x[m,k] != 0} x[m,k] W[k]        forward
    gW[k] = sum_{m: x[m,k] != 0} x[m,k] g[m]        weight gradient

Both are a CSR matrix times a dense one (:func:`sparse_matmul`). The CSR
of x, or of x^T, is built on the device (:func:`active_index`): a count per
row, an exclusive scan, and a fill in increasing column order, so it equals
the CPU's ``active_index`` / ``transpose_index`` entry for entry.
One thread computes one output entry out[i, n], summing its row's listed
entries in their stored order: no atomics, the same result on every run;
against the CPU kernel (which folds four entries per pass) the sums differ
only in association, within float32 rounding (1e-5 in the tests).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import cuda, float32, int64

from .arrays import THREADS, blocks, device_array, on_device, returned
from .scan import chunk, chunk_start

# One warp scans the row counts, a chunk per thread: cheap next to the products, and cheap in the simulator,
# which runs each thread in Python.
SCAN_THREADS = 32


class CSR(NamedTuple):
    """Rows of a sparse matrix: row i's entries are values[j] in columns indices[j], indptr[i] <= j < indptr[i + 1]."""

    indptr: Any  # [rows + 1] int64
    indices: Any  # [nnz] int32
    values: Any  # [nnz] float32


@cuda.jit
def _count(x, transpose, counts):
    """counts[r] = nonzeros of row r of x (of x^T if ``transpose``)."""
    r = cuda.grid(1)
    if r >= counts.size:
        return
    c = 0  # a thread per row reads x[r, :] alone: coalesced for x^T's rows, strided for x's (simple, not fast)
    for k in range(x.shape[0] if transpose else x.shape[1]):
        c += (x[k, r] if transpose else x[r, k]) != 0
    counts[r] = c


@cuda.jit
def _exclusive_scan(counts, indptr):
    """indptr[0] = 0, indptr[i + 1] = counts[0] + ... + counts[i], in one block."""
    partial = cuda.shared.array(SCAN_THREADS, int64)
    t = cuda.threadIdx.x
    lo, hi = chunk(counts.size, t, SCAN_THREADS)
    own = 0
    for i in range(lo, hi):
        own += counts[i]
    at, _ = chunk_start(partial, own, t, SCAN_THREADS)
    if t == 0:
        indptr[0] = 0
    for i in range(lo, hi):
        at += counts[i]
        indptr[i + 1] = at


@cuda.jit
def _fill(x, transpose, indptr, indices, values):
    r = cuda.grid(1)
    if r >= indptr.size - 1:
        return
    j = indptr[r]
    for k in range(x.shape[0] if transpose else x.shape[1]):
        v = x[k, r] if transpose else x[r, k]
        if v != 0:
            indices[j] = k
            values[j] = v
            j += 1


@cuda.jit
def _sparse_matmul(indptr, indices, values, dense, out):
    rows, N = out.shape
    i = cuda.grid(1)
    if i >= rows * N:
        return
    r, n = i // N, i % N  # a warp shares r: it reads one index list and coalesced pieces of dense rows
    acc = float32(0.0)
    for j in range(indptr[r], indptr[r + 1]):
        acc += values[j] * dense[indices[j], n]
    out[r, n] = acc


def active_index(x: Any, transpose: bool = False) -> CSR:
    """The CSR of the nonzeros of x[M, K] (of x^T if ``transpose``), built on the device; entries as the CPU's
    ``active_index(x)`` (``transpose_index(*active_index(x), K)``). Arrays as :mod:`.arrays` returns them."""
    device = on_device(x)
    x = device_array("x", x, (None, None))
    rows = x.shape[1] if transpose else x.shape[0]
    counts = cuda.device_array(rows, np.int64)
    indptr = cuda.to_device(np.zeros(rows + 1, np.int64))
    if rows:
        _count[blocks(rows), THREADS](x, bool(transpose), counts)
        _exclusive_scan[1, SCAN_THREADS](counts, indptr)
    nnz = int(indptr[rows:].copy_to_host()[0])
    indices, values = cuda.device_array(nnz, np.int32), cuda.device_array(nnz, np.float32)
    if nnz:
        _fill[blocks(rows), THREADS](x, bool(transpose), indptr, indices, values)
    return CSR(*(returned(a, device) for a in (indptr, indices, values)))


def sparse_matmul(index: CSR, dense: Any) -> Any:
    """out = S @ dense for S in CSR form (``index``): the CPU ``sparse_matmul(*index, dense)``."""
    if not isinstance(index, CSR):
        raise ValueError(f"index must be a CSR, got {index!r}")
    device = on_device(dense)
    dense = device_array("dense", dense, (None, None))
    if not (on_device(index.indptr) or on_device(index.indices)):  # a device CSR's entries are not read back
        _check_structure(np.asarray(index.indptr), np.asarray(index.indices), dense.shape[0])
    indptr = device_array("index.indptr", index.indptr, (None,), np.int64)
    indices = device_array("index.indices", index.indices, (None,), np.int32)
    values = device_array("index.values", index.values, (indices.size,))
    rows, N = indptr.size - 1, dense.shape[1]
    if rows < 0:
        raise ValueError("index.indptr must hold rows + 1 >= 1 entries, got 0")
    out = cuda.device_array((rows, N), np.float32)
    if rows * N:
        _sparse_matmul[blocks(rows * N), THREADS](indptr, indices, values, dense, out)
    return returned(out, device)


def _check_structure(indptr: np.ndarray, indices: np.ndarray, columns: int) -> None:
    """A host CSR's row pointers run from 0 up to its entries' count, and each column lies in [0, columns)."""
    if indptr.ndim != 1 or indptr.size == 0 or indices.ndim != 1:
        return  # the shape checks name these
    if indptr[0] != 0 or indptr[-1] != indices.size:
        raise ValueError(f"index.indptr must run from 0 to {indices.size} (the entries of index.indices), got "
                         f"{indptr[0]} to {indptr[-1]}")
    fall = np.flatnonzero(np.diff(indptr) < 0)
    if fall.size:
        raise ValueError(f"index.indptr must not decrease, got {indptr[fall[0]]} then {indptr[fall[0] + 1]}")
    outside = (indices < 0) | (indices >= columns)
    if outside.any():
        raise ValueError(f"index.indices must lie in [0, {columns}) (the rows of dense), got {indices[outside][0]}")


def event_matmul(x: Any, w: Any) -> Any:
    """y = x @ w visiting only the nonzero entries of x[M, K] (w[K, N]), as the CPU ``event_matmul``."""
    return _product(x, w, transpose=False)


def event_weight_grad(x: Any, g: Any) -> Any:
    """gW = x^T g for x[M, K] and g[M, N], visiting only the nonzero entries of x (the weight gradient of
    :func:`event_matmul`; on the CPU ``sparse_matmul(*transpose_index(*active_index(x), K), g)``)."""
    return _product(x, g, transpose=True)


def _product(x: Any, dense: Any, transpose: bool) -> Any:
    device = on_device(x) or on_device(dense)
    x, dense = device_array("x", x, (None, None)), device_array("w" if not transpose else "g", dense, (None, None))
    if x.shape[0 if transpose else 1] != dense.shape[0]:
        raise ValueError(f"event product: shapes {x.shape} and {dense.shape} are not aligned")
    out = sparse_matmul(active_index(x, transpose), dense)
    return returned(out, device)
