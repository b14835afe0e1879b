"""The HDF5 file: atomic, checksummed writing and strict loading of Snapshots.

Layout and rules: ``docs/checkpoint-format.md``. Writing raises ``ValueError``
for anything the format cannot store exactly and
:class:`~eventsnn.errors.CheckpointWriteError` when the file system refuses
the bytes (disk full, file size limit, permissions); reading raises
:class:`~eventsnn.errors.CheckpointError` for anything it does not understand,
naming the file and the path inside it. No pickle anywhere: arrays are typed
datasets and everything else is JSON text.
"""
from __future__ import annotations

import errno
import io
import json
import os
import secrets
import zlib
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import h5py
import numpy as np

from eventsnn._validation import check_bool
from eventsnn.checkpoint.snapshot import Checkpointable, Snapshot, registered_class, registered_kinds
from eventsnn.errors import CheckpointError, CheckpointWriteError
from eventsnn.mpi import on_rank0

FORMAT = "eventsnn-checkpoint"
FORMAT_VERSION = 1

# HDF5 >= 1.10 file format: object headers carry their own checksums, so
# HDF5 itself notices damaged metadata, and attributes may exceed 64 KiB.
_LIBVER = ("v110", "latest")
_ROOT_ATTRS = ("format", "format_version", "library_version", "kind", "config", "created")
# bool, signed/unsigned int, float, complex, fixed-length bytes: no objects.
_ARRAY_KINDS = "biufcS"
# Shuffle + gzip 4 costs ~20 ms/MB and every HDF5 reader can decompress it
# (lzf is faster but h5dump cannot read it); fletcher32 checks each chunk.
_FILTERS = dict(compression="gzip", compression_opts=4, shuffle=True, fletcher32=True)


# ----------------------------------------------------------------- writing


def save(obj: Checkpointable, path: str | os.PathLike, *, dynamic: bool = True) -> Path:
    """Write ``obj`` atomically to ``path`` and return the path.

    ``dynamic=False`` leaves out the ``dynamic`` group (membranes, delay
    queues, generation streams) for a smaller file that restarts from rest.
    Under MPI every rank calls ``save`` and only rank 0 writes; every rank
    returns once the file is written, or raises rank 0's error. An object
    spread over the ranks (a distributed ``Network``) gathers itself in
    ``checkpoint_state``.
    """
    check_path("path", path)
    snap = snapshot_of(obj, dynamic)
    return on_rank0(lambda: save_snapshot(snap, path))


def snapshot_of(obj: Checkpointable, dynamic: bool = True) -> Snapshot:
    """``obj``'s Snapshot for :func:`save` (without the ``dynamic`` group unless ``dynamic``); refuses an
    unregistered class. Under MPI every rank must call it (a distributed object gathers itself)."""
    if not callable(getattr(obj, "checkpoint_state", None)):
        raise ValueError(f"obj must be a checkpointable object (a Network, a Trainer, ...), got {obj!r}")
    dynamic = check_bool("dynamic", dynamic)
    snap = obj.checkpoint_state()
    if registered_class(snap.kind) is not type(obj):
        raise ValueError(
            f"obj: {type(obj).__qualname__} is not registered as kind {snap.kind!r}; "
            "decorate it with @checkpointable(kind) so that load() can rebuild it"
        )
    if not dynamic:
        snap = replace(snap, groups={k: v for k, v in snap.groups.items() if k != "dynamic"})
    return snap


def check_path(name: str, path: Any) -> None:
    """Refuse a ``path`` that is not a file system path (a str or an os.PathLike)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise ValueError(f"{name} must be a file system path (a str or a Path), got {path!r}")


def save_snapshot(snap: Snapshot, path: str | os.PathLike) -> Path:
    """Write ``snap`` atomically to ``path`` (no registry involved); return the path.

    Raises ``ValueError`` naming the offending entry if the snapshot holds
    anything the format cannot store exactly, and ``CheckpointWriteError`` if
    the file cannot be written; nothing changes at ``path`` then.

    The HDF5 image is built in memory and written with plain file I/O. HDF5
    reports a failed disk write late and unreliably (on a full disk it closed
    a truncated file without an error, or raised from a destructor and then
    crashed the interpreter at exit); Python's writes fail at once with the
    real errno. The cost is one in-memory copy of the (compressed) file.
    """
    if not _is_name(snap.kind):
        raise ValueError(f"snap.kind must be a non-empty UTF-8 string without NUL, got {snap.kind!r}")
    if not isinstance(snap.config, dict):
        raise ValueError(f"snap.config must be a dict, got {type(snap.config).__name__}")
    _check_json(snap.config, "config")
    for name, value in snap.groups.items():
        if name == "parameters" or not isinstance(value, dict):
            raise ValueError(f"snap.groups[{name!r}] must be a dict and not named 'parameters'")
    path = Path(path)

    image = io.BytesIO()
    with h5py.File(image, "w", libver=_LIBVER, track_order=True) as f:
        f.attrs["format_version"] = FORMAT_VERSION
        for name, text in [
            ("format", FORMAT),
            ("library_version", _library_version()),
            ("kind", snap.kind),
            ("config", json.dumps(snap.config)),
            ("created", datetime.now(timezone.utc).isoformat(timespec="seconds")),
        ]:
            data = text.encode()
            f.attrs.create(name, data, dtype=_text_dtype(data))
        params = f.create_group("parameters", track_order=True)
        for name, value in snap.parameters.items():
            if not isinstance(value, np.ndarray):
                raise ValueError(f"/parameters/{name} must be a numpy array, got {type(value).__name__}")
            _write_leaf(params, name, value, "/parameters")
        _write_tree(f, snap.groups, "")
    atomic_write(path, lambda tmp: tmp.write_bytes(image.getbuffer()))
    return path


def _write_tree(group: h5py.Group, tree: Mapping[str, Any], where: str) -> None:
    for name, value in tree.items():
        if isinstance(value, dict):
            _check_name(name, where)
            _write_tree(group.create_group(name, track_order=True), value, f"{where}/{name}")
        else:
            _write_leaf(group, name, value, where)


def _write_leaf(group: h5py.Group, name: str, value: Any, where: str) -> None:
    """Store an array as a typed dataset, anything else as a JSON text scalar."""
    _check_name(name, where)
    at = f"{where}/{name}"
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS or value.dtype.fields is not None:
            raise ValueError(f"{at}: dtype {value.dtype} cannot be stored; use numeric, bool or fixed-bytes arrays")
        data = value if value.flags.c_contiguous else value.copy(order="C")
        filters = _FILTERS if data.ndim and data.size else {}  # HDF5 filters need chunks
        ds = group.create_dataset(name, data=data, **filters)
        ds.attrs["crc32"] = zlib.crc32(data.data)
    else:
        _check_json(value, at)
        text = json.dumps(value).encode()
        ds = group.create_dataset(name, data=text, dtype=_text_dtype(text))
        ds.attrs["crc32"] = zlib.crc32(text)


def _text_dtype(data: bytes) -> np.dtype:
    """Fixed-length UTF-8, the only text type in a checkpoint.

    Variable-length strings live in HDF5's global heap, which has no
    checksum; a damaged heap entry can make HDF5 hang. Fixed-length text sits
    in checksummed headers or in data covered by our crc32. (Bytes arrays get
    the ASCII character set, which is how a reader tells them from JSON.)
    """
    return h5py.string_dtype("utf-8", len(data))


def _check_name(name: Any, where: str) -> None:
    if not _is_name(name) or name in (".", "..") or "/" in name:
        raise ValueError(f"{where}: name {name!r} must be a non-empty UTF-8 string without '/' or NUL")


def _is_name(text: Any) -> bool:
    """HDF5 stores names and string attributes as NUL-terminated UTF-8."""
    if not isinstance(text, str) or not text or "\0" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _check_json(value: Any, where: str) -> None:
    """Accept only values that JSON gives back equal (no tuples, no numpy ints or bools).

    ``np.float64`` is a ``float`` subclass and comes back as a plain float.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for key, item in value.items():
            _check_json(item, f"{where}.{key}")
        return
    raise ValueError(
        f"{where}: {value!r} ({type(value).__name__}) is neither a numpy array nor a JSON value "
        "(None, bool, int, float, str, list, dict with str keys); use .item() for numpy scalars"
    )


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill a temporary file beside ``path``, then swap it in.

    A crash leaves either the old file or the new one, never a mix; a
    leftover ``<name>.tmp<hex>`` is the only trace of an interrupted write.
    An ``OSError`` while writing becomes a :class:`CheckpointWriteError`
    (still an ``OSError``, same errno) that says what ``path`` now holds.
    """
    tmp = path.with_name(f"{path.name}.tmp{secrets.token_hex(4)}")
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, CheckpointWriteError):
            kept = f"{path} keeps its previous content" if path.exists() else f"{path} was not written"
            raise CheckpointWriteError(f"cannot write {path}: {_reason(err)}; {kept}", err.errno) from err
        raise
    if os.name == "posix":  # the rename is durable only once the directory is synced
        _fsync(path.parent)


def _reason(err: OSError) -> str:
    """The cause of a failed write in a few words, e.g. "no space left on device"."""
    if err.errno == errno.EFBIG:  # the process's file size limit (ulimit -f) or the file system's
        return "file too large (file size limit exceeded)"
    return (err.strerror or str(err)).lower()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _library_version() -> str:
    import eventsnn  # not at module level: the package imports this module while initialising

    return eventsnn.__version__


# ----------------------------------------------------------------- reading


def load(path: str | os.PathLike, **options: Any) -> Any:
    """Rebuild the object saved in ``path`` through its registered class.

    ``options`` go to the class's ``from_checkpoint``, each checked first by
    the class's ``load_options`` (a dict: name -> check): a Network takes
    ``backend`` ("numpy", "numba" or "cuda"; default: the one that saved it),
    to continue on another backend, e.g. a run saved on a GPU on a machine
    without one.
    """
    snap = load_snapshot(path)
    cls = registered_class(snap.kind)
    if cls is None:
        raise CheckpointError(
            f"{path}: unknown kind {snap.kind!r} (root attribute 'kind'); registered kinds: {registered_kinds()}"
        )
    checks = getattr(cls, "load_options", {})
    for name, value in options.items():
        if name not in checks:
            raise ValueError(f"load: a {snap.kind} checkpoint takes no option {name!r} "
                             f"(its options: {sorted(checks) or 'none'})")
        checks[name](value)
    try:
        return cls.from_checkpoint(snap, **options)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from err
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{path}: does not fit kind {snap.kind!r}: {err!r}") from err


def load_snapshot(path: str | os.PathLike) -> Snapshot:
    """Read and verify ``path`` into a :class:`Snapshot` (no registry involved)."""
    return read(path)[1]


def read(path: str | os.PathLike) -> tuple[dict[str, Any], Snapshot]:
    """Read and verify all of ``path``; return its root attributes and its Snapshot."""
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as err:
        raise CheckpointError(f"{path}: /: not a readable HDF5 file (truncated or foreign): {err}") from err
    try:
        with f:
            header = _read_header(f)
            tree = _read_tree(f, "")
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from err
    except (OSError, RuntimeError, KeyError, ValueError) as err:  # HDF5 metadata damaged
        raise CheckpointError(f"{path}: the HDF5 structure is corrupt: {err}") from err
    parameters = tree.pop("parameters", None)
    if not isinstance(parameters, dict) or any(not isinstance(v, np.ndarray) for v in parameters.values()):
        raise CheckpointError(f"{path}: /parameters: must be a group of array datasets")
    if any(not isinstance(v, dict) for v in tree.values()):
        raise CheckpointError(f"{path}: /: only groups may sit at the root")
    return header, Snapshot(header["kind"], header["config"], parameters, tree)


def _read_header(f: h5py.File) -> dict[str, Any]:
    # Our text attributes come back as bytes; a foreign file's may be str.
    attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in f.attrs.items()}
    if not isinstance(attrs.get("format"), str) or attrs["format"] != FORMAT:
        raise CheckpointError(f"/: root attribute 'format' is not {FORMAT!r}: a foreign HDF5 file")
    version = attrs.get("format_version")
    if isinstance(version, np.integer) and version > FORMAT_VERSION:
        raise CheckpointError(
            f"/: format_version {version} is newer than this eventsnn reads ({FORMAT_VERSION}); upgrade eventsnn"
        )
    if not isinstance(version, np.integer) or version < 1:
        raise CheckpointError(f"/: root attribute 'format_version' is invalid: {version!r}")
    if set(attrs) != set(_ROOT_ATTRS):
        raise CheckpointError(
            f"/: root attributes {sorted(attrs)} differ from the expected {sorted(_ROOT_ATTRS)}"
        )
    for name in _ROOT_ATTRS[2:]:
        if not isinstance(attrs[name], str):
            raise CheckpointError(f"/: root attribute {name!r} must be a string, got {attrs[name]!r}")
    config = _parse_json(attrs["config"], "/ attribute 'config'")
    if not isinstance(config, dict):
        raise CheckpointError(f"/: root attribute 'config' must hold a JSON object, got {config!r}")
    return dict(attrs, format_version=int(version), config=config)


def _read_tree(group: h5py.Group, where: str) -> dict[str, Any]:
    if where and group.attrs:
        raise CheckpointError(f"{where}: unexpected attributes {sorted(group.attrs)} on a group")
    tree: dict[str, Any] = {}
    for name in group:
        at = f"{where}/{name}"
        if not isinstance(group.get(name, getlink=True), h5py.HardLink):
            raise CheckpointError(f"{at}: links are not allowed in a checkpoint")
        item = group[name]
        if isinstance(item, h5py.Group):
            tree[name] = _read_tree(item, at)
        elif isinstance(item, h5py.Dataset):
            tree[name] = _read_dataset(item, at)
        else:
            raise CheckpointError(f"{at}: unexpected HDF5 object {type(item).__name__}")
    return tree


def _read_dataset(ds: h5py.Dataset, at: str) -> Any:
    text = h5py.check_string_dtype(ds.dtype)
    is_json = text is not None and text.encoding == "utf-8" and text.length is not None and ds.shape == ()
    if not is_json and (ds.dtype.kind not in _ARRAY_KINDS or ds.dtype.fields is not None):
        raise CheckpointError(f"{at}: unsupported dtype {ds.dtype}")
    if set(ds.attrs) != {"crc32"}:
        raise CheckpointError(f"{at}: expected exactly one attribute 'crc32', found {sorted(ds.attrs)}")
    try:
        data = ds[()] if is_json else ds[...]  # [...] keeps 0-d arrays and byte order
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{at}: data cannot be read, the file is corrupt: {err}") from err
    if zlib.crc32(data if is_json else data.data) != ds.attrs["crc32"]:
        raise CheckpointError(f"{at}: checksum mismatch, the data is corrupt")
    return _parse_json(data, at) if is_json else data


def _parse_json(text: str | bytes, at: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"{at}: invalid JSON: {err}") from err
