"""Block-wide ordered compaction for the CUDA kernels: each thread of a block owns a contiguous chunk of a
sequence, and an exclusive scan of the chunks' counts in shared memory says where each chunk's items go."""
from numba import cuda


@cuda.jit(device=True)
def chunk(n, tid, nt):
    """[lo, hi): the contiguous part of range(n) that thread ``tid`` of ``nt`` owns."""
    size = (n + nt - 1) // nt
    lo = min(tid * size, n)
    return lo, min(lo + size, n)


@cuda.jit(device=True)
def chunk_start(partial, own, tid, nt):
    """(sum of ``own`` over threads before ``tid``, sum over all nt threads): every thread of the block calls it.

    ``partial`` is a shared array of at least nt entries. Hillis-Steele scan:
    log2(nt) passes with two barriers each; a last barrier lets the caller
    reuse ``partial`` at once.
    """
    partial[tid] = own
    cuda.syncthreads()
    step = 1
    while step < nt:
        before = partial[tid - step] if tid >= step else 0
        cuda.syncthreads()
        partial[tid] += before
        cuda.syncthreads()
        step *= 2
    start, total = partial[tid] - own, partial[nt - 1]
    cuda.syncthreads()
    return start, total
