"""Lava for the tests: the session fixture that makes it importable.

``lava_python`` (session scope) runs ``scripts/install_lava.py`` with the
interpreter running pytest. The script installs lava-nc 0.10.0 and its fix
the first time and only checks it afterwards (about a second), so a clean
``pip install ".[dev]"`` gets Lava from the repo's own files. It skips the
tests that use it when lava-nc cannot be fetched (the script's exit status
2: no network or package index) or when ``EVENTSNN_NO_LAVA_INSTALL=1`` is set
and Lava is not installed; any other failure of the script fails them.

The tests run Lava through :func:`eventsnn.lava.run_in_subprocess` (or the
``python -m eventsnn.lava.check`` command), in a process of its own: importing
Lava sets multiprocessing's start method to "fork" for the whole process and
Lava's runtime forks a process per Lava process, neither of which belongs
inside pytest.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

INSTALL_SCRIPT = Path(__file__).parents[1] / "scripts" / "install_lava.py"
EXIT_UNREACHABLE = 2  # install_lava.py's status when lava-nc cannot be fetched


@pytest.fixture(scope="session")
def lava_python() -> str:
    """The interpreter running the tests, once Lava 0.10.0 imports and runs in it."""
    if os.environ.get("EVENTSNN_NO_LAVA_INSTALL") == "1" and importlib.util.find_spec("lava") is None:
        pytest.skip("Lava is not installed and EVENTSNN_NO_LAVA_INSTALL=1 (python scripts/install_lava.py installs it)")
    args = [sys.executable, str(INSTALL_SCRIPT)]
    if os.environ.get("EVENTSNN_NO_LAVA_INSTALL") == "1":
        args.append("--check")
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    output = (done.stdout + done.stderr).strip()
    if done.returncode == EXIT_UNREACHABLE:
        pytest.skip(f"Lava is not installed and lava-nc could not be fetched: {output.splitlines()[-1]}")
    if done.returncode != 0:
        pytest.fail(f"scripts/install_lava.py failed (exit {done.returncode}):\n{output}", pytrace=False)
    return sys.executable
