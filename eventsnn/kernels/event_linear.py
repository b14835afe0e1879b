"""Numba kernels for a linear layer driven by sparse (spike) input.

For x[M, K] with mostly zero entries and W[K, N]:

    y[m]  = sum_{k: x[m,k] != 0} x[m,k] W[k]        (forward, only active rows of W)
    gW[k] = sum_{m: x[m,k] != 0} x[m,k] g[m]        (weight gradient, only rows of active inputs)

With binary spikes the products are exact, so results equal the dense
x @ W and x^T g up to the order of the floating-point sums.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def event_matmul(x, w):
    """y = x @ w, visiting only the nonzero entries of x (rows processed in parallel)."""
    M, K = x.shape
    N = w.shape[1]
    y = np.zeros((M, N), w.dtype)
    for m in prange(M):
        acc = y[m]
        for k in range(K):
            v = x[m, k]
            if v != 0:
                row = w[k]
                for n in range(N):
                    acc[n] += v * row[n]
    return y


@njit(cache=True, parallel=True)
def event_weight_grad(xt, g):
    """gW = xt @ g for xt = x^T [K, M]; rows k of inactive inputs stay zero (parallel over k)."""
    K, M = xt.shape
    N = g.shape[1]
    gw = np.zeros((K, N), g.dtype)
    for k in prange(K):
        acc = gw[k]
        for m in range(M):
            v = xt[k, m]
            if v != 0:
                gm = g[m]
                for n in range(N):
                    acc[n] += v * gm[n]
    return gw
