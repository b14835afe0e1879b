"""Package hygiene: what each import loads, the hypothesis message, and the language model's one topology."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from eventsnn.checkpoint import save
from eventsnn.lm.config import LMConfig
from eventsnn.lm.engine import InferenceLM, load_inference
from eventsnn.lm.model import SpikingLM
from eventsnn.lm.tokenizer import CharTokenizer
from eventsnn.lm.train import TrainConfig, Trainer

TRAINING_CODE = ("eventsnn.autodiff", "eventsnn.nn", "eventsnn.lm.model", "eventsnn.lm.train")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def assert_runs(code: str) -> str:
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def training_run(tmp_path_factory):
    """A small saved training run (never trained: its weights are the initial ones) and its model, tokenizer."""
    tokenizer = CharTokenizer.train("To be, or not to be: that is the question.\n")
    model = SpikingLM(LMConfig(vocab_size=tokenizer.vocab_size, d_embed=8, hidden=24, n_layers=3, memory=12,
                               readout=10, steps_per_token=2, neuron="alif", threshold=0.3), seed=3)
    run = Trainer(TrainConfig(), model, tokenizer, digest="0" * 64)
    return save(run, tmp_path_factory.mktemp("run") / "run.h5"), model, tokenizer


def test_import_eventsnn_loads_neither_the_language_model_nor_the_training_stack():
    assert_runs("import eventsnn, sys; assert 'eventsnn.lm' not in sys.modules")
    assert_runs(f"import eventsnn, sys; loaded = [m for m in {TRAINING_CODE!r} if m in sys.modules]; "
                "assert not loaded, loaded")


def test_lazy_subpackages_and_names_load_on_first_use():
    out = assert_runs("import eventsnn, sys\n"
                      "print(eventsnn.lm.SpikingLM.__module__, eventsnn.nn.Linear.__module__, "
                      "eventsnn.autodiff.__name__, 'eventsnn.lm.train' in sys.modules)\n"
                      "from eventsnn.lm import *\n"
                      "print(Trainer.__module__)")
    assert out.split() == ["eventsnn.lm.model", "eventsnn.nn.layers", "eventsnn.autodiff", "False", "eventsnn.lm.train"]
    import eventsnn

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        eventsnn.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        eventsnn.lm.nope  # noqa: B018


def test_eventsnn_lm_generate_stays_the_function_whichever_import_comes_first():
    for first in ("import eventsnn.lm.generate", "from eventsnn.lm import generate"):
        out = assert_runs(f"{first}\nimport eventsnn.lm as lm\nimport eventsnn.lm.generate\n"
                          "print(type(lm.generate).__name__, type(lm.sample).__name__)")
        assert out.split() == ["function", "function"]


def test_generation_from_a_training_run_or_an_export_imports_no_training_code(training_run, tmp_path):
    path, model, tokenizer = training_run
    export = save(InferenceLM.from_model(model, "int8", tokenizer), tmp_path / "x.h5")
    for checkpoint in (path, export):
        out = assert_runs(
            "import sys\n"
            "from eventsnn.cli import main\n"
            f"assert main(['generate', '--checkpoint', {str(checkpoint)!r}, '--prompt', 'To', '--max-tokens', '5',"
            " '--engine', 'dense']) == 0\n"
            f"loaded = [m for m in {TRAINING_CODE!r} if m in sys.modules]\n"
            "assert not loaded, loaded\n")
        assert out.startswith("To")


def test_load_inference_of_a_training_run_equals_the_export_of_its_model(training_run):
    path, model, _ = training_run
    for precision in ("float32", "int8"):
        direct = InferenceLM.from_model(model, precision)._arrays()
        loaded = load_inference(path, precision)._arrays()
        assert direct.keys() == loaded.keys()
        for name, array in direct.items():
            assert array.dtype == loaded[name].dtype
            np.testing.assert_array_equal(loaded[name], array, err_msg=name)


def test_eventsnn_load_finds_the_language_model_kinds_in_a_fresh_process(training_run, tmp_path):
    path, model, _ = training_run
    export = save(InferenceLM.from_model(model), tmp_path / "x.h5")
    out = assert_runs(f"import eventsnn; print(type(eventsnn.load({str(path)!r})).__name__, "
                      f"type(eventsnn.load({str(export)!r})).__name__)")
    assert out.split() == ["Trainer", "InferenceLM"]


def test_testing_module_names_the_missing_hypothesis():
    result = run_python(
        "import sys\n"
        "class NoHypothesis:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'hypothesis':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoHypothesis())\n"
        "import eventsnn.testing\n")
    assert result.returncode != 0
    assert "ImportError: eventsnn.testing needs hypothesis: pip install 'eventsnn[dev]'" in result.stderr


@pytest.mark.parametrize("config", [
    LMConfig(vocab_size=7, d_embed=3, hidden=5, n_layers=1, memory=4, readout=6),
    LMConfig(vocab_size=11, d_embed=4, hidden=6, n_layers=4, memory=3, readout=5, steps_per_token=3, neuron="alif"),
])
def test_the_topology_describes_the_training_model(config):
    model = SpikingLM(config)
    topology = model.topology
    assert {n: p.shape for n, p in topology.parameters().items()} == {n: p.shape for n, p in model.named_parameters()}
    assert [(p.name, p.size) for p in topology.populations] == [(n, p.size) for n, p in model.populations.items()]
    names = [p.name for p in topology.populations]
    assert names == ["block.0", "memory", *(f"block.{l}" for l in range(1, config.n_layers))]
    layers = dict(model.named_parameters())
    for p in topology.projections:
        # sources run before their targets within a sub-step; spike-driven layers run event-driven
        if p.source in names and p.target in names:
            assert names.index(p.source) < names.index(p.target)
        assert layers[f"{p.module}.weight"].shape == (p.fan_in, p.fan_out)
    events = {p.module: p.spiking for p in topology.projections}
    assert events == {name: layer.event for name, layer in _linear_layers(model)}


def _linear_layers(model: SpikingLM):
    """(dotted name, Linear) of every linear layer of ``model``."""
    from eventsnn.nn import Linear, Module

    def walk(module: Module, prefix: str):
        for name, child in module.children():
            if isinstance(child, Linear):
                yield prefix + name, child
            else:
                yield from walk(child, prefix + name + ".")

    return list(walk(model, ""))
