"""Compiled kernels (Numba). The NumPy backend in ``eventsnn.backends`` is their specification."""
