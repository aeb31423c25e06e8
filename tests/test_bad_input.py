"""Malformed checkpoints and inputs: one clear message naming file and key, exit code 2, no traceback."""
import io
import os
import pickle
import subprocess
import sys

import h5py
import numpy as np
import pytest
from conftest import ROOT, make_net, make_sd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import checkpoint, paper_layout
from models.errors import CheckpointError, InputError, SimulatorError
from models.loading import load_network

torch = pytest.importorskip("torch")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "simulator", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def save_pt(sd, path):
    torch.save({k: torch.from_numpy(np.asarray(v)) for k, v in sd.items()}, path)
    return path


def assert_cli_error(path, *needles):
    r = cli("info", path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and str(path) in r.stderr
    for n in needles:
        assert n in r.stderr, r.stderr
    return r.stderr


def test_missing_key(tmp_path):
    sd = make_sd()
    del sd["model.layers.1.layer.kernel.kernel.B"]
    assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "missing key 'model.layers.1.layer.kernel.kernel.B'")


def test_misspelled_key_is_named_with_its_near_miss(tmp_path):
    sd = make_sd()
    sd["model.layers.1.layer.kernal.kernel.B"] = sd.pop("model.layers.1.layer.kernel.kernel.B")
    err = assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "model.layers.1.layer.kernel.kernel.B")
    assert "kernal" in err


def test_extra_key(tmp_path):
    sd = make_sd()
    sd["model.layers.0.layer.surprise"] = np.zeros(3, np.float32)
    assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "unexpected keys", "surprise")


def test_wrong_shape(tmp_path):
    sd = make_sd(H=8)
    sd["model.layers.1.layer.output_linear.0.weight"] = np.zeros((16, 7), np.float32)
    assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "output_linear.0.weight", "expected shape (16, 8)", "(16, 7)")


def test_wrong_dtype(tmp_path):
    sd = make_sd()
    sd["model.layers.0.layer.D"] = np.ones((1, 8), np.int32)
    assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "model.layers.0.layer.D", "floating-point", "int32")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_weights(bad, tmp_path):
    sd = make_sd()
    sd["model.layers.1.layer.kernel.kernel.C"][0, 3, 1, 0] = bad
    assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "model.layers.1.layer.kernel.kernel.C", "NaN or Inf")


def test_unstable_dynamics_positive_real_part(tmp_path):
    sd = make_sd()
    sd["model.layers.0.layer.kernel.kernel.inv_A_real"][1, 0] = -1000.0  # exp underflows: Re(A) = 0
    assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "unstable dynamics", "inv_A_real")


def test_unstable_dynamics_after_discretisation(tmp_path):
    net, sd = make_net()
    sd["model.layers.1.layer.kernel.kernel.log_dt"][2] = 800.0  # dt overflows to inf: |Ab| = 1 (bilinear)
    err = assert_cli_error(save_pt(sd, tmp_path / "m.pt"), "unstable dynamics", "|Ab|")
    assert "layer 1" in err


def test_unknown_format_version(tmp_path):
    net, _ = make_net()
    checkpoint.save(net, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f.attrs["format_version"] = 99
    assert_cli_error(tmp_path / "m.h5", "format_version 99", "reads versions 1, 2")


def test_h5_dataset_with_nan_is_named(tmp_path):
    net, _ = make_net()
    checkpoint.save(net, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f["blocks/1/mixing/weight"][0, 0] = np.nan
    assert_cli_error(tmp_path / "m.h5", "dataset /blocks/1/mixing/weight", "NaN")


def test_truncated_empty_and_non_hdf5(tmp_path):
    net, _ = make_net()
    checkpoint.save(net, tmp_path / "m.h5")
    data = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.h5").write_bytes(b"")
    (tmp_path / "text.h5").write_text("hello")
    for name in ("trunc.h5", "empty.h5", "text.h5"):
        assert_cli_error(tmp_path / name)
    assert_cli_error(tmp_path / "nothing.h5", "no such file")


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model.layers.0.layer.D": _Evil()}, path)
    (tmp_path / "raw.ckpt").write_bytes(pickle.dumps({"state_dict": _Evil()}))
    for p in (path, tmp_path / "raw.ckpt"):
        assert_cli_error(p, "weights_only")
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_torch_missing_gives_install_hint(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_torch(name, *a, **k):
        if name == "torch":
            raise ImportError("no torch")
        return real(name, *a, **k)

    path = save_pt(make_sd(), tmp_path / "m.pt")
    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(CheckpointError, match="requirements-train.txt"):
        load_network(path)


def test_wrong_input_shapes():
    from simulator.engine import run
    net, _ = make_net()
    for bad in (np.zeros((2, 10, 3)), np.zeros((2,)), np.full((1, 5, 1), np.nan), np.zeros((1, 0, 1))):
        with pytest.raises(InputError):
            run(net, bad)
    emb, _ = make_net(encoder="embedding", d_input=5)
    with pytest.raises(InputError, match=r"\[0, 5\)"):
        run(emb, np.array([[0, 7]]))


# ---- fuzzing: the HDF5 loader only ever raises the project's error type -------------------------------

def _valid_bytes():
    net, _ = make_net(kind="gsu", directions=2, norm="layer", prenorm=True, H=4, N=4)
    buf = io.BytesIO()
    checkpoint.save(net, "/tmp/_fuzz_base.h5")
    buf.write(open("/tmp/_fuzz_base.h5", "rb").read())
    return buf.getvalue()


VALID = _valid_bytes()


def _load_bytes(tmp_path, data):
    p = tmp_path / "f.h5"
    p.write_bytes(data)
    try:
        checkpoint.load(p)
    except SimulatorError as e:
        assert isinstance(e, CheckpointError)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=20))
def test_fuzz_mutated_bytes(tmp_path, edits):
    data = bytearray(VALID)
    for pos, val in edits:
        data[pos] = val
    _load_bytes(tmp_path, bytes(data))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, len(VALID)))
def test_fuzz_truncated(tmp_path, n):
    _load_bytes(tmp_path, VALID[:n])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_shape_shuffled_datasets(tmp_path, data):
    p = tmp_path / "s.h5"
    p.write_bytes(VALID)
    with h5py.File(p, "a") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        name = data.draw(st.sampled_from(sorted(names)))
        arr = f[name][()]
        shape = data.draw(st.lists(st.integers(0, 5), min_size=0, max_size=4))
        new = np.resize(arr, shape) if shape else np.float64(arr.reshape(-1)[0] if arr.size else 0)
        if data.draw(st.booleans()):
            new = np.asarray(new).astype(data.draw(st.sampled_from(["int32", "float32", "S3", "bool"])))
        del f[name]
        f[name] = new
        if data.draw(st.booleans()):
            attr = data.draw(st.sampled_from(["kind", "disc", "prenorm", "metadata", "format_version"]))
            f.attrs[attr] = data.draw(st.sampled_from([1, "x", 2.5, np.int8(3), "{}"]))
    try:
        checkpoint.load(p)
    except SimulatorError as e:
        assert isinstance(e, CheckpointError)
