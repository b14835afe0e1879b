"""Random-generator state that a restored run continues bit for bit."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from eventsnn.errors import CheckpointError

# Looked up by name from a closed list: a file never chooses what to construct.
_BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox, np.random.SFC64)
}


def pack_rng(rng: np.random.Generator) -> dict[str, Any]:
    """Return ``rng``'s full state as a tree a Snapshot group can hold.

    PCG64's 128-bit words stay Python ints, which the file keeps exactly as
    JSON decimal text; array-valued states (MT19937, Philox) become datasets.
    """
    return rng.bit_generator.state  # a fresh dict: later draws do not change it


def unpack_rng(state: Mapping[str, Any], where: str = "/rng") -> np.random.Generator:
    """Rebuild a Generator that continues exactly the stream :func:`pack_rng` saw.

    ``where`` is the group's path in the file, for error messages.
    """
    name = state.get("bit_generator") if isinstance(state, Mapping) else None
    if name not in _BIT_GENERATORS:
        raise CheckpointError(f"{where}/bit_generator: unknown bit generator {name!r}")
    bit_generator = _BIT_GENERATORS[name](0)
    try:
        bit_generator.state = dict(state)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: state does not fit {name}: {err!r}") from err
    return np.random.Generator(bit_generator)
