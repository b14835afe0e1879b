"""Sampling text from a :class:`~eventsnn.lm.model.SpikingLM`, one token at a time with carried state.

The context is ``<|endoftext|> prompt`` (a document start, as in training),
fed once; then each sampled token is fed alone from the state the previous
one left. The state has a fixed size, so every token costs the same at any
context length. Tokens run through an inference :class:`~eventsnn.lm.engine.Engine`
(``engine="event"``, the default, or ``"dense"``). Sampling from logits z at
temperature T:

    p_i ∝ exp(z_i / T)   restricted to the top_k largest, then to the smallest
                         set of most likely tokens whose probability sums to >= top_p

(T = 0: the most likely token). A seeded generator makes the text reproducible;
generation stops at ``<|endoftext|>`` or after ``max_tokens``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

from .._validation import check_array, check_finite, check_int, check_nonnegative
from .engine import Engine, InferenceLM
from .tokenizer import Tokenizer

if TYPE_CHECKING:  # generating needs no training code
    from .model import SpikingLM


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Validate sampling settings (ValueError naming the parameter)."""
    check_nonnegative("temperature", temperature)
    if top_k is not None:
        check_int("top_k", top_k, 1)
    if top_p is not None and not 0 < check_finite("top_p", top_p) <= 1:
        raise ValueError(f"top_p must lie in (0, 1], got {top_p!r}")


def sample(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None) -> int:
    """One token id drawn from ``logits`` [V] (see the module docstring)."""
    check_sampling(temperature, top_k, top_p)
    z = check_array("logits", logits, ndim=1, dtype=np.float64, finite=False)
    if np.isnan(z).any() or np.isposinf(z).any() or not np.isfinite(z).any():  # or a token would be picked blindly
        raise ValueError(f"logits must be finite or -inf, at least one finite, got {z[~np.isfinite(z)][:3]} "
                         f"among {z.size}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {rng!r}")
    if temperature == 0:
        return int(np.argmax(z))
    order = np.argsort(-z, kind="stable")[:top_k]  # most likely first
    p = np.exp((z[order] - z[order[0]]) / temperature)
    p /= p.sum()
    if top_p is not None:
        p = p[:int(np.searchsorted(np.cumsum(p), top_p)) + 1]
        p /= p.sum()
    return int(order[min(int(np.searchsorted(np.cumsum(p), rng.random(), side="right")), len(p) - 1)])


def generate_ids(model: SpikingLM | InferenceLM, context: np.ndarray, eot_id: int, max_tokens: int = 500,
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None, seed: int = 0,
                 engine: str = "event") -> Iterator[int]:
    """Token ids sampled after ``context`` (fed once), until ``eot_id`` (not yielded) or ``max_tokens``.

    Arguments are checked at once, before the first token is drawn.
    """
    max_tokens = check_int("max_tokens", max_tokens, 0)
    check_sampling(temperature, top_k, top_p)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    context = np.asarray(context)
    if context.ndim != 1 or context.size == 0:
        raise ValueError(f"context must be a non-empty 1-d array of token ids, got shape {context.shape}")
    lm = model if isinstance(model, InferenceLM) else InferenceLM.from_model(model)
    return _sample_ids(Engine(lm, 1, engine), context, eot_id, max_tokens, temperature, top_k, top_p, rng)


def _sample_ids(engine: Engine, context: np.ndarray, eot_id: int, max_tokens: int, temperature: float,
                top_k: int | None, top_p: float | None, rng: np.random.Generator) -> Iterator[int]:
    logits = engine.feed(context[:, None])[-1, 0]  # the whole context in one call
    for _ in range(max_tokens):
        token = sample(logits, rng, temperature, top_k, top_p)
        if token == eot_id:
            return
        yield token
        logits = engine.step([token])[0]


def generate(model: SpikingLM | InferenceLM, tokenizer: Tokenizer, prompt: str = "", max_tokens: int = 500,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int = 0, engine: str = "event") -> Iterator[str]:
    """Text continuing ``prompt``, yielded piece by piece as tokens are sampled (arguments checked at once)."""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    context = np.concatenate([[tokenizer.eot_id], tokenizer.encode(prompt, "prompt")]).astype(np.int64)
    return _pieces(tokenizer, generate_ids(model, context, tokenizer.eot_id, max_tokens, temperature, top_k, top_p,
                                           seed, engine))


def _pieces(tokenizer: Tokenizer, ids: Iterator[int]) -> Iterator[str]:
    pending: list[int] = []
    for token in ids:
        pending.append(token)
        text = tokenizer.decode(pending)
        if not text.endswith("\ufffd"):  # a byte-level token may end inside a UTF-8 character
            pending = []
            yield text
    if pending:
        yield tokenizer.decode(pending)
