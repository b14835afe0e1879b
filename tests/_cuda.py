"""numba.cuda for the CUDA tests: Numba's CUDA simulator, unless NUMBA_ENABLE_CUDASIM=0 asks for the device.

Import this before anything imports numba.cuda: the flag is read then. It
changes nothing for the CPU kernels (Numba reads it only in numba.cuda), so
the rest of a pytest process is unaffected. benchmarks/gpu_check.sh runs
these tests with NUMBA_ENABLE_CUDASIM=0 on a real GPU.
"""
import os
import sys

import pytest

if "numba.cuda" not in sys.modules:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    from numba.core import config

    config.reload_config()

from numba import cuda  # noqa: E402

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
if not cuda.is_available():
    pytest.skip("numba.cuda was imported for a device before the simulator flag was set, and there is no GPU",
                allow_module_level=True)
# The simulator runs each thread in Python (~0.1 ms each): a few threads per block there, a warp's worth and more
# on a device.
ENGINE_THREADS = 4 if SIMULATOR else 128
