"""Language-model training at scale: the --json summary, token files (corpora larger than memory) and
data-parallel training over MPI (the MPI tests run ``mpiexec -n 2`` from the venv beside sys.executable)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventsnn import cli
from eventsnn.lm.data import load_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "shakespeare.txt"
    path.write_text(load_corpus()[:20000], encoding="utf-8")
    return path


def test_train_json_summary(corpus, tmp_path):
    out = tmp_path / "summary.json"
    assert cli.main(["train", "--corpus", str(corpus), "--steps", "2", "--out", str(tmp_path / "run"),
                     "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["steps"] == summary["step"] == 2 and summary["ranks"] == 1
    assert summary["tokens"] == 2 * 32 * 64
    assert summary["tokens_per_s"] == pytest.approx(summary["tokens"] / summary["seconds"])
    assert 0 < summary["seconds"] <= summary["wall_seconds"]
    assert summary["train_loss"] > 0 and summary["val_loss"] > 0
