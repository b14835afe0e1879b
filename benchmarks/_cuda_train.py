"""eventsnn's layer benchmark on a CUDA device (``train_step.py --device cuda``): Linear(n, n) + LIF.

The workload is ``_peers_train.workload``'s (batch 16, ``steps`` time steps,
dense uniform input), float32. The dense products go to cuBLAS through CuPy,
as the peers' go to cuBLAS through PyTorch; the LIF forward and BPTT
backward are eventsnn's CUDA kernels (``eventsnn.kernels.cuda.bptt``), on
device arrays throughout. The backward computes what the peers' does for
``sum(spikes).backward()``: dL/dI through the LIF, then dL/dW = x^T dL/dI and
dL/db. Under Numba's CUDA simulator (the dry run) without CuPy, the products
run in NumPy on host arrays instead, which is enough to check the script.
Each task returns once the device has finished (a synchronisation).
"""
from __future__ import annotations

import importlib.util
from typing import Callable

import numpy as np

import _peers_train as peers


def gemm_library() -> str:
    """What runs the dense products: "cupy" (cuBLAS) when importable, else "numpy" (dry runs only)."""
    return "cupy" if importlib.util.find_spec("cupy") is not None else "numpy"


def layer_tasks(layer_n: int, steps: int) -> dict[str, Callable[[], None]]:
    """"layer_forward" and "layer_backward" (of the last forward) of Linear(n, n) + LIF on the device."""
    from numba import cuda

    from eventsnn.kernels.bptt import FAST_SIGMOID
    from eventsnn.kernels.cuda import bptt

    x = peers.workload(layer_n, steps)[2]
    T, B, n = x.shape
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(n)  # nn.Linear's initialisation
    w = rng.uniform(-bound, bound, (n, n)).astype(np.float32)
    b = rng.uniform(-bound, bound, n).astype(np.float32)
    params = bptt.NeuronParams(*(cuda.to_device(np.full(n, v, np.float32)) for v in (peers.BETA, 1.0, 0.0, 0.0)))
    if gemm_library() == "cupy":
        import cupy as xp

        x, w, b = xp.asarray(x), xp.asarray(w), xp.asarray(b)
        sync = cuda.synchronize
    else:
        xp, sync = np, (lambda: None)
    x2 = x.reshape(T * B, n)
    holder = {}

    def forward() -> None:
        current = (x2 @ w + b).reshape(T, B, n)
        holder["trace"] = bptt.neuron_forward(current, params, keep_adaptation=False)  # LIF: gamma = 0
        sync()

    def backward() -> None:
        trace = holder.pop("trace")
        ones = xp.ones((T, B, n), xp.float32)
        g_in = bptt.neuron_backward(ones, trace, params, detach_reset=True, kind=FAST_SIGMOID, slope=25.0).current
        g2 = xp.asarray(g_in).reshape(T * B, n)
        holder["grads"] = (x2.T @ g2, g2.sum(axis=0))
        sync()
    return {"layer_forward": forward, "layer_backward": backward}
