"""PyTorch CPU peer of the dense inference engine, for ``sparse_vs_dense.py``.

:class:`TorchDenseEngine` is the dense engine's token step
(``eventsnn.kernels.inference.token_steps`` with ``dense=True``) in PyTorch:
the same float32 matrices (``SpikeProjection.dense``, shared through
``torch.from_numpy``), the same neuron update, projection order, LayerNorm
and head, so its logits agree with the dense engine's to float32 rounding
(tests/test_torch_dense.py), on the CPU or a CUDA device. :func:`dense_layer` is the
sweep's ``x @ W + b``. The caller sets the thread count (``torch.set_num_threads``),
except in :func:`tasks` and :func:`cuda_tasks`, which build both in a worker process
of their own (one thread).
"""
from __future__ import annotations

import functools
import itertools
import os
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


def _tensor(a: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """A float32 tensor of ``a`` on ``device`` (on the CPU sharing ``a``'s memory, unless ``a`` is not float32)."""
    return torch.from_numpy(np.asarray(a, np.float32)).to(device)


def _constants(pop: Population, device: str) -> tuple[torch.Tensor, ...]:
    """beta, threshold, rho, gamma of a population, each [n]."""
    return tuple(_tensor(getattr(pop, f), device) for f in ("beta", "thr", "rho", "gamma"))


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
    logits [batch, vocab], as ``eventsnn.lm.engine.Engine(lm, batch, "dense")`` does;
    ``feed(tokens)`` feeds rows of tokens in turn. Weights and state live on ``device``;
    logits are copied to the host (after each step; once per feed).
    """

    def __init__(self, lm: InferenceLM, batch: int = 1, device: str = "cpu"):
        cfg = lm.config
        self.batch, self.steps_per_token, self.device = batch, cfg.steps_per_token, device
        tensor = functools.partial(_tensor, device=device)
        self.tables = [tensor(t) for t in lm.tables]
        self.memory_bias, self.memory_in = tensor(lm.memory_bias), tensor(lm.memory_in.dense())
        self.spikes_in = [tensor(p.dense()) for p in lm.spikes_in]
        self.memory_to_block = [tensor(p.dense()) for p in lm.memory_to_block]
        self.readout_spikes = tensor(lm.readout_spikes.dense())
        self.readout_memory = tensor(lm.readout_memory.dense())
        self.norm_gamma, self.norm_beta, self.norm_eps = tensor(lm.norm_gamma), tensor(lm.norm_beta), lm.norm_eps
        self.head_weight, self.head_bias = tensor(lm.head_weight), tensor(lm.head_bias)
        self.block_constants = [_constants(lm.populations[f"block.{l}"], device) for l in range(cfg.n_layers)]
        self.memory_constants = _constants(lm.populations["memory"], device)
        # membrane, last spikes, adaptation, as Engine.block_state and Engine.memory_state
        self.block_state = torch.zeros(cfg.n_layers, 3, batch, cfg.hidden, device=device)
        self.memory_state = torch.zeros(3, batch, cfg.memory, device=device)

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Feed ``tokens`` [batch] (one per stream); return logits [batch, vocab]."""
        return self._step(tokens).cpu().numpy()

    def feed(self, tokens: np.ndarray) -> np.ndarray:
        """Feed ``tokens`` [T, batch] (row t at step t); return the logits after each, [T, batch, vocab]."""
        return torch.stack([self._step(row) for row in tokens]).cpu().numpy()

    @torch.inference_mode()
    def _step(self, tokens: np.ndarray) -> torch.Tensor:
        tokens = torch.from_numpy(np.asarray(tokens, np.int64)).to(self.device)
        memory = self.memory_state
        z = torch.zeros(self.batch, self.readout_spikes.shape[1], device=self.device)
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
        return (centred * inv * self.norm_gamma + self.norm_beta) @ self.head_weight + self.head_bias


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


def cuda_tasks(sweep: dict, batches: list[int], model: dict | None, steps: int) -> dict[str, Callable[[], object]]:
    """sparse_vs_dense.py --device cuda's PyTorch side on the CUDA device (on the CPU under Numba's CUDA simulator:
    the GPU check's dry run). "layer@<activity>@<batch>": ``x @ W`` (the sweep's W, ``sweep`` = n, repeats, seed)
    on the next of ``repeats`` spike batches [batch, n] of that activity, drawn on the device; given ``model``
    (``cuda_model``'s arguments), "step@<batch>" / "feed@<batch>" feed ``steps`` tokens to a
    :class:`TorchDenseEngine` (warmed up as the benchmark's engines are), a step call each / feed calls of 256.
    Each task returns once the device has finished."""
    from sparse_vs_dense import ACTIVITIES, cuda_model, feed_rows, sweep_inputs, token_rows

    simulator = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    if not simulator and not torch.cuda.is_available():
        raise RuntimeError(f"torch {torch.__version__} finds no CUDA device")
    device, sync = ("cpu", lambda: None) if simulator else ("cuda", torch.cuda.synchronize)
    torch.set_num_threads(1)
    weight = _tensor(sweep_inputs(sweep["n"], 0, sweep["seed"])[0], device)
    draws = torch.Generator(device).manual_seed(sweep["seed"])
    out = {}
    for batch in batches:
        for a in ACTIVITIES:
            xs = (torch.rand((sweep["repeats"], batch, sweep["n"]), generator=draws, device=device) < a).float()
            out[f"layer@{a}@{batch}"] = lambda xs=itertools.cycle(xs): (next(xs) @ weight, sync())
    if model:
        lm, tokens, _ = cuda_model(**model)
        for batch in batches:
            engine, rows = TorchDenseEngine(lm, batch, device), token_rows(tokens, batch, steps)
            feed_rows(engine, rows[:20])
            for name, feed in (("step", False), ("feed", True)):
                out[f"{name}@{batch}"] = lambda engine=engine, rows=rows[20:], feed=feed: feed_rows(engine, rows, feed)
    return out
