"""numba.cuda for the CUDA tests: Numba's CUDA simulator, unless NUMBA_ENABLE_CUDASIM=0 asks for the device.

Import this before anything imports numba.cuda: it sets the flag and has
Numba re-read its configuration (Numba reads its flags when numba is
imported, which ``import eventsnn`` has done), and numba.cuda picks the
simulator when it is imported. Only numba.cuda acts on the flag, so the CPU
kernels and the rest of a pytest process are unaffected. benchmarks/gpu_check.sh runs
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
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "0":  # the GPU check asked for the device: not finding it fails
        raise RuntimeError("NUMBA_ENABLE_CUDASIM=0 asks for a GPU, and numba.cuda finds none")
    pytest.skip("numba.cuda was imported for a device before tests/_cuda.py could ask for the simulator, and "
                "there is no GPU", allow_module_level=True)
# The simulator runs each thread in Python (~0.1 ms each): a few threads per block there (3: not a power of two),
# a warp's worth and more on a device.
ENGINE_THREADS = 3 if SIMULATOR else 128


@pytest.fixture(autouse=True, scope="module")
def fast_simulator():
    """Within a CUDA test module, switch Python threads every 50 us instead of 5 ms: the simulator's block
    scheduler polls its threads, so each barrier cost about a switch interval (the engine tests: 16x faster)."""
    interval = sys.getswitchinterval()
    if SIMULATOR:
        sys.setswitchinterval(5e-5)
    yield
    sys.setswitchinterval(interval)
