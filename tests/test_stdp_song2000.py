"""examples/stdp_song2000.py on a short run: its JSON holds what the issue asks for, with values that make sense."""
import importlib.util
import json

import numpy as np
import pytest

from _examples import load_example

DURATION = 3.0  # simulated seconds: long enough for STDP to move the weights, short for the test suite


@pytest.fixture(scope="module")
def song():
    return load_example("stdp_song2000")


def test_short_run_writes_the_summary(song, tmp_path):
    out, png = tmp_path / "song.json", tmp_path / "song.png"
    returned = song.main(["--duration", str(DURATION), "--seed", "2", "--json", str(out), "--plot", str(png)])
    result = json.loads(out.read_text())
    assert result == json.loads(json.dumps(returned))
    assert png.exists() == (importlib.util.find_spec("matplotlib") is not None)

    assert result["window_s"] == DURATION / 2 and result["duration_s"] == DURATION
    per_second = np.array(result["rate_per_second_hz"])
    assert per_second.size == 3 and per_second.sum() == result["output_spikes"]
    assert (result["rate_first_hz"] + result["rate_last_hz"]) * result["window_s"] == \
        pytest.approx(result["output_spikes"])
    assert 5.0 < result["rate_first_hz"] < 100.0  # 1000 inputs at 15 Hz drive the neuron, as in Brian2's example

    w = np.array(result["final_weights"])
    gmax = result["gmax"]
    assert w.size == 1000 and w.min() >= 0.0 and w.max() <= gmax
    w0 = np.random.default_rng(2).uniform(0.0, gmax, 1000)  # the example's initial weights
    assert np.abs(w - w0).mean() > 0.01 * gmax  # STDP moved them
    counts = np.array(result["weight_histogram"]["counts"])
    assert counts.sum() == 1000 and len(result["weight_histogram"]["edges_over_gmax"]) == counts.size + 1
    assert result["fraction_near_zero"] == counts[0] / 1000 and result["fraction_near_max"] == counts[-1] / 1000
    assert result["mean_weight_over_gmax"] == pytest.approx(w.mean() / gmax)
    assert result["bimodal"] is False  # 3 s are too short for the weights to split

    trace_t, trace_w = np.array(result["trace_t_ms"]), np.array(result["trace_w"])
    assert trace_w.shape == (trace_t.size, 2) and trace_t.size >= DURATION * 1000 / song.TRACE_EVERY
    np.testing.assert_allclose(trace_w[0], w0[:2])  # the first sample is the initial weight of synapses 0 and 1


def test_summary_of_known_spikes_and_weights(song):
    """Rates counted in the right windows; a U-shaped weight distribution is bimodal, a flat one is not."""
    gmax, per_s = song.GMAX, int(round(1000.0 / song.DT))
    steps = np.array([0, 5, per_s - 1, per_s, 3 * per_s + 7, 4 * per_s - 1])  # 3, 1, 0, 2 spikes in seconds 0..3
    u_shape = np.concatenate([np.zeros(300), np.full(250, gmax), np.linspace(0.2, 0.8, 450) * gmax])
    sim = {"spike_steps": steps, "weights": u_shape, "trace_t_ms": np.zeros(0), "trace_w": np.zeros((0, 2)),
           "wall_s": 1.0}
    result = song.summarise(sim, 4.0)
    assert result["rate_per_second_hz"] == [3.0, 1.0, 0.0, 2.0]
    assert (result["rate_first_hz"], result["rate_last_hz"]) == (2.0, 1.0)  # 4 and 2 spikes in 2 s windows
    assert (result["fraction_near_zero"], result["fraction_near_max"]) == (0.3, 0.25)
    assert result["bimodal"] is True
    flat = song.summarise({**sim, "weights": np.linspace(0.0, gmax, 1000)}, 4.0)
    assert flat["bimodal"] is False and flat["fraction_near_zero"] == 0.1
