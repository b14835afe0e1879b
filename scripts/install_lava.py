#!/usr/bin/env python3
"""Install Intel's Lava (lava-nc 0.10.0) into the running interpreter's environment.

    python scripts/install_lava.py          # install, fix, verify; run again, it changes nothing
    python scripts/install_lava.py --check  # only verify; install nothing

lava-nc 0.10.0 declares ``Requires-Python <3.11`` and ``numpy <2`` but runs
on Python 3.11 with numpy 2 once two things are done, which is what this
script does:

1. lava-nc is fetched and installed with ``--no-deps --ignore-requires-python``,
   so pip neither refuses the Python version nor downgrades numpy. Its other
   dependencies (its own ``Requires-Dist``: asteval, networkx, scipy,
   scikit-learn) are installed within Lava's ranges where missing and kept
   at their version where present.
2. ``lava/magma/compiler/var_model.py`` declares eight dataclass fields with
   a mutable default, ``x: ByteEncoder = ByteEncoder()``, which Python 3.11
   refuses at import ("mutable default ... use default_factory"). Each
   becomes ``field(default_factory=ByteEncoder)`` and ``field`` is imported.

Then a three-neuron LIF runs five steps on ``Loihi2SimCfg(select_tag="fixed_pt")``
in a fresh interpreter and its voltages are compared with values worked out
by hand (``CHECK_PROGRAM``). A step already done is skipped, so a second run
costs only the check (about a second).

Exit status: 0 Lava works here; 2 lava-nc could not be fetched (no network
or package index; nothing was changed); 1 anything else, with the reason.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import tempfile
from pathlib import Path

LAVA_VERSION = "0.10.0"
# lava-nc 0.10.0's Requires-Dist, without "numpy>=1.24.4,<2.0.0" (numpy 2 works; the pin would downgrade it).
# A missing one is installed within Lava's range; one already installed is kept at its version (Lava 0.10 also
# runs with networkx 3 and asteval 1, which other packages, e.g. torch, may have brought).
LAVA_DEPENDENCIES = {
    "asteval": "asteval>=0.9.31,<0.10.0",
    "networkx": "networkx<=2.8.7",
    "scipy": "scipy>=1.10.1,<2.0.0",
    "scikit-learn": "scikit-learn>=1.5.0,<2.0.0",
}
EXIT_UNREACHABLE = 2  # lava-nc could not be fetched (no network or no index): the tests skip on this status
VAR_MODEL = "lava/magma/compiler/var_model.py"
MUTABLE_DEFAULT = re.compile(r"^(\s+\w+: ByteEncoder = )ByteEncoder\(\)$", re.MULTILINE)
FIXED_DEFAULT = "field(default_factory=ByteEncoder)"
DATACLASS_IMPORT = "from dataclasses import dataclass, InitVar\n"
FIXED_IMPORT = "from dataclasses import dataclass, field, InitVar\n"
N_MUTABLE_DEFAULTS = 8  # CoreEncoder x, y, p; ChipEncoder x, y, z; AxonEncoder hi, lo

# The check: LIF with du = 0 (u keeps decaying by 1/4096 of itself, from 0 it stays 0),
# dv = 0, no input, bias_mant = [1, 2, 3] << bias_exp = 6, vth = 4 (effective 4 << 6 = 256):
# v grows by 64, 128, 192 per step; a neuron spikes when v > 256 and resets to 0.
#   step:      1    2    3    4    5
#   neuron 0: 64  128  192  256  320 -> spikes at step 5, v = 0
#   neuron 1: 128 256  384->0  128 256
#   neuron 2: 192 384->0 192 384->0 192
CHECK_PROGRAM = """
import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.lif.process import LIF

lif = LIF(shape=(3,), du=0, dv=0, vth=4, bias_mant=np.array([1, 2, 3]), bias_exp=np.array([6, 6, 6]))
try:
    lif.run(condition=RunSteps(num_steps=5), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    v = lif.v.get()
finally:
    lif.stop()
print(" ".join(str(int(x)) for x in v))
"""
CHECK_EXPECTED = "0 256 192"


def say(message: str) -> None:
    print(f"install_lava: {message}", flush=True)


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def pip(*args: str, exit_status: int = 1) -> None:
    """Run pip in this interpreter; on failure exit with ``exit_status`` after saying which command failed."""
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]
    say("running " + " ".join(command[2:]))
    done = subprocess.run(command)
    if done.returncode != 0:
        say(f"pip failed (exit {done.returncode}): {' '.join(command[2:])}")
        raise SystemExit(exit_status)


def var_model_path() -> Path:
    path = Path(importlib.metadata.distribution("lava-nc").locate_file(VAR_MODEL))
    if not path.is_file():
        say(f"lava-nc is installed but {path} is missing; reinstall it with: {sys.executable} -m pip install "
            f"--force-reinstall --no-deps --ignore-requires-python lava-nc=={LAVA_VERSION}")
        raise SystemExit(1)
    return path


def fix_var_model(path: Path) -> bool:
    """Give var_model.py's ByteEncoder defaults a default_factory; True if the file changed."""
    text = path.read_text()
    found = len(MUTABLE_DEFAULT.findall(text))
    if found == 0 and FIXED_IMPORT in text:
        return False
    if found != N_MUTABLE_DEFAULTS or DATACLASS_IMPORT not in text:
        raise SystemExit(f"install_lava: {path} is not lava-nc {LAVA_VERSION}'s var_model.py as this "
                         f"script knows it ({found} ByteEncoder() defaults, expected {N_MUTABLE_DEFAULTS}, "
                         f"dataclasses import {'found' if DATACLASS_IMPORT in text else 'not found'}); "
                         "not changing it")
    text = MUTABLE_DEFAULT.sub(lambda m: m.group(1) + FIXED_DEFAULT, text)
    text = text.replace(DATACLASS_IMPORT, FIXED_IMPORT, 1)
    path.write_text(text)
    return True


def check() -> str | None:
    """Run the five-step LIF in a fresh interpreter; None if it gives the expected voltages, else why not."""
    try:
        done = subprocess.run([sys.executable, "-c", CHECK_PROGRAM], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "the five-step LIF check did not finish within 300 s"
    if done.returncode != 0:
        return "the five-step LIF check failed:\n" + done.stderr.strip()
    got = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if got != CHECK_EXPECTED:
        return f"the five-step LIF check gave v = [{got}], expected [{CHECK_EXPECTED}]"
    return None


def install() -> None:
    version = installed_version("lava-nc")
    if version not in (None, LAVA_VERSION):
        raise SystemExit(f"install_lava: lava-nc {version} is installed; this script installs and fixes "
                         f"{LAVA_VERSION} only. Uninstall it first: {sys.executable} -m pip uninstall lava-nc")
    if version is None:
        with tempfile.TemporaryDirectory() as wheels:
            # Fetch lava-nc first: if the package index cannot be reached, nothing has been changed yet.
            pip("download", "--no-deps", "--ignore-requires-python", "--dest", wheels, f"lava-nc=={LAVA_VERSION}",
                exit_status=EXIT_UNREACHABLE)
            missing = [req for name, req in LAVA_DEPENDENCIES.items() if installed_version(name) is None]
            kept = [f"{name} {installed_version(name)}" for name in LAVA_DEPENDENCIES if installed_version(name)]
            if kept:
                say("keeping " + ", ".join(kept))
            if missing:
                pip("install", *missing)
            pip("install", "--no-deps", "--ignore-requires-python", *map(str, Path(wheels).glob("lava_nc-*.whl")))
    else:
        say(f"lava-nc {LAVA_VERSION} is already installed")
    path = var_model_path()
    if fix_var_model(path):
        say(f"fixed the {N_MUTABLE_DEFAULTS} ByteEncoder() dataclass defaults in {path}")
    else:
        say(f"{path} is already fixed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only verify that Lava imports and runs; install nothing")
    args = parser.parse_args(argv)
    say(f"environment: {sys.prefix} (Python {sys.version.split()[0]})")
    if not args.check:
        install()
    elif installed_version("lava-nc") is None:
        say("lava-nc is not installed in this environment")
        return 1
    problem = check()
    if problem:
        say(problem)
        return 1
    say(f"lava-nc {LAVA_VERSION} works: a LIF ran 5 steps on Loihi2SimCfg(select_tag='fixed_pt') "
        "with the expected voltages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
