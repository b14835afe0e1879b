"""Checkpoints: one strict, atomic, pickle-free HDF5 format for everything.

Models, training runs and simulations are all saved the same way. An object
that can be checkpointed describes itself as a :class:`Snapshot` (its kind,
JSON configuration, named parameter arrays and further nested groups:
optimizer, RNG, history, dynamic state, ...) and registers its class under
that kind with :func:`checkpointable`. The file layout is documented in
``docs/checkpoint-format.md`` and readable with plain h5py or h5dump.

- :mod:`.snapshot`: the Snapshot, the registry and :func:`expect_arrays`;
- :mod:`.hdf5`: atomic saving and strict loading;
- :mod:`.rng`: exact random-generator state;
- :mod:`.runs`: ``step_000123.h5`` files, a ``latest`` pointer, pruning, a lock;
- :mod:`.summary`: :func:`inspect` for ``eventsnn inspect CKPT``.
"""
from eventsnn.checkpoint.hdf5 import FORMAT, FORMAT_VERSION, load, load_snapshot, save, save_snapshot
from eventsnn.checkpoint.rng import pack_rng, unpack_rng
from eventsnn.checkpoint.runs import RunLock, latest_checkpoint, resolve_checkpoint, save_step, step_checkpoints
from eventsnn.checkpoint.snapshot import Checkpointable, Snapshot, checkpointable, expect_arrays
from eventsnn.checkpoint.summary import inspect

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpointable",
    "RunLock",
    "Snapshot",
    "checkpointable",
    "expect_arrays",
    "inspect",
    "latest_checkpoint",
    "load",
    "load_snapshot",
    "resolve_checkpoint",
    "pack_rng",
    "save",
    "save_snapshot",
    "save_step",
    "step_checkpoints",
    "unpack_rng",
]
