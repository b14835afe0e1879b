"""CUDA kernels (numba-cuda) for training and language-model inference, float32.

Each kernel gives the result of its CPU twin in ``eventsnn.kernels``:

- :mod:`.bptt`: the fused LIF / ALIF forward and BPTT backward over T steps;
- :mod:`.event_linear`: the event-driven product (forward) and its weight gradient;
- :mod:`.optim`: one Adam / AdamW update;
- :mod:`.inference`: the spiking LM's token steps for B streams
  (driven by :class:`eventsnn.lm.cuda_engine.CudaEngine`).

Host wrappers take NumPy arrays (copied to the device, results copied back)
or device arrays (anything with ``__cuda_array_interface__``: results stay
on the device). Importing this package imports ``numba.cuda``. With
``NUMBA_ENABLE_CUDASIM=1`` in the environment before ``numba`` is imported
(``import eventsnn`` imports it), everything runs in Numba's CUDA
simulator, which is how the tests run without a GPU. See docs/cuda.md for
the determinism contract of each kernel.
"""
from ...errors import MissingDependencyError

INSTALL = 'pip install "eventsnn[cuda]" (from a checkout: pip install ".[cuda]")'

try:
    from numba import cuda  # noqa: F401
except ImportError as err:
    raise MissingDependencyError(f"eventsnn.kernels.cuda needs numba-cuda ({err}): {INSTALL}") from err
