"""examples/izhikevich_2007.py on short runs: the JSON it writes, the closed reward loop, the network's activity."""
import importlib.util
import json

import numpy as np
import pytest

import eventsnn as esnn
from _examples import load_example

DURATION = 6  # simulated seconds: a few pairings and rewards, a second of wall time


@pytest.fixture(scope="module")
def izh():
    return load_example("izhikevich_2007")


def test_short_run_writes_the_results(izh, tmp_path):
    out, png = tmp_path / "izh.json", tmp_path / "izh.png"
    returned = izh.main(["--duration", str(DURATION), "--seed", "7", "--json", str(out), "--plot", str(png)])
    result = json.loads(out.read_text())
    assert result == json.loads(json.dumps(returned))
    assert png.exists() == (importlib.util.find_spec("matplotlib") is not None)

    trace = np.array(result["rewarded_weight"])
    assert trace.shape == (DURATION + 1, 2)  # one sample a second from 0, and the end
    np.testing.assert_array_equal(trace[:, 0], np.arange(DURATION + 1))
    assert trace[0, 1] == 0.0  # the rewarded synapse starts at 0, as in daspnet.m
    assert trace[-1, 1] == result["rewarded_weight_final"]
    assert result["w_max"] == 4.0 and np.all((trace[:, 1] >= 0.0) & (trace[:, 1] <= 4.0))

    # a few seconds move the other weights, but not far from their initial 1
    assert 0.8 < result["other_weights_mean"] < 1.1 and result["other_weights_mean"] != 1.0
    assert result["other_weights_fraction_near_max"] == 0.0
    assert sum(result["other_weights_histogram"]["counts"]) == 800 * 100 - 1
    assert 0.5 < result["mean_rate_hz"] < 5.0  # daspnet.m's network fires at about 1-2 Hz

    rewards, paired = np.array(result["rewards"]), np.array(result["pairings"])
    assert result["reward"] is True and paired.size > 0
    # each reward comes 1.001-3 s after its own pairing; pairings late in the run are rewarded after it
    assert rewards.size <= paired.size and np.all(np.diff(rewards) >= 0)
    for r in rewards:
        assert np.any((r - paired >= 1.001 - 1e-9) & (r - paired <= 3.0 + 1e-9))
    assert np.all(rewards <= DURATION)


def test_pairings_follow_daspnet(izh):
    """n2 must fire 1 to 19 ms after n1's latest spike, and strictly after it."""
    pre = np.array([100, 200, 230, 500])
    post = np.array([50, 100, 101, 119, 120, 215, 231, 249, 250, 700])
    np.testing.assert_array_equal(izh.pairings(pre, post), [101, 119, 215, 231, 249])
    np.testing.assert_array_equal(izh.pairings(np.zeros(0, np.int64), np.array([5, 30])), [])
    np.testing.assert_array_equal(izh.pairings(pre, np.zeros(0, np.int64)), [])


def test_closed_loop_finds_every_pairing_and_rewards_them(izh):
    """Chunked at 1 s and at each reward, the loop finds the pairings that the whole spike trains hold; the
    dopamine it releases moves the rewarded weight away from that of the same network left unrewarded."""
    runs = {}
    for reward in (True, False):
        model = izh.build(1)
        run = izh.simulate(model, DURATION, reward=reward, seed=1)
        runs[reward] = model, run
    model, run = runs[True]
    whole = izh.pairings(model.pre_spikes.steps, model.post_spikes.steps) * izh.DT / 1000.0
    np.testing.assert_array_equal(run["pairings"], whole)
    assert len(run["rewards"]) > 0

    rewarded, control = runs[True][0].weight, runs[False][0].weight
    first = int(run["rewards"][0])  # the weights agree, sample for sample, until the first reward
    np.testing.assert_array_equal(rewarded.values[:first + 1], control.values[:first + 1])
    assert not np.array_equal(rewarded.values, control.values)
    assert runs[False][1]["rewards"] == [] and len(runs[False][1]["pairings"]) > 0


def test_bad_input_is_refused(izh):
    pop = esnn.Population(3, izh.DistalRewardNeuron())
    with pytest.raises(ValueError, match="dt must be 1.0 ms"):
        esnn.Network(pop, dt=0.5).run(1.0)
    with pytest.raises(ValueError, match="duration_s must be >= 0 s, got -1"):
        izh.simulate(izh.build(1), -1.0)


def test_both_backends_give_the_same_network(izh):
    """The user neuron model and the R-STDP synapses, with a dopamine release, bit for bit on NumPy and Numba."""
    runs = []
    for backend in ("numba", "numpy"):
        model = izh.build(2, backend=backend)
        model.network.run(200.0)
        model.exc.deliver_dopamine(spikes=10.0)
        model.network.run(100.0)
        runs.append((np.array(model.exc.weight), model.network.spike_count))
    (w_numba, n_numba), (w_numpy, n_numpy) = runs
    assert n_numba == n_numpy > 100
    np.testing.assert_array_equal(w_numba, w_numpy)
    assert np.any(w_numba != 1.0)
