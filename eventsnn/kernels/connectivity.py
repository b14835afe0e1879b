"""Numba kernel for random connectivity: a Bernoulli grid drawn straight into CSR.

Drawing millions of synapses is cheap arithmetic; what costs is memory that
is written for the first time (on this project's VM, about 1.5 ms per MB).
So the kernel writes only what the projection keeps: row counts and int32
column indices, with no array of grid positions in between.
"""
import math

import numpy as np
from numba import njit

from .random import uniform


@njit(cache=True)
def bernoulli_csr(n_pre, n_post, p, shift, seed, capacity):
    """Each pair (i, j) of an n_pre x n_post grid kept with probability p, as CSR.

    Kept positions are found by geometric skipping over the row-major grid:
    the gap to the next one is G = floor(ln U / ln(1 - p)) + 1, U uniform in
    (0, 1] (the k-th from the counter-based stream ``seed``, uint64), so the
    cost follows the number of synapses, not of pairs. Pairs with
    j == i + shift are dropped (autapses, when pre and post overlap; pass a
    shift no pair can meet to keep all). 0 < p <= 1.

    Returns (counts int64 [n_pre + 1], indices int32, rows increasing), with
    indptr = cumsum(counts), or an empty ``counts`` when more than
    ``capacity`` synapses were drawn (call again with more: same result).
    """
    indices = np.empty(capacity, np.int32)
    counts = np.zeros(n_pre + 1, np.int64)
    log_q = math.log1p(-p)
    total = n_pre * n_post
    i, j, m, draw = 0, -1, 0, np.uint64(0)
    while True:
        gap = math.floor(math.log(1.0 - uniform(seed, draw, np.uint64(0))) / log_q) + 1.0
        draw += np.uint64(1)
        if gap > total:  # also guards the integer conversion below
            break
        j += int(gap)
        if j >= n_post:  # rare when rows are long: a division only then
            i += j // n_post
            j %= n_post
            if i >= n_pre:
                break
        if j == i + shift:
            continue
        if m == capacity:
            return counts[:0], indices[:0]
        indices[m] = j
        counts[i + 1] += 1
        m += 1
    return counts, indices[:m]
