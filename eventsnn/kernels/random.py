"""Counter-based random numbers: u = hash(seed, step, neuron).

One source serves both backends: NumPy evaluates ``uniform`` on uint64 arrays,
Numba compiles it for uint64 scalars, and both give the same bits. A stream
needs no state beyond its seed, so a restored simulation continues exactly.
The mixer is the SplitMix64 finaliser (Steele, Lea & Flood 2014).
"""
import numpy as np
from numba.extending import register_jitable

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_K_STEP = np.uint64(0x9E3779B97F4A7C15)
_K_INDEX = np.uint64(0xD1B54A32D192ED03)
_S27, _S30, _S31, _S11 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@register_jitable
def mix64(x):
    """Bijective avalanche mix of a uint64."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@register_jitable
def uniform(seed, step, index):
    """Uniform double in [0, 1) from uint64 ``seed``, ``step`` and ``index``."""
    z = mix64(mix64(seed ^ (step * _K_STEP)) ^ (index * _K_INDEX))
    return (z >> _S11) * _TO_UNIT
