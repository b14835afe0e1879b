"""How the CUDA simulator backend's kernels are launched: sizes, grid-stride configuration, launches bound once.

Every kernel loops over its items with the whole grid's stride, so any launch size is correct; a run's
launches take the same arguments at every step (the step's number lives on the device, read by
:func:`running`), so each is typed and packed once (:func:`bind`).
"""
from __future__ import annotations

import functools
from typing import Callable

from numba import config, cuda

# The simulator runs each thread in Python (~0.1 ms each): a few there, a device's worth on a GPU. A group of
# LANES threads shares one spike's row in propagation (a warp on a device).
THREADS, MAX_BLOCKS, LANES = (4, 2, 2) if config.ENABLE_CUDASIM else (128, 1024, 32)


def configure(kernel: Callable, items: int, threads_per_item: int = 1):
    """``kernel`` configured with enough threads for ``items`` (at most MAX_BLOCKS blocks; grid-stride loops)."""
    return kernel[max(1, min(MAX_BLOCKS, -(-items * threads_per_item // THREADS))), THREADS]


def bind(configured, *args) -> Callable[[], None]:
    """``configured(*args)`` (a configured kernel; device arrays and scalars) as a launch without arguments.

    On a device numba-cuda types and packs every argument into kernel parameters at each launch, in Python
    (~87 us a launch for these kernels' named tuples of arrays: scripts/cuda_launch_overhead.py). Here that
    is done once: numba-cuda 0.30's ``_Kernel.launch`` split in two (its ``_prepare_args`` now, the driver's
    launch at each call), for kernels that are not launch-configuration sensitive (none here is)."""
    if config.ENABLE_CUDASIM:
        return functools.partial(configured, *args)
    kernel = configured.dispatcher.compile(tuple(configured.dispatcher.typeof_pyval(a) for a in args))
    try:
        from numba.cuda.dispatcher import LaunchConfig, launch as driver_launch
        prepare, function = kernel._prepare_args, kernel._codelibrary.get_cufunc().kernel
    except (ImportError, AttributeError):  # another numba-cuda's internals: its own launch (slower, same result)
        return functools.partial(configured, *args)
    packed, copies_back = [], []
    for ty, value in zip(kernel.argument_types, args):
        prepare(ty, value, configured.stream, copies_back, packed)
    if copies_back:
        raise TypeError(f"bind takes device arrays only (a host array would be copied to the device once and "
                        f"never back): {args}")
    launch_config = LaunchConfig(grid=configured.griddim, block=configured.blockdim, shmem_size=configured.sharedmem)

    def launch():
        driver_launch(configured.stream, launch_config, function, *packed)
    launch.args = args  # the device arrays behind the packed pointers live as long as the launch
    return launch


@cuda.jit(device=True)
def running(clock):
    """The run's step now, or -1 when the run has stopped (the spike record was full)."""
    return clock[0] if clock[1] > clock[0] else -1
