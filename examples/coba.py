"""Brette et al. (2007) benchmark 1 (COBA): the same network with conductance synapses.

    python examples/coba.py [--duration 1000] [--backend numba|numpy|cuda] [--threads N] [--delay MS] [--json run.json]
                            [--plot coba.png]
"""
from cuba import main

from eventsnn.reference_networks import coba

if __name__ == "__main__":
    main(coba, "COBA")
