"""``eventsnn inspect CKPT``: what a checkpoint holds, at a glance."""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

import numpy as np

from eventsnn.checkpoint.hdf5 import FORMAT, read


def inspect(path: str | os.PathLike) -> str:
    """A human-readable summary of a checkpoint, after verifying all of it.

    Shows kind, configuration, every parameter, each group's size, and, by
    the conventions of ``docs/checkpoint-format.md``, the optimizer step and
    the last logged losses.
    """
    header, snap = read(path)
    params = snap.parameters
    lines = [
        f"checkpoint  {path} ({_size(os.path.getsize(path))} on disk)",
        f"format      {FORMAT} v{header['format_version']}, "
        f"eventsnn {header['library_version']}, created {header['created']}",
        f"kind        {snap.kind}",
        f"config      {json.dumps(snap.config)}",
        f"parameters  {_count(len(params), 'array')}, {_count(sum(a.size for a in params.values()), 'value')}, "
        f"{_size(sum(a.nbytes for a in params.values()))}",
    ]
    width = max((len(n) for n in params), default=0)
    lines += [f"  {n:<{width}}  {a.dtype} {a.shape}" for n, a in params.items()]
    for name, tree in snap.groups.items():
        arrays, values = _leaves(tree)
        lines.append(
            f"{name:<11} {_count(len(arrays), 'array')} ({_size(sum(a.nbytes for a in arrays))}), "
            f"{_count(len(values), 'value')}"
        )
    optimizer, history = snap.groups.get("optimizer", {}), snap.groups.get("history", {})
    if "step" in optimizer:
        lines.append(f"step        {optimizer['step']}")
    for key, label in (("loss", "loss"), ("val_loss", "val loss")):
        series = history.get(key)
        if isinstance(series, np.ndarray) and series.size:
            lines.append(f"{label:<11} {series.flat[-1]:.6g} (last of {series.size} logged)")
    return "\n".join(lines)


def _leaves(tree: Mapping[str, Any]) -> tuple[list[np.ndarray], list[Any]]:
    """All arrays and all JSON values in a nested group."""
    arrays, values = [], []
    for value in tree.values():
        if isinstance(value, dict):
            sub_arrays, sub_values = _leaves(value)
            arrays += sub_arrays
            values += sub_values
        else:
            (arrays if isinstance(value, np.ndarray) else values).append(value)
    return arrays, values


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _size(nbytes: int) -> str:
    """Bytes in decimal units: 999 B, 1.0 kB, 10.5 MB."""
    units = ("B", "kB", "MB", "GB", "TB")
    power = min(len(str(max(int(nbytes), 1))) - 1, 3 * (len(units) - 1)) // 3
    return f"{nbytes} B" if power == 0 else f"{nbytes / 1000**power:.1f} {units[power]}"
