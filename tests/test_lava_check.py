"""eventsnn.lava: the check command against Lava, runs without monitors, chain files, and bad input."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from _lava import lava_python  # noqa: F401  (a fixture)

from eventsnn import lava
from eventsnn.lava.check import check, first_difference, random_chain, table
from eventsnn.loihi.fixed_point import DenseParams, LIFParams, LIFState, run_layers
from _examples import load_example


def test_the_check_command_finds_every_case_identical(lava_python, tmp_path):
    out = tmp_path / "check.json"
    done = subprocess.run([lava_python, "-m", "eventsnn.lava.check", "--cases", "4", "--steps", "15", "--seed", "7",
                           "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["cases"] == 4 and result["steps"] == 15 and result["seed"] == 7
    for counts in (result, result["reference"]["numpy"], result["reference"]["numba"]):
        assert [counts[f"identical_{f}"] for f in ("spikes", "u", "v")] == [4, 4, 4]
    assert "simulator (network_from_layers, numba)" in done.stdout and "4/4" in done.stdout


def test_without_monitors_lava_gives_the_last_state(lava_python):
    chains = [random_chain(seed, 12) for seed in (3, 4)]
    for chain, traces in zip(chains, lava.run_in_subprocess(chains, monitor=False, python=lava_python)):
        for ours, theirs in zip(run_layers(*chain), traces):
            np.testing.assert_array_equal(ours.spikes, theirs.spikes)
            np.testing.assert_array_equal(ours.u[-1:], theirs.u)
            np.testing.assert_array_equal(ours.v[-1:], theirs.v)


def test_a_difference_is_found_and_reported():
    chain = random_chain(0, 10)
    ours = run_layers(*chain)
    changed = [t._replace(v=t.v.copy()) for t in ours]
    changed[1].v[6, 0] += 1
    assert first_difference(ours, ours) is None
    expected = f"layer 1 v at step 7, neuron 0: {changed[1].v[6, 0]} vs {ours[1].v[6, 0]}"
    assert first_difference(changed, ours) == expected
    result = {"cases": 1, "steps": 10, "seed": 0, "identical_spikes": 1, "identical_u": 1, "identical_v": 0,
              "reference": {"numpy": {"identical_spikes": 1, "identical_u": 1, "identical_v": 1},
                            "numba": {"identical_spikes": 1, "identical_u": 1, "identical_v": 1}},
              "first_differences": {"simulator": {0: "layer 1 v ..."}, "numpy": {}, "numba": {}},
              "seconds": {"lava": 1.0, "simulator": 1.0, "numpy": 1.0, "numba": 1.0}}
    text = table(result)
    assert "0/1" in text and "simulator, seed 0: first difference layer 1 v" in text


def test_chains_survive_their_file(tmp_path):
    chains = [random_chain(seed, 9) for seed in range(6)]
    lava.save_chains(tmp_path / "c", chains)
    for chain, loaded in zip(chains, lava.load_chains(tmp_path / "c")):
        assert first_difference(run_layers(*chain), run_layers(*loaded)) is None
        assert [d.sign_mode for d, _ in chain.layers] == [d.sign_mode for d, _ in loaded.layers]
    runs = [run_layers(*chain) for chain in chains]
    lava.save_traces(tmp_path / "t", runs)
    for ours, loaded in zip(runs, lava.load_traces(tmp_path / "t")):
        assert first_difference(ours, loaded) is None


def test_missing_lava_names_the_install_script(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name.startswith("lava") else real(name, *args))
    with pytest.raises(ImportError, match="scripts/install_lava.py"):
        lava.require_lava()
    with pytest.raises(ImportError, match="scripts/install_lava.py"):
        lava.to_lava(np.ones((3, 1), bool), [(DenseParams(np.ones((1, 1), np.int64)), LIFParams())])


@pytest.mark.parametrize("args, name", [
    ((np.full((3, 2), 0.5), "ok"), "inputs"), ((np.ones((0, 2), bool), "ok"), "inputs"),
    ((np.ones((3, 2), bool), []), "layers"), ((np.ones((3, 2), bool), [(DenseParams(np.ones((1, 3), np.int64)),
                                                                         LIFParams())]), "columns"),
    ((np.ones((3, 2), bool), [(DenseParams(np.ones((1, 2), np.int64)), LIFParams(vth=-1))]), "vth"),
    ((np.ones((3, 2), bool), [(DenseParams(np.ones((1, 2))), LIFParams())]), "weights"),
    ((np.ones((3, 2), bool), [(DenseParams(np.ones((1, 2), np.int64)), LIFParams())], [LIFState.initial(2)]),
     "states"),
])
def test_bad_chains_name_the_parameter(args, name):
    inputs, layers, *states = args
    if layers == "ok":
        layers = [(DenseParams(np.ones((1, 2), np.int64)), LIFParams())]
    for call in (lambda: lava.to_lava(inputs, layers, *states), lambda: lava.check_chain(inputs, layers, *states),
                 lambda: lava.run_in_subprocess([lava.Chain(inputs, layers, *states)])):
        with pytest.raises(ValueError, match=name):
            call()


@pytest.mark.parametrize("kwargs, name", [(dict(cases=0, steps=5, seed=0), "cases"),
                                          (dict(cases=1, steps=0, seed=0), "steps"),
                                          (dict(cases=1, steps=5, seed=-1), "seed")])
def test_bad_check_settings_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        check(**kwargs)
    with pytest.raises(ValueError, match="chains"):
        lava.run_in_subprocess([])


def test_the_digits_example_predicts_as_lava_does(lava_python):
    """examples/digits_to_loihi.py, small, with 6 test images in Lava: same classes, identical runs."""
    pytest.importorskip("sklearn")
    example = load_example("digits_to_loihi")
    result = example.run(hidden=32, epochs=2, steps=12, seed=2, lava_images=6)
    assert result["lava_images"] == 6 and result["lava_agreement"] == 1.0 and result["lava_identical_runs"] == 6
