"""The HDF5 checkpoint layer: exact round trips, atomic writes, strict loading."""
from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from eventsnn.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    Snapshot,
    checkpointable,
    expect_arrays,
    inspect,
    latest_checkpoint,
    load,
    load_snapshot,
    pack_rng,
    resolve_checkpoint,
    save,
    save_snapshot,
    save_step,
    unpack_rng,
)
from eventsnn.errors import CheckpointError


@checkpointable("tests.TwoLayer")
class TwoLayer:
    """A toy trainable spiking model holding every kind of checkpoint state."""

    def __init__(self, sizes: list[int], seed: int = 0):
        self.sizes = list(sizes)
        self.rng = np.random.default_rng(seed)
        self.params = {n: self.rng.standard_normal(s).astype(d) for n, (s, d) in self.layout(sizes).items()}
        self.moments = {n: np.zeros_like(p) for n, p in self.params.items()}
        self.step = 0
        self.losses: list[float] = []
        self.membrane = np.zeros(sizes[-1])

    @staticmethod
    def layout(sizes: list[int]) -> dict:
        shapes = {}
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            shapes[f"fc{i}.weight"] = ((a, b), np.float32)
            shapes[f"fc{i}.bias"] = ((b,), np.float32)
        return shapes

    def train_step(self) -> None:
        h = self.rng.standard_normal(self.sizes[0]).astype(np.float32)
        for i in range(len(self.sizes) - 1):
            h = np.tanh(h @ self.params[f"fc{i}.weight"] + self.params[f"fc{i}.bias"])
        loss = float(np.mean(h**2))
        for name, p in self.params.items():
            grad = loss * self.rng.standard_normal(p.shape).astype(np.float32)  # stand-in gradient
            self.moments[name] = 0.9 * self.moments[name] + 0.1 * grad
            p -= 0.01 * self.moments[name]
        self.step += 1
        self.losses.append(loss)
        self.membrane = 0.9 * self.membrane + h

    def checkpoint_state(self) -> Snapshot:
        return Snapshot(
            "tests.TwoLayer",
            {"sizes": self.sizes},
            dict(self.params),
            {
                "optimizer": {"step": self.step, "m": dict(self.moments)},
                "rng": pack_rng(self.rng),
                "history": {"loss": np.array(self.losses, dtype=np.float64)},
                "dynamic": {"membrane": self.membrane},
            },
        )

    @classmethod
    def from_checkpoint(cls, snap: Snapshot) -> TwoLayer:
        sizes = snap.config["sizes"]
        layout = cls.layout(sizes)
        expect_arrays(snap.parameters, layout)
        expect_arrays(snap.groups["optimizer"]["m"], layout, where="/optimizer/m")
        obj = cls.__new__(cls)
        obj.sizes = sizes
        obj.params = dict(snap.parameters)
        obj.moments = dict(snap.groups["optimizer"]["m"])
        obj.step = snap.groups["optimizer"]["step"]
        obj.rng = unpack_rng(snap.groups["rng"])
        obj.losses = snap.groups["history"]["loss"].tolist()
        dynamic = snap.groups.get("dynamic", {"membrane": np.zeros(sizes[-1])})
        expect_arrays(dynamic, {"membrane": ((sizes[-1],), np.float64)}, where="/dynamic")
        obj.membrane = dynamic["membrane"]
        return obj


def assert_same(a, b) -> None:
    """Exact equality: same types, dtypes, bytes, key order; floats by repr (NaN, -0.0)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert (a.dtype.str, a.shape, a.tobytes()) == (b.dtype.str, b.shape, b.tobytes())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float):
        assert repr(a) == repr(b)
    else:
        assert a == b


def assert_same_snapshot(a: Snapshot, b: Snapshot) -> None:
    assert a.kind == b.kind
    assert_same(a.config, b.config)
    assert_same(a.parameters, b.parameters)
    assert_same(a.groups, b.groups)


@pytest.fixture
def trained(tmp_path: Path) -> tuple[TwoLayer, Path]:
    model = TwoLayer([4, 6, 3], seed=7)
    for _ in range(3):
        model.train_step()
    return model, save(model, tmp_path / "model.h5")


# ------------------------------------------------------------ round trips


def test_resumed_training_continues_bit_for_bit(trained):
    model, path = trained
    resumed = load(path)
    for _ in range(4):
        model.train_step()
        resumed.train_step()
    assert_same_snapshot(resumed.checkpoint_state(), model.checkpoint_state())


def test_file_is_self_describing_to_plain_h5py(trained):
    model, path = trained
    with h5py.File(path, "r") as f:
        assert f.attrs["format"].decode() == FORMAT and f.attrs["format_version"] == FORMAT_VERSION
        assert f.attrs["kind"].decode() == "tests.TwoLayer"
        assert json.loads(f.attrs["config"]) == {"sizes": [4, 6, 3]}
        weight = f["parameters/fc0.weight"]
        assert (weight.shape, weight.dtype, weight.compression) == ((4, 6), np.float32, "gzip")
        assert weight.fletcher32 and "crc32" in weight.attrs
        np.testing.assert_array_equal(weight[()], model.params["fc0.weight"])
        assert json.loads(f["optimizer/step"][()]) == 3
        assert f["history/loss"].shape == (3,)
        assert json.loads(f["rng/state/state"][()]) == model.rng.bit_generator.state["state"]["state"]


def test_save_can_leave_out_dynamic_state(tmp_path):
    model = TwoLayer([2, 3])
    model.train_step()
    path = save(model, tmp_path / "m.h5", dynamic=False)
    assert "dynamic" not in load_snapshot(path).groups
    assert not load(path).membrane.any()


def test_save_overwrites_atomically_and_leaves_no_temporary_files(trained):
    model, path = trained
    model.train_step()
    save(model, path)
    assert [p.name for p in path.parent.iterdir()] == ["model.h5"]
    assert load(path).step == 4


@pytest.mark.parametrize(
    "snap, message",
    [
        (Snapshot("k", {"sizes": (1, 2)}), "config.sizes"),
        (Snapshot("k", {}, {"w": [1.0]}), "/parameters/w"),
        (Snapshot("k", {}, {"w": np.array(["text"])}), "/parameters/w: dtype"),
        (Snapshot("k", {}, {"a/b": np.zeros(1)}), "'a/b'"),
        (Snapshot("k", {}, {}, {"opt": {"step": np.int64(3)}}), "/opt/step"),
        (Snapshot("k", {}, {}, {"history": {"loss": [1.0, np.bool_(True)]}}), "/history/loss[1]"),
        (Snapshot("k", {}, {}, {"opt": {"x": np.array([None])}}), "/opt/x: dtype object"),
        (Snapshot("k", {}, {}, {"parameters": {}}), "parameters"),
        (Snapshot("", {}), "kind"),
        (Snapshot("k", {}, {"\ud800": np.zeros(1)}), "UTF-8"),
    ],
)
def test_save_refuses_what_it_cannot_store_exactly(tmp_path, snap, message):
    (tmp_path / "old.h5").write_bytes(b"previous")
    with pytest.raises(ValueError, match=re.escape(message)):
        save_snapshot(snap, tmp_path / "old.h5")
    assert [p.name for p in tmp_path.iterdir()] == ["old.h5"]
    assert (tmp_path / "old.h5").read_bytes() == b"previous"


def test_save_refuses_an_unregistered_class(tmp_path):
    class Unregistered(TwoLayer):
        pass

    with pytest.raises(ValueError, match="not registered"):
        save(Unregistered([1, 1]), tmp_path / "x.h5")


@pytest.mark.parametrize("call, message", [
    (lambda d: save("x", d / "x.h5"), "obj must be a checkpointable object .*got 'x'"),
    (lambda d: save(TwoLayer([1, 1]), None), "path must be a file system path .*got None"),
    (lambda d: save(TwoLayer([1, 1]), d / "x.h5", dynamic="no"), "dynamic must be True or False, got 'no'"),
    (lambda d: save_step(TwoLayer([1, 1]), d / "run", 1, dynamic=0), "dynamic must be True or False, got 0"),
    (lambda d: save_step(TwoLayer([1, 1]), 3, 1), "run_dir must be a file system path .*got 3"),
    (lambda d: latest_checkpoint(save(TwoLayer([1, 1]), d / "x.h5")), "run_dir must be a run directory, got .*x.h5"),
])
def test_save_arguments_are_checked_by_name(tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] in ([], ["x.h5"])


def test_registry_refuses_a_second_class_for_a_kind():
    with pytest.raises(ValueError, match="already registered"):
        checkpointable("tests.TwoLayer")(type("Other", (TwoLayer,), {}))
    with pytest.raises(TypeError, match="checkpoint_state"):
        checkpointable("tests.Bare")(type("Bare", (), {}))


# ------------------------------------------------------------ strict loading


def _flip_bytes_in_chunk(path: Path, dataset: str) -> None:
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as raw:
        raw.seek(offset + 20)
        data = raw.read(4)
        raw.seek(offset + 20)
        raw.write(bytes(b ^ 0xFF for b in data))


def _edit(dataset: str, value) -> callable:
    """Change a dataset's data through h5py without updating its checksum."""

    def edit(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            f[dataset][...] = value

    return edit


def _with_h5(action) -> callable:
    def edit(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            action(f)

    return edit


def _resave(change) -> callable:
    """Re-save the snapshot after ``change`` mutates it (bypassing the class)."""

    def edit(path: Path) -> None:
        snap = load_snapshot(path)
        change(snap)
        save_snapshot(snap, path)

    return edit


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "not a readable HDF5 file"),
        (lambda p: p.write_text("sizes: [4, 6, 3]\n"), "not a readable HDF5 file"),
        (lambda p: _flip_bytes_in_chunk(p, "parameters/fc0.weight"), "/parameters/fc0.weight: data cannot be read"),
        (_edit("parameters/fc0.bias", np.ones(6, np.float32)), "/parameters/fc0.bias: checksum mismatch"),
        (_edit("optimizer/step", "4"), "/optimizer/step: checksum mismatch"),
        (_with_h5(lambda f: f.attrs.modify("format_version", 2)), "newer"),
        (_with_h5(lambda f: f.attrs.modify("format", "hdf5-something")), "foreign"),
        (_with_h5(lambda f: f.attrs.create("comment", "hi")), "root attributes"),
        (_with_h5(lambda f: f.attrs.modify("config", "[1, 2]")), "JSON object"),
        (_with_h5(lambda f: f.attrs.modify("kind", "os.system")), "unknown kind 'os.system'"),
        (_with_h5(lambda f: f["parameters/fc0.bias"].attrs.__delitem__("crc32")), "/parameters/fc0.bias: expected"),
        (_with_h5(lambda f: f["history"].create_dataset("v", data=["a"], dtype=h5py.string_dtype())), "/history/v: unsupported dtype"),
        (_with_h5(lambda f: f["history"].__setitem__("alias", h5py.SoftLink("/history/loss"))), "/history/alias: links"),
        (_with_h5(lambda f: f["history"].__setitem__("ext", h5py.ExternalLink("/etc/passwd", "/"))), "/history/ext: links"),
        (_with_h5(lambda f: f["parameters"].__delitem__("fc1.bias")), "missing /parameters/fc1.bias"),
        (_with_h5(lambda f: f["optimizer/m"].__delitem__("fc0.weight")), "missing /optimizer/m/fc0.weight"),
        (_resave(lambda s: s.parameters.update(extra=np.zeros(2))), "unexpected /parameters/extra"),
        (_resave(lambda s: s.parameters.update({"fc0.weight": np.zeros((6, 4), np.float32)})), "/parameters/fc0.weight: shape (6, 4)"),
        (_resave(lambda s: s.parameters.update({"fc0.bias": np.zeros(6)})), "/parameters/fc0.bias: dtype float64"),
        (_resave(lambda s: s.groups["dynamic"].update(membrane=np.zeros(4))), "/dynamic/membrane: shape"),
        (_resave(lambda s: s.groups["rng"].update(bit_generator="Evil")), "/rng/bit_generator: unknown"),
        (_resave(lambda s: s.config.update(sizes=[4, 6, 3, 1])), "missing /parameters/fc2.weight"),
    ],
)
def test_load_refuses_what_it_does_not_understand(trained, damage, message):
    _, path = trained
    damage(path)
    with pytest.raises(CheckpointError) as info:
        load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_every_flipped_byte_and_every_truncation_is_caught_or_harmless(trained, tmp_path):
    _, path = trained
    original, data = load_snapshot(path), path.read_bytes()
    damaged = tmp_path / "damaged.h5"
    for offset in range(0, len(data), 11):
        flipped = bytearray(data)
        flipped[offset] ^= 0x5A
        damaged.write_bytes(flipped)
        try:
            snap = load_snapshot(damaged)
        except CheckpointError:
            continue
        assert_same_snapshot(snap, original)  # the byte was unused padding
    for length in range(0, len(data), 97):
        damaged.write_bytes(data[:length])
        with pytest.raises(CheckpointError):
            load_snapshot(damaged)


def test_missing_file_is_not_a_checkpoint_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.h5")


def test_expect_arrays_allows_free_axes():
    arrays = {"queue": np.zeros((5, 2), np.int32)}
    expect_arrays(arrays, {"queue": ((None, 2), np.int32)}, where="/dynamic")
    with pytest.raises(CheckpointError, match=r"/dynamic/queue: shape \(5, 2\)"):
        expect_arrays(arrays, {"queue": ((None, 3), np.int32)}, where="/dynamic")


# ------------------------------------------------------------ run directories


def test_save_step_keeps_the_last_k_and_points_latest(tmp_path):
    run = tmp_path / "run"
    assert latest_checkpoint(run) is None
    model = TwoLayer([2, 2])
    run.mkdir()
    (run / "step_000001.h5.tmpdead").write_bytes(b"left by a killed save")
    for step in range(1, 6):
        model.train_step()
        save_step(model, run, step, keep=2)
    assert sorted(p.name for p in run.iterdir()) == ["latest", "step_000004.h5", "step_000005.h5"]
    assert latest_checkpoint(run) == run / "step_000005.h5"
    assert load(latest_checkpoint(run)).step == 5


@pytest.mark.parametrize("pointer", ["../../etc/passwd", "step_000009.h5"])
def test_latest_pointer_must_name_an_existing_step_file(tmp_path, pointer):
    (tmp_path / "latest").write_text(pointer)
    with pytest.raises(CheckpointError, match="latest"):
        latest_checkpoint(tmp_path)


def test_resolving_a_missing_path_or_a_run_without_its_pointer_says_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file or run directory: .*nothing.h5"):
        resolve_checkpoint(tmp_path / "nothing.h5")
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ValueError, match="holds no checkpoint yet"):
        resolve_checkpoint(run)
    model = TwoLayer([2, 2])
    for step in (1, 2):
        save_step(model, run, step)
    (run / "latest").unlink()
    with pytest.raises(ValueError, match="no 'latest' file .* e.g. .*step_000002.h5"):
        resolve_checkpoint(run)


# ------------------------------------------------------------ inspect


def test_inspect_summarises_contents(trained):
    model, path = trained
    text = inspect(path)
    for expected in [
        "kind        tests.TwoLayer",
        '"sizes": [4, 6, 3]',
        "parameters  4 arrays, 51 values, 204 B",
        "fc0.weight  float32 (4, 6)",
        "step        3",
        f"loss        {model.losses[-1]:.6g} (last of 3 logged)",
        "kB on disk",
    ]:
        assert expected in text


# ------------------------------------------------------------ properties

NAMES = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"), min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
DTYPES = ["?", "i1", "u1", "<i2", ">i4", "<i8", "<u8", "<f2", "<f4", "<f8", ">f8", "<c8", "<c16", "S3"]
ARRAYS = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**130), 2**130) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
LEAVES = ARRAYS | JSON.filter(lambda v: not isinstance(v, dict))  # a dict in a group is a subgroup
TREES = st.recursive(LEAVES, lambda inner: st.dictionaries(NAMES, inner, max_size=3), max_leaves=8)
SNAPSHOTS = st.builds(
    Snapshot,
    kind=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), min_size=1, max_size=10),
    config=st.dictionaries(st.text(max_size=6), JSON, max_size=3),
    parameters=st.dictionaries(NAMES, ARRAYS, max_size=4),
    groups=st.dictionaries(NAMES.filter(lambda n: n != "parameters"), st.dictionaries(NAMES, TREES, max_size=3), max_size=3),
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(snap=SNAPSHOTS)
def test_any_snapshot_round_trips_exactly(tmp_path, snap):
    assert_same_snapshot(load_snapshot(save_snapshot(snap, tmp_path / "s.h5")), snap)


@PROPERTY
@given(
    bit_generator=st.sampled_from(["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"]),
    seed=st.integers(0, 2**64),
    draws=st.integers(0, 50),
    odd_draw=st.booleans(),
)
def test_restored_rng_continues_the_identical_stream(tmp_path, bit_generator, seed, draws, odd_draw):
    rng = np.random.Generator(getattr(np.random, bit_generator)(seed))
    rng.random(draws)
    if odd_draw:  # leaves a buffered half word (has_uint32) in the state
        rng.integers(0, 2**31, dtype=np.int32)
    state = pack_rng(rng)
    expected = rng.integers(0, 2**63, 20, dtype=np.int64), rng.random(5)  # must not change `state`
    path = save_snapshot(Snapshot("rng", {}, {}, {"rng": state}), tmp_path / "rng.h5")
    restored = unpack_rng(load_snapshot(path).groups["rng"])
    assert_same(restored.integers(0, 2**63, 20, dtype=np.int64), expected[0])
    assert_same(restored.random(5), expected[1])


@PROPERTY
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    seed=st.integers(0, 2**32),
    steps=st.integers(0, 4),
)
def test_any_toy_model_state_round_trips(tmp_path, sizes, seed, steps):
    model = TwoLayer(sizes, seed)
    for _ in range(steps):
        model.train_step()
    restored = load(save(model, tmp_path / "m.h5"))
    assert_same_snapshot(restored.checkpoint_state(), model.checkpoint_state())
