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
from typing import Iterable, Iterator

import numpy as np

from .._validation import check_int
from .tokenizer import EOT, Tokenizer

VAL_FRACTION = 0.1
BLOCK_CHARS = 1 << 20  # corpus text read, and tokenised, about this many characters at a time


def corpus_blocks(path: str | os.PathLike | None = None, size: int = BLOCK_CHARS) -> Iterator[str]:
    """The text of ``path`` (UTF-8, newlines read as ``\\n``; None: the bundled Tiny Shakespeare) in
    pieces of ``size`` characters, so that a corpus larger than memory can be read."""
    name, size = "bundled" if path is None else str(path), check_int("size", size, 1)
    if path is None:
        f = importlib.resources.files("eventsnn").joinpath("data/tinyshakespeare.txt").open("r", encoding="utf-8")
    else:
        f = open(path, encoding="utf-8")
    with f:
        try:
            while block := f.read(size):
                yield block
        except UnicodeDecodeError as err:
            raise ValueError(f"corpus {name!r} is not UTF-8 text: {err}") from None


def load_corpus(path: str | os.PathLike | None = None) -> str:
    """The text of ``path`` (UTF-8), or of the bundled Tiny Shakespeare if None."""
    text = "".join(corpus_blocks(path))
    if not text.strip():
        raise ValueError(f"corpus {str(path) if path else 'bundled'!r} is empty or only whitespace")
    return text


def corpus_digest(text: str) -> str:
    """SHA-256 of the corpus text: a resumed run checks it reads the same data."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lines(blocks: Iterable[str]) -> Iterator[str]:
    """The lines (with their ends) of the text ``blocks`` concatenate, as ``str.splitlines`` cuts it."""
    pending = ""  # the last line of a block may continue in the next ("\\r" | "\\n" included)
    for block in blocks:
        *lines, pending = (pending + block).splitlines(keepends=True) or [""]
        yield from lines
    if pending:
        yield pending


def _cuttable(before: str, after: str) -> bool:
    """Whether the text may be cut between line ``before`` and line ``after``: after a single newline
    that follows and precedes non-space characters, where no tokenizer's pre-tokenisation (characters;
    GPT-2's regular expression for byte-level BPE) joins characters across the cut."""
    return len(before) > 1 and before[-1] == "\n" and not before[-2].isspace() and not after[0].isspace()


def text_pieces(blocks: Iterable[str], size: int = BLOCK_CHARS) -> Iterator[str]:
    """The text ``blocks`` concatenate, cut where :func:`_cuttable` allows into pieces of at least
    ``size`` characters (fewer at the end; longer while no cut is allowed): tokenizers learn the same
    vocabulary and encode the same ids from the pieces as from the whole text."""
    return (piece for piece, _ in _pieces(blocks, check_int("size", size, 1), documents=False))


def document_pieces(blocks: Iterable[str], size: int = BLOCK_CHARS) -> Iterator[tuple[str, bool]]:
    """(piece, whether it ends a document) for the documents of the text ``blocks`` concatenate:
    the text between ``<|endoftext|>`` lines (empty documents dropped), each cut as :func:`text_pieces` cuts."""
    return _pieces(blocks, check_int("size", size, 1), documents=True)


def _pieces(blocks: Iterable[str], size: int, documents: bool) -> Iterator[tuple[str, bool]]:
    piece: list[str] = []
    chars, started = 0, False  # started: the current document has been (partly) yielded
    for line in _lines(blocks):
        if documents and line.rstrip("\r\n") == EOT:
            if piece or started:
                yield "".join(piece), True
            piece, chars, started = [], 0, False
            continue
        if chars >= size and _cuttable(piece[-1], line):
            yield "".join(piece), False
            piece, chars, started = [], 0, True
        piece.append(line)
        chars += len(line)
    if piece or started:
        yield "".join(piece), True


def encode_pieces(pieces: Iterable[tuple[str, bool]], tokenizer: Tokenizer) -> Iterator[np.ndarray]:
    """The token stream of :func:`document_pieces`, a piece at a time: every document is followed by
    the end-of-text id."""
    for piece, ends in pieces:
        ids = tokenizer.encode(piece, "corpus")
        yield np.append(ids, tokenizer.eot_id) if ends else ids


def encode_corpus(text: str, tokenizer: Tokenizer) -> np.ndarray:
    """The token stream: every document followed by the end-of-text id."""
    pieces = list(encode_pieces(document_pieces([text]), tokenizer))
    if not pieces:
        raise ValueError("corpus holds no document text, only separators")
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
    """B contiguous streams over ``tokens``, L tokens per chunk (see the module docstring).

    ``tokens`` may be a memory map (:mod:`.tokenfile`): only the chunks read are loaded, as int64.
    ``columns`` are the streams this process reads (default: all B; a data-parallel rank reads its
    share); the segment length, epochs and shifts are those of all B streams.
    """

    def __init__(self, tokens: np.ndarray, batch: int, seq_len: int, columns: range | None = None):
        if getattr(tokens, "ndim", None) != 1 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"tokens must be a 1-D integer array, got {type(tokens).__name__} "
                             f"{getattr(tokens, 'dtype', '')} of shape {np.shape(tokens)}")
        self.tokens = tokens
        self.batch = check_int("batch", batch, 1)
        self.seq_len = check_int("seq_len", seq_len, 1)
        self.columns = range(self.batch) if columns is None else columns
        if not (isinstance(self.columns, range) and self.columns.step == 1 and len(self.columns)
                and 0 <= self.columns.start and self.columns.stop <= self.batch):
            raise ValueError(f"columns must be a non-empty range within range({self.batch}), got {columns!r}")
        self.segment = (len(self.tokens) - 1) // self.batch
        if self.segment < self.seq_len:
            raise ValueError(f"{len(self.tokens)} tokens are too few for batch={self.batch} streams "
                             f"of seq_len={self.seq_len}")
        self.position, self.shift, self.epoch = 0, 0, 0

    def chunk(self, start: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets [L, len(columns)] of the chunk at ``start`` tokens into this process's streams."""
        idx = np.arange(self.seq_len)[:, None] + (np.asarray(self.columns) * self.segment + start)[None, :]
        return self.tokens[idx].astype(np.int64), self.tokens[idx + 1].astype(np.int64)

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
