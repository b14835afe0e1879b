"""Compiled kernels (Numba). The NumPy backend in ``eventsnn.backends`` is their specification."""
from numba import njit

# Kernels called at every step take the network's named tuples of arrays. Numba increfs every array of a call's
# arguments on entry and decrefs it on return (two atomic operations each, ~0.5 µs for these tuples), which can
# cost more than a sparse network's step itself. Kernels that allocate nothing, called by one that holds every
# array, run without reference counting (``_nrt=False``, as Numba's own string kernels do).
borrowing = njit(cache=True, _nrt=False)
