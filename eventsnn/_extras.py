"""Optional dependencies: imported when a feature needs them, with the extra that installs them."""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

# The pyproject extra that installs each optional package.
EXTRAS = {"matplotlib": "plot", "tokenizers": "bpe", "mpi4py": "mpi"}


def require(module: str, feature: str) -> ModuleType:
    """Import and return ``module`` for ``feature`` (words such as "--plots"), or raise
    :class:`MissingDependencyError`, one line that names the package and its extra."""
    if module not in EXTRAS:
        raise ValueError(f"module must be one of {tuple(EXTRAS)}, got {module!r}")
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(f"{feature} needs the optional package {module!r} ({err}): "
                                     f"pip install 'eventsnn[{EXTRAS[module]}]'") from err
