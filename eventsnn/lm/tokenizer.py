"""Tokenizers: characters (default) or byte-level BPE, each with one end-of-text token.

Both map text to integer ids and back, and serialise to a JSON-able dict
(``to_dict``) that :func:`tokenizer_from_dict` turns back into an identical
tokenizer, so a checkpoint carries its own vocabulary.

- :class:`CharTokenizer`: ids 0..C-1 are the sorted distinct characters of
  the corpus, id C is ``<|endoftext|>``.
- :class:`BPETokenizer`: byte-level BPE from the ``tokenizers`` library,
  trained locally on the corpus; ``<|endoftext|>`` is its special token 0.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import numpy as np

from .._extras import require
from .._validation import check_int

EOT = "<|endoftext|>"


class Tokenizer(Protocol):
    """What the data pipeline, the model and generation need from a tokenizer."""

    kind: str
    vocab_size: int
    eot_id: int

    def encode(self, text: str, name: str = "text") -> np.ndarray: ...

    def decode(self, ids: Any) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class CharTokenizer:
    """One id per character; ``encode`` refuses characters outside the vocabulary."""

    kind = "char"

    def __init__(self, chars: list[str]):
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise ValueError(f"chars must be a non-empty list of distinct single characters, got {chars!r:.80}")
        self.chars = list(chars)
        self._index = {c: i for i, c in enumerate(self.chars)}
        self.eot_id = len(self.chars)
        self.vocab_size = len(self.chars) + 1

    @classmethod
    def train(cls, text: str | Iterable[str]) -> "CharTokenizer":
        """The sorted distinct characters of ``text`` (a string, or the pieces of one)."""
        chars = set().union(*map(set, _pieces(text)))
        if not chars:
            raise ValueError("text must be a non-empty string to build a character vocabulary")
        return cls(sorted(chars))

    def encode(self, text: str, name: str = "text") -> np.ndarray:
        if not isinstance(text, str):
            raise ValueError(f"{name} must be a string, got {type(text).__name__}")
        unknown = sorted(set(text) - self._index.keys())
        if unknown:
            raise ValueError(f"{name} contains characters outside the vocabulary: {''.join(unknown)!r}")
        return np.fromiter((self._index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Any) -> str:
        """Text of ``ids``; the end-of-text token decodes to nothing."""
        return "".join(self.chars[i] for i in _ids(ids, self.vocab_size) if i != self.eot_id)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "chars": self.chars}


class BPETokenizer:
    """Byte-level BPE (GPT-2 style pre-tokenisation), trained with the ``tokenizers`` library."""

    kind = "bpe"

    def __init__(self, serialized: str):
        tokenizers = _tokenizers()
        try:
            self._tok = tokenizers.Tokenizer.from_str(serialized)
        except Exception as err:  # the Rust side raises plain Exceptions
            raise ValueError(f"serialized is not a tokenizers JSON description: {err}") from None
        eot = self._tok.token_to_id(EOT)
        if eot is None:
            raise ValueError(f"serialized tokenizer lacks the special token {EOT!r}")
        self.serialized = serialized
        self.eot_id = int(eot)
        self.vocab_size = self._tok.get_vocab_size()

    @classmethod
    def train(cls, text: str | Iterable[str], vocab_size: int = 1024) -> "BPETokenizer":
        """Learn ``vocab_size`` tokens (256 bytes + merges + EOT) from ``text`` (a string, or the
        pieces of one, read once: see :func:`eventsnn.lm.data.text_pieces` for where it may be cut)."""
        pieces = _pieces(text)
        first = next(pieces, "")
        if not first:
            raise ValueError("text must be a non-empty string to train a BPE vocabulary")
        vocab_size = check_int("vocab_size", vocab_size, 258)
        tk = _tokenizers()
        tok = tk.Tokenizer(tk.models.BPE())
        tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = tk.decoders.ByteLevel()
        trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT], show_progress=False,
                                         initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(itertools.chain([first], pieces), trainer)
        return cls(tok.to_str())

    def encode(self, text: str, name: str = "text") -> np.ndarray:
        if not isinstance(text, str):
            raise ValueError(f"{name} must be a string, got {type(text).__name__}")
        return np.asarray(self._tok.encode(text).ids, dtype=np.int64)

    def decode(self, ids: Any) -> str:
        return self._tok.decode([int(i) for i in _ids(ids, self.vocab_size)], skip_special_tokens=True)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "serialized": self.serialized}


def train_tokenizer(kind: str, text: str | Iterable[str], vocab_size: int = 1024) -> Tokenizer:
    """A ``"char"`` or ``"bpe"`` tokenizer learned from ``text`` (a string, or the pieces of one)."""
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return BPETokenizer.train(text, vocab_size)
    raise ValueError(f"tokenizer must be one of ('char', 'bpe'), got {kind!r}")


def tokenizer_from_dict(d: dict[str, Any]) -> Tokenizer:
    """Rebuild the tokenizer that ``to_dict`` described."""
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind == "char":
        return CharTokenizer(d["chars"])
    if kind == "bpe":
        return BPETokenizer(d["serialized"])
    raise ValueError(f"tokenizer kind must be 'char' or 'bpe', got {kind!r}")


def _pieces(text: str | Iterable[str]) -> Iterator[str]:
    """``text`` as an iterator of strings (one, if it is a string); anything else is refused by name."""
    if isinstance(text, str):
        return iter([text])
    if not isinstance(text, Iterable):
        raise ValueError(f"text must be a string or an iterable of strings, got {type(text).__name__}")
    return (_string(piece) for piece in text)


def _string(piece: object) -> str:
    if not isinstance(piece, str):
        raise ValueError(f"text pieces must be strings, got {type(piece).__name__}")
    return piece


def _ids(ids: Any, vocab_size: int) -> np.ndarray:
    arr = np.asarray(ids).reshape(-1)
    if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(f"ids must be integers in [0, {vocab_size}), got {arr[:8]!r}")
    return arr


def _tokenizers():
    """The optional ``tokenizers`` package, imported only when BPE is used."""
    return require("tokenizers", "the BPE tokenizer")
