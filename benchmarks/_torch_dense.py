"""PyTorch CPU peer of the dense inference engine, for ``sparse_vs_dense.py``.

:class:`TorchDenseEngine` is the dense engine's token step
(``eventsnn.kernels.inference.token_steps`` with ``dense=True``) in PyTorch:
the same float32 matrices (``SpikeProjection.dense``, shared through
``torch.from_numpy``), the same neuron update, projection order, LayerNorm
and head, so its logits agree with the dense engine's to float32 rounding
(tests/test_torch_dense.py). :func:`dense_layer` is the sweep's ``x @ W + b``.
The caller sets the thread count (``torch.set_num_threads``), except in
:func:`tasks`, which builds both in a worker process of their own (one thread).
"""
from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import torch

from eventsnn.lm.engine import InferenceLM, Population


def dense_layer(weight: np.ndarray, bias: np.ndarray) -> Callable[[np.ndarray], torch.Tensor]:
    """x -> x @ weight + bias in PyTorch, on float32 arrays shared with NumPy."""
    w, b = torch.from_numpy(weight), torch.from_numpy(bias)

    @torch.inference_mode()
    def forward(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x) @ w + b
    return forward


def _tensor(a: np.ndarray) -> torch.Tensor:
    """A float32 tensor sharing ``a``'s memory (a copy only if ``a`` is not float32)."""
    return torch.from_numpy(np.asarray(a, np.float32))


def _constants(pop: Population) -> tuple[torch.Tensor, ...]:
    """beta, threshold, rho, gamma of a population, each [n]."""
    return tuple(_tensor(getattr(pop, f)) for f in ("beta", "thr", "rho", "gamma"))


def _neuron_step(current: torch.Tensor, state: torch.Tensor, constants: tuple[torch.Tensor, ...]) -> None:
    """One (A)LIF step of ``eventsnn.kernels.inference.neuron_step``, in place on state [3, B, n]:

        a = rho a + s_prev,  th = thr + gamma a,  mem = beta mem + I - s_prev th,  s = H(mem - th)
    """
    mem, spikes, adapt = state
    beta, thr, rho, gamma = constants
    adapt.mul_(rho).add_(spikes)
    th = thr + gamma * adapt
    mem.mul_(beta).add_(current).sub_(spikes * th)
    spikes.copy_(mem - th > 0)


class TorchDenseEngine:
    """``batch`` generation streams of ``lm`` run densely in PyTorch, each with its own membrane state.

    ``step(tokens)`` feeds one token per stream and returns the next-token
    logits [batch, vocab], as ``eventsnn.lm.engine.Engine(lm, batch, "dense")`` does.
    """

    def __init__(self, lm: InferenceLM, batch: int = 1):
        cfg = lm.config
        self.batch, self.steps_per_token = batch, cfg.steps_per_token
        self.tables = [_tensor(t) for t in lm.tables]
        self.memory_bias, self.memory_in = _tensor(lm.memory_bias), _tensor(lm.memory_in.dense())
        self.spikes_in = [_tensor(p.dense()) for p in lm.spikes_in]
        self.memory_to_block = [_tensor(p.dense()) for p in lm.memory_to_block]
        self.readout_spikes = _tensor(lm.readout_spikes.dense())
        self.readout_memory = _tensor(lm.readout_memory.dense())
        self.norm_gamma, self.norm_beta, self.norm_eps = _tensor(lm.norm_gamma), _tensor(lm.norm_beta), lm.norm_eps
        self.head_weight, self.head_bias = _tensor(lm.head_weight), _tensor(lm.head_bias)
        self.block_constants = [_constants(lm.populations[f"block.{l}"]) for l in range(cfg.n_layers)]
        self.memory_constants = _constants(lm.populations["memory"])
        # membrane, last spikes, adaptation, as Engine.block_state and Engine.memory_state
        self.block_state = torch.zeros(cfg.n_layers, 3, batch, cfg.hidden)
        self.memory_state = torch.zeros(3, batch, cfg.memory)

    @torch.inference_mode()
    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Feed ``tokens`` [batch] (one per stream); return logits [batch, vocab]."""
        tokens = torch.from_numpy(np.asarray(tokens, np.int64))
        memory = self.memory_state
        z = torch.zeros(self.batch, self.readout_spikes.shape[1])
        for _ in range(self.steps_per_token):
            block = self.block_state[0]
            _neuron_step(self.tables[0][tokens], block, self.block_constants[0])
            _neuron_step(self.memory_bias + block[1] @ self.memory_in, memory, self.memory_constants)
            for l in range(1, len(self.tables)):
                current = self.tables[l][tokens] + block[1] @ self.spikes_in[l - 1]
                current += memory[1] @ self.memory_to_block[l - 1]
                block = self.block_state[l]
                _neuron_step(current, block, self.block_constants[l])
            z += block[1] @ self.readout_spikes
            z += memory[1] @ self.readout_memory
        centred = z - z.mean(dim=1, keepdim=True)
        inv = 1.0 / torch.sqrt((centred * centred).mean(dim=1, keepdim=True) + self.norm_eps)
        return ((centred * inv * self.norm_gamma + self.norm_beta) @ self.head_weight + self.head_bias).numpy()


def tasks(checkpoint: str | None, steps: int, sweep_args: dict) -> dict[str, Callable[[], object]]:
    """sparse_vs_dense.py's PyTorch side, one thread: "layer@<activity>" computes ``x @ W + b`` on the
    next of that activity's sweep inputs, in turn; "tokens@<batch>", given a checkpoint, runs ``steps``
    token steps of :class:`TorchDenseEngine` (warmed up as the benchmark's engines are)."""
    from sparse_vs_dense import load_lm, sweep_inputs, token_rows

    torch.set_num_threads(1)
    weight, bias, inputs = sweep_inputs(**sweep_args)
    forward = dense_layer(weight, bias)
    out = {f"layer@{a}": (lambda xs=itertools.cycle(xs): forward(next(xs))) for a, xs in inputs.items()}
    if checkpoint:
        run, lm = load_lm(checkpoint)
        for batch in (1, 16):
            engine, rows = TorchDenseEngine(lm, batch), token_rows(run.validation, batch, steps)
            for row in rows[:20]:
                engine.step(row)
            out[f"tokens@{batch}"] = lambda engine=engine, rows=rows[20:]: [engine.step(row) for row in rows]
    return out
