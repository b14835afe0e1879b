"""Token files: a corpus's token stream written once and read through a memory map.

``eventsnn tokenize CORPUS OUT`` reads the corpus twice in pieces (once to
learn the tokenizer, once to encode; see :func:`.data.text_pieces`), so
neither writing nor training holds the corpus in memory. Layout, all
little-endian::

    bytes 0-7      b"EVSNNTOK"
    bytes 8-15     uint64: M, the byte offset of the metadata
    bytes 16-63    zero
    bytes 64-M     the tokens: count values of dtype
    bytes M-end    the metadata, UTF-8 JSON: format_version, dtype ("uint8", "uint16" or "uint32": the
                   smallest that holds the vocabulary), count, tokenizer (its ``to_dict()``, as a
                   checkpoint stores it), corpus_sha256 (of the text, as :func:`.data.corpus_digest`),
                   tokens_sha256 (of the token bytes)

The token stream equals :func:`.data.encode_corpus` of the whole text with
the same tokenizer, so training from the file and from the text give the
same parameters. The file is written beside OUT and renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .._validation import check_int
from ..checkpoint.hdf5 import atomic_write
from .data import corpus_blocks, document_pieces, encode_pieces, text_pieces
from .tokenizer import Tokenizer, tokenizer_from_dict, train_tokenizer

MAGIC = b"EVSNNTOK"
FORMAT_VERSION = 1
DATA_OFFSET = 64
DTYPES = ("uint8", "uint16", "uint32")
CHECK_PIECE = 1 << 22  # tokens whose ids open_token_file checks at a time (4-16 MiB: memory stays flat)


@dataclass(frozen=True)
class TokenFile:
    """An open token file: ``tokens`` is a read-only memory map of the whole stream."""

    path: Path
    tokens: np.memmap
    tokenizer: Tokenizer
    corpus_sha256: str
    tokens_sha256: str


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned little-endian integer type that holds ids 0..vocab_size-1."""
    vocab_size = check_int("vocab_size", vocab_size, minimum=1)
    for name in DTYPES:
        if vocab_size - 1 <= np.iinfo(name).max:
            return np.dtype(name).newbyteorder("<")
    raise ValueError(f"vocab_size must be at most 2**32, got {vocab_size!r}")


def write_token_file(corpus: str | os.PathLike | None, out: str | os.PathLike, tokenizer: str = "char",
                     bpe_vocab: int = 1024, force: bool = False) -> TokenFile:
    """Learn a ``tokenizer`` ("char" or "bpe" with ``bpe_vocab`` tokens) on ``corpus`` (None: the bundled
    one), write its token stream to ``out`` (refused if ``out`` exists, unless ``force``) and open it."""
    out = Path(out)
    name = "bundled" if corpus is None else str(corpus)
    if corpus is not None and not Path(corpus).is_file():
        raise ValueError(f"corpus {name!r} is not a file")
    if out.exists() and not force:
        raise ValueError(f"out {str(out)!r} exists; pass --force (force=True) to replace it")
    if out.is_dir():
        raise ValueError(f"out {str(out)!r} is a directory")
    if corpus is not None and Path(corpus).stat().st_size == 0:
        raise ValueError(f"corpus {name!r} is empty")
    digest, blank = hashlib.sha256(), True

    def first_pass() -> Iterator[str]:  # learning the tokenizer also takes the corpus's digest
        nonlocal blank
        for block in corpus_blocks(corpus):
            digest.update(block.encode("utf-8"))
            blank = blank and block.isspace()
            yield block

    tok = train_tokenizer(tokenizer, text_pieces(first_pass()), bpe_vocab)
    if blank:
        raise ValueError(f"corpus {name!r} is empty")
    dtype = token_dtype(tok.vocab_size)
    tokens_digest = hashlib.sha256()

    def write(tmp: Path) -> None:
        count = 0
        with open(tmp, "wb") as f:
            f.write(bytes(DATA_OFFSET))
            for ids in encode_pieces(document_pieces(corpus_blocks(corpus)), tok):
                data = ids.astype(dtype).tobytes()
                tokens_digest.update(data)
                f.write(data)
                count += ids.size
            if count == 0:
                raise ValueError(f"corpus {name!r} holds no document text, only separators")
            meta = {"format_version": FORMAT_VERSION, "dtype": dtype.name, "count": count,
                    "tokenizer": tok.to_dict(), "corpus_sha256": digest.hexdigest(),
                    "tokens_sha256": tokens_digest.hexdigest()}
            f.write(json.dumps(meta).encode("utf-8"))
            f.seek(0)
            f.write(MAGIC + struct.pack("<Q", DATA_OFFSET + count * dtype.itemsize))

    atomic_write(out, write)
    return open_token_file(out)


def open_token_file(path: str | os.PathLike) -> TokenFile:
    """Open the token file at ``path``; a file that is not one, is truncated or holds an id outside its
    vocabulary raises ValueError naming it (every id is checked, a piece at a time: one read of the file)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"token file {str(path)!r} does not exist (write one with eventsnn tokenize)")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(DATA_OFFSET)
        if len(head) < DATA_OFFSET or head[:8] != MAGIC:
            raise ValueError(f"token file {str(path)!r} is not an eventsnn token file (no EVSNNTOK header)")
        (meta_at,) = struct.unpack("<Q", head[8:16])
        if not DATA_OFFSET <= meta_at < size:
            raise ValueError(f"token file {str(path)!r} is truncated or corrupt (metadata offset {meta_at}, "
                             f"size {size})")
        f.seek(meta_at)
        try:
            meta = json.loads(f.read().decode("utf-8"))
            dtype, count = np.dtype(meta["dtype"]).newbyteorder("<"), meta["count"]
            if meta["format_version"] != FORMAT_VERSION or meta["dtype"] not in DTYPES:
                raise ValueError(f"format_version {meta['format_version']!r}, dtype {meta['dtype']!r}")
            tokenizer = tokenizer_from_dict(meta["tokenizer"])
            corpus_sha256, tokens_sha256 = str(meta["corpus_sha256"]), str(meta["tokens_sha256"])
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"token file {str(path)!r} has unreadable metadata: {err}") from None
    if not isinstance(count, int) or DATA_OFFSET + count * dtype.itemsize != meta_at:
        raise ValueError(f"token file {str(path)!r} is truncated or corrupt: {count!r} {dtype.name} tokens do not "
                         f"fill bytes {DATA_OFFSET}-{meta_at}")
    if token_dtype(tokenizer.vocab_size) != dtype:
        raise ValueError(f"token file {str(path)!r}: dtype {dtype.name} does not fit its "
                         f"{tokenizer.vocab_size}-token vocabulary")
    tokens = np.memmap(path, dtype=dtype, mode="r", offset=DATA_OFFSET, shape=(count,))
    for start in range(0, count, CHECK_PIECE):  # an id beyond the vocabulary would index past the embedding
        largest = int(tokens[start:start + CHECK_PIECE].max())
        if largest >= tokenizer.vocab_size:
            at = start + int(np.argmax(tokens[start:start + CHECK_PIECE] >= tokenizer.vocab_size))
            raise ValueError(f"token file {str(path)!r} is corrupt: token {at} is id {int(tokens[at])}, outside its "
                             f"{tokenizer.vocab_size}-token vocabulary")
    return TokenFile(path.resolve(), tokens, tokenizer, corpus_sha256, tokens_sha256)
