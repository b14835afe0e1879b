"""Corpus, token stream, train/validation split and contiguous training streams.

A corpus is one UTF-8 file; documents are separated by lines consisting of
``<|endoftext|>``. The token stream is ``doc_1 EOT doc_2 EOT ...`` and its
last 10% (by position) is the validation split.

Training reads B contiguous streams, as char-rnn does (stateful truncated
BPTT): with ``seg = (len - 1) // B``, stream b at position p covers

    x[i, b] = tokens[b seg + shift + p + i],  y[i, b] = x[i + 1, b],  i < L,

and p advances by L per batch, so each chunk continues where the previous
one ended and the neuron state can be carried over. When a stream would
leave its segment an epoch ends: p returns to 0, the state is reset, and a
new ``shift`` in [0, min(L, seg - L + 1)) is drawn so chunk boundaries move
between epochs.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import os
from typing import Iterator

import numpy as np

from .._validation import check_int
from .tokenizer import EOT, Tokenizer

VAL_FRACTION = 0.1


def load_corpus(path: str | os.PathLike | None = None) -> str:
    """The text of ``path`` (UTF-8), or of the bundled Tiny Shakespeare if None."""
    if path is None:
        text = importlib.resources.files("eventsnn").joinpath("data/tinyshakespeare.txt").read_text("utf-8")
    else:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError as err:
            raise ValueError(f"corpus {str(path)!r} is not UTF-8 text: {err}") from None
    if not text.strip():
        raise ValueError(f"corpus {str(path) if path else 'bundled'!r} is empty")
    return text


def corpus_digest(text: str) -> str:
    """SHA-256 of the corpus text: a resumed run checks it reads the same data."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def documents(text: str) -> list[str]:
    """The documents of ``text``: the pieces between ``<|endoftext|>`` lines (empty ones dropped)."""
    docs, current = [], []
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == EOT:
            docs.append("".join(current))
            current = []
        else:
            current.append(line)
    docs.append("".join(current))
    return [d for d in docs if d]


def encode_corpus(text: str, tokenizer: Tokenizer) -> np.ndarray:
    """The token stream: every document followed by the end-of-text id."""
    docs = documents(text)
    if not docs:
        raise ValueError("corpus holds no document text, only separators")
    pieces = []
    for doc in docs:
        pieces += [tokenizer.encode(doc, "corpus"), np.array([tokenizer.eot_id])]
    return np.concatenate(pieces)


def split(tokens: np.ndarray, val_fraction: float = VAL_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation): the last ``val_fraction`` of the stream, by position, is validation."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction!r}")
    n_val = int(len(tokens) * val_fraction)
    if n_val < 2 or len(tokens) - n_val < 2:
        raise ValueError(f"corpus is too short to split: {len(tokens)} tokens")
    return tokens[:-n_val], tokens[-n_val:]


class Streams:
    """B contiguous streams over ``tokens``, L tokens per chunk (see the module docstring)."""

    def __init__(self, tokens: np.ndarray, batch: int, seq_len: int):
        self.tokens = np.asarray(tokens, dtype=np.int64)
        self.batch = check_int("batch", batch, 1)
        self.seq_len = check_int("seq_len", seq_len, 1)
        self.segment = (len(self.tokens) - 1) // self.batch
        if self.segment < self.seq_len:
            raise ValueError(f"{len(self.tokens)} tokens are too few for batch={self.batch} streams "
                             f"of seq_len={self.seq_len}")
        self.position, self.shift, self.epoch = 0, 0, 0

    def chunk(self, start: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets [L, B] of the chunk at ``start`` tokens into every stream."""
        idx = np.arange(self.seq_len)[:, None] + (np.arange(self.batch) * self.segment + start)[None, :]
        return self.tokens[idx], self.tokens[idx + 1]

    def next(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
        """The next training chunk (x, y) and whether a new epoch began (neuron state must reset)."""
        new_epoch = self.shift + self.position + self.seq_len > self.segment
        if new_epoch:
            self.epoch += 1
            self.position = 0
            self.shift = int(rng.integers(min(self.seq_len, self.segment - self.seq_len + 1)))
        x, y = self.chunk(self.shift + self.position)
        self.position += self.seq_len
        return x, y, new_epoch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pass over every whole chunk from the start (evaluation; position untouched)."""
        for start in range(0, self.segment - self.seq_len + 1, self.seq_len):
            yield self.chunk(start)

    def state_dict(self) -> dict[str, int]:
        return {"position": self.position, "shift": self.shift, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        position, shift = check_int("position", state["position"], 0), check_int("shift", state["shift"], 0)
        if shift >= self.seq_len or shift + position > self.segment or position % self.seq_len:
            raise ValueError(f"data position {position} (shift {shift}) lies outside a stream of {self.segment}")
        self.position, self.shift, self.epoch = position, shift, check_int("epoch", state["epoch"], 0)
