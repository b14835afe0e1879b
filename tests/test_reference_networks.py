"""The Brette et al. (2007) benchmark networks reproduce the published rates."""
import pytest

from eventsnn.reference_networks import coba, cuba


def test_cuba_rate_matches_brian2_and_nest():
    bench = cuba(4000, seed=4)
    bench.network.run(2000.0)
    synapses = bench.network.sim.syn.weight.size
    assert abs(synapses - 320_000) < 5 * 566  # 4000² · 0.02 ± 5 s.d.
    rate = bench.spikes.num_spikes / 4000 / 2.0
    assert 5.0 < rate < 6.2  # Brian2 and NEST: 5.5-5.7 Hz; seeds vary by about ±0.2 Hz


def test_coba_fires_at_about_20_hz():
    bench = coba(4000, seed=1)
    bench.network.run(1000.0)
    rate = bench.spikes.num_spikes / 4000 / 1.0
    assert 15.0 < rate < 25.0  # spike-for-spike checks against Brian2: tests/test_brian2_peer.py


def test_benchmark_networks_validate_their_size():
    with pytest.raises(ValueError, match="out_degree"):
        cuba(100, out_degree=500.0)
    with pytest.raises(ValueError, match="n"):
        cuba(2)
    for seed, message in (("a", "seed must be an integer, got 'a'"), (-1, "seed must be >= 0, got -1")):
        with pytest.raises(ValueError, match=message):
            coba(50, out_degree=10.0, seed=seed)
    with pytest.raises(ValueError, match="seed must be <= "):
        cuba(50, out_degree=10.0, seed=2**64)
