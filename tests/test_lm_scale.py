"""Language-model training at scale: the --json summary, token files (corpora larger than memory) and
data-parallel training over MPI (the MPI tests run ``mpiexec -n 2`` from the venv beside sys.executable)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from eventsnn import cli
from eventsnn.checkpoint import latest_checkpoint, load, save
from eventsnn.lm.data import Streams, document_pieces, encode_corpus, encode_pieces, load_corpus, text_pieces
from eventsnn.lm.parallel import Ranks
from eventsnn.lm.adapt import AdaptConfig
from eventsnn.lm.tokenfile import DATA_OFFSET, open_token_file, token_dtype, write_token_file
from eventsnn.lm.tokenizer import EOT, BPETokenizer, CharTokenizer
from eventsnn.lm.train import TrainConfig, Trainer, load_trainer

REPO = str(Path(__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
SMALL_MODEL = dict(d_embed=16, hidden=48, n_layers=2, memory=24, readout=32)
SETTINGS = dict(batch=8, seq_len=32, steps=60, warmup=5, eval_every=1000, eval_tokens=1024, lr=1e-2, save_every=500)


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


# ---------------------------------------------------------------- token files


def make_trainer(**settings) -> Trainer:
    return Trainer.create(TrainConfig.preset_config("tiny", **{**SETTINGS, **settings}), **SMALL_MODEL)


def assert_same_parameters(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for name, value in a.items():
        np.testing.assert_allclose(b[name], value, rtol=0, atol=atol, err_msg=name)


def test_training_from_the_token_file_equals_training_from_the_text(corpus, tmp_path):
    tokens = write_token_file(corpus, tmp_path / "corpus.tok")
    from_text, from_file = make_trainer(corpus=str(corpus)), make_trainer(data=str(tmp_path / "corpus.tok"))
    np.testing.assert_array_equal(tokens.tokens, encode_corpus(corpus.read_text("utf-8"), from_text.tokenizer))
    assert tokens.tokens.dtype == np.uint8 and tokens.tokenizer.to_dict() == from_text.tokenizer.to_dict()
    assert tokens.corpus_sha256 == from_text.digest == from_file.digest
    for run in (from_text, from_file):
        run.fit(until=3)
    assert_same_parameters(from_text.model.state_dict(), from_file.model.state_dict())
    assert from_file.streams.state_dict() == from_text.streams.state_dict()


def test_a_token_file_is_read_through_a_memory_map_whatever_the_corpus_size(corpus, tmp_path):
    """Nothing proportional to the corpus is allocated: the streams and the validation split stay memory
    maps, and a 30x larger corpus costs no more traced memory to open and train on."""
    text = corpus.read_text("utf-8")
    peaks = []
    for repeat in (1, 1, 30):  # the first warms up (first-call allocations)
        big = tmp_path / f"x{repeat}.txt"
        big.write_text(text * repeat, encoding="utf-8")
        write_token_file(big, tmp_path / f"x{repeat}.tok", force=True)
        tracemalloc.start()
        run = make_trainer(data=str(tmp_path / f"x{repeat}.tok"))
        run.train_step()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert len(text) * 30 * 8 > 4_000_000  # what an int64 copy of the large stream would take
    assert peaks[2] < peaks[1] + 500_000, peaks
    assert isinstance(run.streams.tokens, np.memmap) and isinstance(run.validation, np.memmap)
    assert run.streams.tokens.dtype == np.uint8


def test_cut_text_gives_the_whole_texts_tokenizer_and_tokens():
    """Cutting where data._cuttable allows changes neither the learned BPE vocabulary nor the ids."""
    text = load_corpus()[:60000]
    text = f"{text[:30000]}\n{EOT}\n{text[30000:]}  \n\n  trailing"
    blocks = [text[i:i + 777] for i in range(0, len(text), 777)]
    pieces = list(text_pieces(blocks, 500))
    assert len(pieces) > 50 and "".join(pieces) == text
    whole = BPETokenizer.train(text, 300)
    assert BPETokenizer.train(pieces, 300).to_dict() == whole.to_dict()
    assert CharTokenizer.train(pieces).to_dict() == CharTokenizer.train(text).to_dict()
    for tok in (whole, CharTokenizer.train(text)):
        cut = np.concatenate(list(encode_pieces(document_pieces(blocks, 300), tok)))
        np.testing.assert_array_equal(cut, encode_corpus(text, tok))


def whole_documents(text: str) -> list[str]:
    """The documents of ``text`` by their definition (lines of exactly <|endoftext|> separate them)."""
    docs, current = [], []
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == EOT:
            docs.append("".join(current))
            current = []
        else:
            current.append(line)
    return [d for d in [*docs, "".join(current)] if d]


PIECES = ["a", "bc", " ", "  ", "\n", "\r\n", "\r", "\t", "\u2028", "\x0c", "é", "1", "'s", "!", EOT, f"{EOT}\n"]


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    """BPE learned on text made of PIECES: it merges runs of white space, which a bad cut would split."""
    rng = np.random.default_rng(0)
    return BPETokenizer.train("".join(rng.choice(PIECES, 20000)), 400)


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.sampled_from(PIECES), max_size=60), cuts=st.lists(st.integers(1, 30), max_size=8),
       size=st.integers(1, 20))
def test_documents_cut_into_pieces_encode_as_whole_documents(bpe, parts, cuts, size):
    """Any text, read in any blocks, cut at any piece size: the pieces join to the documents, and
    character and BPE ids of the pieces are those of the whole documents."""
    text = "".join(parts)
    blocks, start = [], 0
    for cut in cuts:
        blocks.append(text[start:start + cut])
        start += cut
    blocks.append(text[start:])
    pieces = list(document_pieces(blocks, size))
    docs, current = [], ""
    for piece, ends in pieces:
        current += piece
        if ends:
            docs.append(current)
            current = ""
    assert current == "" and docs == whole_documents(text)
    assert "".join(text_pieces(blocks, size)) == text
    for tok in ([CharTokenizer.train(text)] if text else []) + [bpe]:
        expected = [np.append(tok.encode(doc), tok.eot_id) for doc in docs]
        got = list(encode_pieces(pieces, tok))
        np.testing.assert_array_equal(np.concatenate(got or [np.zeros(0, int)]),
                                      np.concatenate(expected or [np.zeros(0, int)]))


def test_a_run_refuses_another_corpus_or_tokenizer_in_a_token_file(corpus, tmp_path):
    run = make_trainer(corpus=str(corpus))
    run.fit(until=1)
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text("utf-8")[:-100], encoding="utf-8")
    write_token_file(other, tmp_path / "other.tok")
    write_token_file(corpus, tmp_path / "bpe.tok", tokenizer="bpe", bpe_vocab=300)
    for name, message in (("other.tok", "SHA-256 mismatch"), ("bpe.tok", "another tokenizer")):
        run.use_token_file(tmp_path / name)
        with pytest.raises(ValueError, match=message):
            run.train_step()
    same = write_token_file(corpus, tmp_path / "same.tok")
    run.use_token_file(same.path)  # the same tokens: the run continues where it was
    run.fit(until=2)
    assert run.streams.position == 2 * SETTINGS["seq_len"]
    save(run, tmp_path / "run.h5")
    run = load(tmp_path / "run.h5")
    assert run.tokens_digest == same.tokens_sha256  # the checkpoint records which tokens it read
    (tmp_path / "forged.tok").write_bytes(same.path.read_bytes().replace(same.tokens_sha256.encode(), b"0" * 64))
    run.use_token_file(tmp_path / "forged.tok")
    with pytest.raises(ValueError, match="holds other tokens than the file this run was trained on"):
        run.train_step()


def test_bad_token_files_and_tokenize_arguments_are_named(corpus, tmp_path, capsys):
    path = write_token_file(corpus, tmp_path / "c.tok").path
    data = path.read_bytes()
    for bad, message in ((data[:-10], "metadata"), (data[:1000], "truncated"), (b"hello" * 20, "EVSNNTOK"),
                         (data.replace(b'"count": ', b'"count": 1'), "truncated or corrupt")):
        (tmp_path / "bad.tok").write_bytes(bad)
        with pytest.raises(ValueError, match="token file .*bad.tok.*" + message):
            open_token_file(tmp_path / "bad.tok")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    for argv, message in (([str(corpus), str(path)], "exists; pass --force"),
                          ([str(tmp_path / "missing.txt"), str(tmp_path / "m.tok")], "is not a file"),
                          ([str(tmp_path / "empty.txt"), str(tmp_path / "e.tok")], "is empty")):
        assert cli.main(["tokenize", *argv]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "e.tok").exists() and not list(tmp_path.glob("*.tmp*"))
    assert cli.main(["tokenize", str(corpus), str(path), "--force"]) == 0
    assert cli.main(["train", "--data", str(path), "--corpus", str(corpus)]) == 2
    assert "--data reads a token file" in capsys.readouterr().err


def test_a_token_id_outside_the_vocabulary_is_refused_naming_the_file(corpus, tmp_path):
    tokens = write_token_file(corpus, tmp_path / "c.tok")
    data = bytearray(tokens.path.read_bytes())
    data[DATA_OFFSET + 1234] = 255  # uint8 ids of a vocabulary of fewer than 100 characters
    (tmp_path / "bad.tok").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"token file .*bad.tok.* is corrupt: token 1234 is id 255, outside its "
                                         f"{tokens.tokenizer.vocab_size}-token vocabulary"):
        open_token_file(tmp_path / "bad.tok")


@pytest.mark.parametrize("call, message", [
    (lambda: Ranks(FakeComm(0, 2)).columns(0), "batch must be >= 1, got 0"),
    (lambda: Ranks(FakeComm(0, 2)).columns("8"), "batch must be an integer, got '8'"),
    (lambda: token_dtype(0), "vocab_size must be >= 1, got 0"),
    (lambda: AdaptConfig(projections="hidden0"), "projections must be a sequence of projection keys, got the "
                                                 "string 'hidden0'"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_streams_of_the_ranks_together_are_the_whole_batch():
    tokens = np.arange(1000, dtype=np.uint16)
    whole = Streams(tokens, 8, 10)
    shares = [Streams(tokens, 8, 10, Ranks(FakeComm(rank, 4)).columns(8)) for rank in range(4)]
    rng = [np.random.default_rng(0) for _ in range(5)]
    for _ in range(15):  # across an epoch: every share draws the whole batch's shift
        x, y, new = whole.next(rng[0])
        parts = [s.next(r) for s, r in zip(shares, rng[1:])]
        np.testing.assert_array_equal(np.concatenate([p[0] for p in parts], axis=1), x)
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts], axis=1), y)
        assert x.dtype == np.int64 and all(p[2] == new for p in parts)
    with pytest.raises(ValueError, match="batch=8 must be a multiple of the number of MPI ranks \\(3\\)"):
        Ranks(FakeComm(0, 3)).columns(8)


class FakeComm:
    def __init__(self, rank: int, size: int):
        self.rank, self.size = rank, size

    def Get_rank(self) -> int:  # noqa: N802 -- mpi4py's names
        return self.rank

    def Get_size(self) -> int:  # noqa: N802
        return self.size


# ---------------------------------------------------------------- data-parallel training over MPI

MPIEXEC = Path(sys.executable).parent / "mpiexec"
needs_mpiexec = pytest.mark.skipif(not MPIEXEC.exists(), reason=f"no mpiexec beside {sys.executable} "
                                                                 "(pip install '.[mpi]' installs mpich)")
# DP_TOLERANCE: K ranks sum the gradient over the batch in another order than one process, so the
# parameters agree to float32 rounding (seen: 2.4e-7 after 5 steps), until a membrane lands within that
# rounding of its threshold and a spike flips (seen after 6-10 steps of this configuration).
DP_TOLERANCE = 1e-5

# Trains (fresh, from a corpus or token file, or resumed from a run directory) until a step, saving
# every `save_every` steps; rank 0 checks that every rank holds the same parameters and writes them.
DRIVER = """
import hashlib, json, sys
import numpy as np
from eventsnn.lm.train import TrainConfig, Trainer, load_trainer

source, run_dir, until, out, settings = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5])
if source == "resume":
    run = load_trainer(run_dir)
else:
    key = "data" if source.endswith(".tok") else "corpus"
    run = Trainer.create(TrainConfig.preset_config("tiny", **{key: source}, **settings["train"]), **settings["model"])
run.fit(until=until, run_dir=run_dir, handle_signals=True)
params = run.model.state_dict()
digests = run.ranks.gather(hashlib.sha256(b"".join(params[k].tobytes() for k in sorted(params))).hexdigest())
if run.ranks.rank == 0:
    assert len(set(digests)) == 1, digests
    np.savez(out, **params)
"""


def mpi_train(ranks: int, source: Path | str, run_dir: Path, until: int, out: Path, **settings) -> dict:
    settings = json.dumps({"train": {**SETTINGS, **settings}, "model": SMALL_MODEL})
    command = [sys.executable, "-c", DRIVER, str(source), str(run_dir), str(until), str(out), settings]
    if ranks > 1:
        command = [str(MPIEXEC), "-n", str(ranks), *command]
    subprocess.run(command, env=ENV, check=True, timeout=240)
    return dict(np.load(out))


@needs_mpiexec
def test_two_ranks_reading_a_token_file_train_as_one_process_on_the_text(corpus, tmp_path):
    write_token_file(corpus, tmp_path / "corpus.tok")
    parallel = mpi_train(2, tmp_path / "corpus.tok", tmp_path / "run", 4, tmp_path / "p.npz")
    single = make_trainer(corpus=str(corpus))
    start = single.model.state_dict()
    single.fit(until=4)
    assert_same_parameters(single.model.state_dict(), parallel, atol=DP_TOLERANCE)
    assert max(np.abs(parallel[k] - start[k]).max() for k in start) > 100 * DP_TOLERANCE  # it did train
    saved = load_trainer(tmp_path / "run")  # rank 0's checkpoint: positions and data RNG as one process's
    assert saved.step == 4 and saved.streams.state_dict() == single.streams.state_dict()
    assert saved.rng.bit_generator.state == single.rng.bit_generator.state
    for name, st in single.state.items():  # the carried state of the whole batch, gathered from both ranks
        for a, b in zip(st, saved.state[name]):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-4)


@needs_mpiexec
@pytest.mark.parametrize("first, then", [(2, 1), (1, 2)])
def test_a_run_resumes_on_another_number_of_ranks(tmp_path, first, then):
    """Across an epoch (state reset, a new random shift) and with the carried state handed from the
    first session's ranks to the second's."""
    short = tmp_path / "short.txt"
    short.write_text(load_corpus()[:1200], encoding="utf-8")  # 4 chunks of 32 per stream: epoch 1 from step 5
    mpi_train(first, short, tmp_path / "run", 3, tmp_path / "first.npz")
    resumed = mpi_train(then, "resume", tmp_path / "run", 6, tmp_path / "then.npz")
    straight = make_trainer(corpus=str(short))
    straight.fit(until=6)
    assert straight.streams.epoch == load_trainer(tmp_path / "run").streams.epoch == 1
    assert_same_parameters(straight.model.state_dict(), resumed, atol=DP_TOLERANCE)


@needs_mpiexec
def test_a_killed_mpi_run_resumes(tmp_path, corpus):
    run_dir = tmp_path / "run"
    settings = json.dumps({"train": {**SETTINGS, "save_every": 2}, "model": SMALL_MODEL})
    job = subprocess.Popen([str(MPIEXEC), "-n", "2", sys.executable, "-c", DRIVER, str(corpus), str(run_dir), "60",
                            str(tmp_path / "never.npz"), settings], env=ENV, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while latest_checkpoint(run_dir) is None:
            assert job.poll() is None and time.monotonic() < deadline, "no checkpoint was written"
            time.sleep(0.01)
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # mpiexec, its proxy and both ranks, at once
        job.wait()
    step = load_trainer(run_dir).step
    assert 2 <= step < 60
    until = min(step, 4) + 2  # a short check: beyond ~6 steps a spike may flip between 1 and 2 ranks
    if step > until - 2:
        pytest.skip(f"the run was killed only at step {step}")
    resumed = mpi_train(2, "resume", run_dir, until, tmp_path / "resumed.npz")
    straight = make_trainer(corpus=str(corpus))
    straight.fit(until=until)
    assert_same_parameters(straight.model.state_dict(), resumed, atol=DP_TOLERANCE)


@needs_mpiexec
def test_sigterm_stops_every_rank_and_rank_0_saves(tmp_path, corpus):
    run_dir, err_path = tmp_path / "run", tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        job = subprocess.Popen([str(MPIEXEC), "-n", "2", sys.executable, "-m", "eventsnn.cli", "train", "--corpus",
                                str(corpus), "--out", str(run_dir)], env=ENV, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 240
        while "loss=" not in err_path.read_text():
            assert job.poll() is None, err_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.05)
        job.send_signal(signal.SIGTERM)  # mpiexec passes it on to every rank
        assert job.wait(timeout=120) == 143, err_path.read_text()[-2000:]
    finally:
        job.kill()
    stderr = err_path.read_text()
    saved = latest_checkpoint(run_dir)
    assert "Traceback" not in stderr and stderr.count("stopped after step") == 1  # rank 0 alone speaks
    assert f"SIGTERM: stopped after step {load_trainer(saved).step}, saved {saved}" in stderr
    assert sorted(p.name for p in run_dir.iterdir()) == ["latest", saved.name]


@needs_mpiexec
def test_ranks_that_do_not_divide_the_batch_are_refused_and_every_rank_ends(tmp_path, corpus):
    job = subprocess.run([str(MPIEXEC), "-n", "3", sys.executable, "-m", "eventsnn.cli", "train", "--corpus",
                          str(corpus), "--out", str(tmp_path / "run")], env=ENV, capture_output=True, text=True,
                         timeout=120)
    assert job.returncode == 2, job.stderr
    assert ("eventsnn train: batch=32 must be a multiple of the number of MPI ranks (3): each rank trains "
            "batch / ranks of the global batch's streams") in job.stderr
    assert latest_checkpoint(tmp_path / "run") is None


@needs_mpiexec
def test_the_ranks_stop_together_at_rank_0s_time_limit(tmp_path, corpus):
    job = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, "-m", "eventsnn.cli", "train", "--corpus",
                          str(corpus), "--out", str(tmp_path / "run"), "--minutes", "0.02", "--json",
                          str(tmp_path / "summary.json")], env=ENV, capture_output=True, text=True, timeout=180)
    assert job.returncode == 0, job.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["ranks"] == 2 and 1 <= summary["step"] < 4000 and summary["tokens"] == summary["step"] * 32 * 64
    assert job.stdout.count(f"stopped at step {summary['step']} of 4000 after --minutes 0.02") == 1
    assert load_trainer(tmp_path / "run").step == summary["step"]


# ---------------------------------------------------------------- what one rank does, every rank learns

# Every rank: (1) a save_step whose write fails on rank 0 (a full disk) raises the same error on every
# rank and leaves no `latest`; (2) a save_step that succeeds is on disk when any rank returns; (3) a
# tokenize writes once (rank 0) and the others wait for it; (4) --json is written by rank 0 alone; (5) a
# fresh run takes rank 0's tokenizer even where another rank would learn a different one.
RANK_GUARDS = """
import errno, hashlib, json, sys
from pathlib import Path
import eventsnn.checkpoint.hdf5 as hdf5
from eventsnn import cli
from eventsnn.checkpoint import latest_checkpoint, save_step
from eventsnn.errors import CheckpointWriteError
from eventsnn.lm import train
from eventsnn.lm.tokenizer import CharTokenizer
from eventsnn.mpi import rank

tmp, corpus, settings = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
if rank() == 1:  # rank 0 learns the tokenizer in the create below; rank 1 would learn another
    train.train_tokenizer = lambda kind, text, vocab: CharTokenizer(["a", "b"])
run = train.Trainer.create(train.TrainConfig.preset_config("tiny", corpus=corpus, **settings["train"]),
                           **settings["model"])
vocab = run.ranks.gather(json.dumps(run.tokenizer.to_dict()))
real = hdf5.atomic_write
if rank() == 0:
    def full(path, write):
        raise CheckpointWriteError(f"cannot write {path}: no space left on device", errno.ENOSPC)
    hdf5.atomic_write = full
try:
    save_step(run, tmp / "run", 1)
    failed = "no error"
except CheckpointWriteError as err:
    failed = f"{type(err).__name__} {err.errno}: {err}"
hdf5.atomic_write = real
path = save_step(run, tmp / "run", 2)
seen = latest_checkpoint(tmp / "run") == path
status = cli.main(["tokenize", corpus, str(tmp / "c.tok")])
cli._write_json(str(tmp / "summary.json"), {"rank": rank()})
outcome = run.ranks.gather([failed, seen, status])
if rank() == 0:
    (tmp / "out.json").write_text(json.dumps({"outcome": outcome, "same_vocab": len(set(vocab)) == 1}))
"""


@needs_mpiexec
def test_rank_0s_writes_and_errors_reach_every_rank(corpus, tmp_path):
    settings = json.dumps({"train": SETTINGS, "model": SMALL_MODEL})
    job = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, "-c", RANK_GUARDS, str(tmp_path), str(corpus),
                          settings], env=ENV, capture_output=True, text=True, timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    found = json.loads((tmp_path / "out.json").read_text())
    assert found["same_vocab"]
    (zero, one) = found["outcome"]
    assert zero == one, found
    assert zero[0].startswith("CheckpointWriteError 28: cannot write") and "holds no good checkpoint" in zero[0]
    assert zero[1:] == [True, 0]
    assert job.stdout.count("wrote") == 2  # the token file and the JSON, once each
    assert json.loads((tmp_path / "summary.json").read_text()) == {"rank": 0}
    assert open_token_file(tmp_path / "c.tok").tokens.size > 0


CRASH = """
import sys
from eventsnn import cli
from eventsnn.mpi import rank, world

def crash(args):
    if rank() == 1:
        raise RuntimeError("a bug on rank 1")
    world().barrier()  # rank 0 waits for rank 1 in a collective
    return 0

cli._presets = crash
sys.exit(cli.main(["presets"]))
"""


@needs_mpiexec
def test_an_unexpected_error_on_one_rank_ends_every_rank(tmp_path):
    job = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, "-c", CRASH], env=ENV, capture_output=True,
                         text=True, timeout=60)
    assert job.returncode != 0
    assert "eventsnn presets: rank 1 failed: RuntimeError: a bug on rank 1" in job.stderr
