"""The event engine on a CUDA device: :class:`CudaEngine`, B generation streams in device memory.

It is :class:`~eventsnn.lm.engine.Engine` (same weights, same ``step``,
``feed``, ``reset``, ``spike_count``, ``firing_rate``) with the state and
weights on the device and each call run by
:func:`eventsnn.kernels.cuda.inference.token_steps`, one thread block per
stream. Logits equal the CPU engine's to 1e-5 (docs/cuda.md). Importing
this module imports ``numba.cuda``.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from .._validation import check_int
from ..kernels.cuda.arrays import require_device
from ..kernels.cuda.inference import MAX_POPULATIONS, MAX_THREADS, token_steps
from .engine import Engine, InferenceLM


class CudaEngine(Engine):
    """``batch`` streams of an :class:`InferenceLM` on the GPU (event engine; float32 or int8 weights).

    ``threads`` per block (one block per stream) split each layer's neurons
    and outputs; 128 suits layers of a few hundred to a few thousand neurons.
    ``block_state`` and ``memory_state`` are device arrays.
    """

    def __init__(self, lm: InferenceLM, batch: int = 1, threads: int = 128):
        require_device()
        super().__init__(lm, batch, "event")
        self.threads = check_int("threads", threads, 1)
        if self.threads > MAX_THREADS:
            raise ValueError(f"threads must be <= {MAX_THREADS}, got {threads}")
        cfg = lm.config
        if cfg.n_layers + 1 > MAX_POPULATIONS:
            raise ValueError(f"n_layers must be < {MAX_POPULATIONS} on the GPU, got {cfg.n_layers}")
        self._weights = tuple(w if np.ndim(w) == 0 else cuda.to_device(np.ascontiguousarray(w)) for w in self._weights)
        self.block_state = cuda.to_device(self.block_state)
        self.memory_state = cuda.to_device(self.memory_state)
        self._scratch = tuple(cuda.device_array((self.batch, n), dtype) for n, dtype in (
            (cfg.hidden, np.float32), (cfg.memory, np.float32), (cfg.readout, np.float32),  # currents, readout
            (cfg.hidden, np.int32), (cfg.memory, np.int32)))  # event lists
        self._device_spikes = cuda.to_device(self.spike_totals)

    def _run(self, tokens: np.ndarray) -> np.ndarray:
        vocab = self.lm.config.vocab_size
        if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab):
            raise ValueError(f"tokens must lie in [0, {vocab}), got {tokens.min()}..{tokens.max()}")
        k = self.lm.config.steps_per_token
        logits = cuda.device_array((tokens.shape[0], self.batch, vocab), np.float32)
        if tokens.size:
            token_steps[self.batch, self.threads](cuda.to_device(tokens.astype(np.int64)), k, *self._weights,
                                                  self.block_state, self.memory_state, self._device_spikes,
                                                  *self._scratch, logits)
        self.spike_totals = self._device_spikes.copy_to_host()
        self.neuron_steps += k * tokens.shape[0]
        return logits.copy_to_host()
