"""The Numba CPU backend: the whole step loop in one compiled call."""
from __future__ import annotations

from ..kernels.cpu import run_network
from .state import Recorder, SimState


def run(sim: SimState, rec: Recorder, t0: int, n_steps: int) -> int:
    """Advance ``n_steps`` steps from step ``t0``; see ``backends.state`` for the order."""
    return int(run_network(
        sim.seed, sim.state, sim.refractory, sim.pop_bounds, sim.pop_code, sim.coef,
        sim.indptr, sim.dest, sim.weight, sim.delay, sim.ring, sim.ring_rows,
        sim.gen_step, sim.gen_index, sim.gen_cursor, sim.gen_end, sim.drive, sim.drive_index,
        rec.spike_mask, rec.spike_step, rec.spike_index, rec.spike_count,
        rec.state_row, rec.state_index, rec.state_every, rec.state_values, rec.state_count,
        rec.pop_counts, rec.syn_events, t0, n_steps))
