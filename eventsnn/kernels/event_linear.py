"""Numba kernels for a linear layer driven by sparse (spike) input.

For x[M, K] with mostly zero entries and W[K, N], the nonzeros of x are
listed once per forward pass, row by row (CSR: ``indptr``, ``indices``,
``values``), and the backward pass reuses them, transposed to column order:

    y[m]  = sum_{k: x[m,k] != 0} x[m,k] W[k]        (forward: CSR of x times W)
    gW[k] = sum_{m: x[m,k] != 0} x[m,k] g[m]        (weight gradient: CSR of x^T times g)

Both are the same sparse-times-dense product, so one kernel serves both.
With binary spikes the products are exact, so results equal the dense
x @ W and x^T g up to the order of the floating-point sums. At 20 % activity
this is 5x less arithmetic than the dense product, and the work per listed
entry is one contiguous row update that vectorises.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def active_index(x):
    """CSR of the nonzeros of x[M, K]: (indptr[M + 1], indices, values), values in x's dtype.

    Row m's nonzeros are x[m, indices[j]] = values[j] for indptr[m] <= j < indptr[m + 1],
    with indices increasing.
    """
    M, K = x.shape
    counts = np.zeros(M, np.int64)
    for m in prange(M):
        c = 0
        for k in range(K):
            c += x[m, k] != 0
        counts[m] = c
    indptr = np.zeros(M + 1, np.int64)
    indptr[1:] = np.cumsum(counts)
    indices = np.empty(indptr[M], np.int32)
    values = np.empty(indptr[M], x.dtype)
    for m in prange(M):
        j, end = indptr[m], indptr[m + 1]
        if j == end:
            continue
        for k in range(K):
            # branch-free compaction: write every entry, advance only past nonzeros
            # (an "if nonzero" branch would be mispredicted for a good share of spikes)
            indices[j] = k
            values[j] = x[m, k]
            j += x[m, k] != 0
            if j == end:  # the row's last nonzero is written; never write past it
                break
    return indptr, indices, values


@njit(cache=True, parallel=True)
def transpose_index(indptr, indices, values, n_cols):
    """The CSR of x^T[n_cols, M] from the CSR of x (a counting sort by column; rows stay increasing).

    Rows of x are cut into chunks counted and scattered in parallel: chunk c
    writes its entries of column k after those of chunks before it, so each
    column lists its rows in increasing order, as a serial sort would.
    """
    M = indptr.size - 1
    n_chunks = max(1, min(M, 8))
    counts = np.zeros((n_chunks, n_cols), np.int64)
    for c in prange(n_chunks):
        for j in range(indptr[c * M // n_chunks], indptr[(c + 1) * M // n_chunks]):
            counts[c, indices[j]] += 1
    t_indptr = np.zeros(n_cols + 1, np.int64)
    t_indptr[1:] = np.cumsum(counts.sum(axis=0))
    fill = np.empty((n_chunks, n_cols), np.int64)  # where chunk c writes its next entry of column k
    for k in range(n_cols):
        at = t_indptr[k]
        for c in range(n_chunks):
            fill[c, k] = at
            at += counts[c, k]
    t_indices = np.empty(indices.size, np.int32)
    t_values = np.empty_like(values)
    for c in prange(n_chunks):
        cursor = fill[c]
        for m in range(c * M // n_chunks, (c + 1) * M // n_chunks):
            for j in range(indptr[m], indptr[m + 1]):
                k = indices[j]
                t_indices[cursor[k]] = m
                t_values[cursor[k]] = values[j]
                cursor[k] += 1
    return t_indptr, t_indices, t_values


@njit(cache=True, parallel=True)
def sparse_matmul(indptr, indices, values, dense, block_bytes=1 << 20):
    """out = S @ dense for S in CSR form: out[i] = sum_j values[j] dense[indices[j]].

    Each listed row of ``dense`` is added to the output row, so the cost is
    one row update per stored entry. Two things keep that near the cache
    bandwidth: ``dense`` is visited in blocks of rows of about
    ``block_bytes`` (each output row resumes its sorted index list where the
    previous block stopped), so the rows being read stay in L2 even when
    ``dense`` is the large gradient g[M, N]; and four listed rows are folded
    into the accumulator per pass, so it is loaded and stored a quarter as often.
    Output rows are split into chunks run in parallel.
    """
    n_rows, K, N = indptr.size - 1, dense.shape[0], dense.shape[1]
    out = np.zeros((n_rows, N), dense.dtype)
    block = max(1, block_bytes // max(1, N * dense.itemsize))
    n_chunks = min(n_rows, 16)
    for c in prange(n_chunks):
        lo, hi = c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks
        cursor = indptr[lo:hi].copy()
        for first in range(0, K, block):
            stop = first + block
            for i in range(lo, hi):
                acc = out[i]
                j, end = cursor[i - lo], indptr[i + 1]
                while j + 4 <= end and indices[j + 3] < stop:
                    v0, v1, v2, v3 = values[j], values[j + 1], values[j + 2], values[j + 3]
                    r0, r1 = dense[indices[j]], dense[indices[j + 1]]
                    r2, r3 = dense[indices[j + 2]], dense[indices[j + 3]]
                    for n in range(N):
                        acc[n] += (v0 * r0[n] + v1 * r1[n]) + (v2 * r2[n] + v3 * r3[n])
                    j += 4
                while j < end and indices[j] < stop:
                    v, r = values[j], dense[indices[j]]
                    for n in range(N):
                        acc[n] += v * r[n]
                    j += 1
                cursor[i - lo] = j
    return out


def event_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """y = x @ w visiting only the nonzero entries of x[M, K] (w[K, N]; y has w's dtype)."""
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"event_matmul: shapes {x.shape} and {w.shape} are not aligned")
    indptr, indices, values = active_index(x)
    return sparse_matmul(indptr, indices, values.astype(w.dtype, copy=False), w)
