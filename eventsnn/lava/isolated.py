"""Run chains in Lava in a process of their own: ``run_in_subprocess``, and the child's entry point.

Importing Lava sets multiprocessing's start method to "fork" for the whole
process and Lava's runtime forks a process per Lava process; neither belongs
inside a test runner or a program that has started threads (Numba's, BLAS's).
``run_in_subprocess`` writes the chains to a temporary ``.npz``, runs

    python -m eventsnn.lava.isolated CHAINS.npz TRACES.npz [--no-monitor]

and reads the traces back. The child exits with status 3 when Lava is not
installed, which the parent raises as ImportError.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from ..loihi.fixed_point import LayerTrace
from .chain import Chain, check_chain, load_chains, load_traces, save_chains, save_traces
from .process import INSTALL_HINT, require_lava, run_lava

EXIT_NO_LAVA = 3


def run_in_subprocess(chains: Sequence[Chain], *, monitor: bool = True, python: str | None = None,
                      timeout: float | None = None) -> list[list[LayerTrace]]:
    """:func:`~eventsnn.lava.run_lava` for each chain, in one child process running ``python`` (this
    interpreter if None); per chain a list of LayerTrace, as run_lava returns them.

    chains: :class:`~eventsnn.lava.Chain` (inputs, layers, states); timeout: seconds (None: no limit).
    ImportError (naming scripts/install_lava.py) if Lava is missing there, RuntimeError if the child fails.
    """
    if isinstance(chains, Chain) or not isinstance(chains, Sequence) or not chains:
        raise ValueError(f"chains must be a non-empty sequence of Chain, got {chains!r}")
    checked = [check_chain(*chain) for chain in chains]
    with tempfile.TemporaryDirectory(prefix="eventsnn-lava-") as folder:
        cases, results = Path(folder) / "chains.npz", Path(folder) / "traces.npz"
        save_chains(cases, checked)
        args = [python or sys.executable, "-m", __name__, str(cases), str(results)]
        done = subprocess.run(args + ([] if monitor else ["--no-monitor"]), capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode == EXIT_NO_LAVA:
            raise ImportError(f"{INSTALL_HINT} (interpreter {args[0]})")
        if done.returncode != 0:
            raise RuntimeError(f"the Lava process failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
        return load_traces(results)


def main(argv: Sequence[str] | None = None) -> int:
    """The child: run every chain of CHAINS in Lava, write the traces to TRACES."""
    parser = argparse.ArgumentParser(description="Run chains (eventsnn.lava.save_chains) in Lava, fixed_pt.")
    parser.add_argument("chains", help=".npz written by eventsnn.lava.save_chains")
    parser.add_argument("traces", help=".npz to write the traces to (eventsnn.lava.load_traces reads it)")
    parser.add_argument("--no-monitor", action="store_true", help="record u and v after the last step only")
    args = parser.parse_args(argv)
    try:
        require_lava()
    except ImportError as err:
        print(err, file=sys.stderr)
        return EXIT_NO_LAVA
    runs = [run_lava(*chain, monitor=not args.no_monitor) for chain in load_chains(args.chains)]
    save_traces(args.traces, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
