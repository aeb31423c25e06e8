"""Fuzz every loader with structurally mutated files: each case loads a usable network or raises ours.

A case passes if loading raises a SimulatorError (CheckpointError / InputError), or returns a network
that validates and gives finite logits on a tiny input. Any other exception fails it.
Cases per run (derandomized, so the same every run): 400 .h5 + 300 .pt/.safetensors + 150 .npy
+ 150 safetensors headers = 1,000, in about 15 s. `--hypothesis-show-statistics` prints how many
loaded and how many were refused.
"""
import json
import struct

import h5py
import numpy as np
import pytest
from conftest import make_net, make_sd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from models import checkpoint, torch_io
from models.errors import InputError, SimulatorError
from models.loading import load_network
from models.reference import forward
from models.safe_npy import load_npy
from models.spec import validate

torch = pytest.importorskip("torch")


def fuzz(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def loads_usable_or_refuses(load):
    try:
        net = load()
    except SimulatorError:
        event("refused")  # --hypothesis-show-statistics shows how many cases loaded and how many were refused
        return None
    event("loaded")
    validate(net)
    x = (np.arange(6).reshape(1, 6) % net.d_input if net.encoder.kind == "embedding"
         else np.linspace(-1, 1, 6 * net.d_input).reshape(1, 6, net.d_input))
    logits = forward(net, x).logits
    assert np.all(np.isfinite(logits)), "a network that passed validation gives non-finite logits"
    return net


# ---- .h5 ------------------------------------------------------------------------------------------

BASES = {
    "gsu": make_net(kind="gsu", directions=2, norm="layer", prenorm=True, H=4, N=4)[0],
    "binary": make_net(kind="binary_s4d", norm="batch", H=4, N=4, n_ssm="shared")[0],
    "s4d_emb": make_net(kind="s4d", encoder="embedding", d_input=5, decoder="last", H=4, N=4)[0],
}
ODD_VALUES = st.one_of(
    st.sampled_from([0, -1, 1, 2, 10**12, 0.0, -0.0, 1e-5, 0.5, 0.999, 1.0, 1e300, float("nan"), float("inf"),
                     -float("inf"), True, False, "", "batch", "layer", "gsu", "glu", "zoh", "last", "embedding",
                     "groupnorm", "{}", "[]", "\x1b[31m", b"\xff\xfe"]),
    st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=12))
FACTORS = st.sampled_from([0.0, -1.0, 1e3, 1e7, 1e300, float("nan"), float("inf")])


def _nodes(f):
    out = [""]
    f.visit(out.append)
    return out


def _mutate_h5(f, data):
    nodes = _nodes(f)
    datasets = [n for n in nodes if n and isinstance(f[n], h5py.Dataset)]
    op = data.draw(st.sampled_from(["set_attr", "del_attr", "reshape", "retype", "delete", "add", "link",
                                    "scale", "poke"]))
    node = data.draw(st.sampled_from(nodes))
    obj = f[node] if node else f
    if op == "set_attr":
        names = sorted(obj.attrs) + ["kind", "eps", "ratio", "spike_ratio", "weight_ratio", "num_batches_tracked", "residual", "extra"]
        name, value = data.draw(st.sampled_from(names)), data.draw(ODD_VALUES)
        if isinstance(value, str) and "\x00" in value:
            value = value.replace("\x00", "")  # HDF5 strings end at NUL; not a loader question
        obj.attrs[name] = value
    elif op == "del_attr" and len(obj.attrs):
        del obj.attrs[data.draw(st.sampled_from(sorted(obj.attrs)))]
    elif op in ("reshape", "retype", "scale", "poke"):
        name = data.draw(st.sampled_from(datasets))
        a = f[name][()]
        if op == "reshape":
            shape = tuple(data.draw(st.lists(st.integers(0, 6), max_size=4)))
            a = np.resize(a, shape)
        elif op == "retype":
            a = a.astype(data.draw(st.sampled_from(["int32", "float16", "float32", "bool", "S3", "complex64"])))
        elif op == "scale":
            with np.errstate(all="ignore"):
                a = a * data.draw(FACTORS)
        else:
            flat = a.reshape(-1)
            if flat.size:
                flat[data.draw(st.integers(0, flat.size - 1))] = data.draw(st.floats())
        del f[name]
        f[name] = a
    elif op == "delete" and node:
        del f[node]
    elif op == "add":
        parent = node if node and isinstance(obj, h5py.Group) else ""
        where = (parent + "/" if parent else "") + data.draw(st.sampled_from(["weight", "x", "bias", "norm", "9"]))
        if where not in f:
            if data.draw(st.booleans()):
                f[where] = np.zeros(data.draw(st.integers(0, 4)))
            else:
                f.create_group(where)
    elif op == "link" and node:
        target = data.draw(st.sampled_from(nodes[1:]))
        kind = data.draw(st.sampled_from(["soft", "external", "hard"]))
        del f[node]
        f[node] = {"soft": h5py.SoftLink("/" + target), "external": h5py.ExternalLink("other.h5", "/" + target),
                   "hard": f[target] if target in f else h5py.SoftLink("/" + target)}[kind]


@fuzz(400)
@given(st.data())
def test_fuzz_h5_mutations(tmp_path, data):
    base = BASES[data.draw(st.sampled_from(sorted(BASES)))]
    path = tmp_path / "m.h5"
    checkpoint.save(base, path)
    checkpoint.save(base, tmp_path / "other.h5")
    with h5py.File(path, "a") as f:
        for _ in range(data.draw(st.integers(1, 3))):
            if data.draw(st.integers(0, 9)) == 0 or not _nodes(f)[1:]:
                break
            try:
                _mutate_h5(f, data)
            except (KeyError, ValueError, TypeError, OSError):
                pass  # h5py could not write that mutation: the file stays as it was
    loads_usable_or_refuses(lambda: checkpoint.load(path))


# ---- .pt / .safetensors state_dicts -------------------------------------------------------------------

SD_BASES = [dict(kind="gsu", directions=2, norm="layer", prenorm=True), dict(kind="binary_s4d"),
            dict(kind="s4d", encoder="embedding", d_input=5)]


def _mutate_sd(sd, data):
    keys = sorted(sd)
    op = data.draw(st.sampled_from(["delete", "add", "rename", "reshape", "retype", "scale", "scalar_key",
                                    "batches"]))
    key = data.draw(st.sampled_from(keys))
    if op == "delete":
        del sd[key]
    elif op == "add":
        sd[data.draw(st.sampled_from([key + "x", "model.layers.7.layer.D", "extra", "state_dict"]))] = np.zeros(2)
    elif op == "rename":
        sd[key.replace("layers.1", "layers.2").replace("weight", "wieght")] = sd.pop(key)
    elif op == "reshape":
        sd[key] = np.resize(sd[key], tuple(data.draw(st.lists(st.integers(0, 6), max_size=4))))
    elif op == "retype":
        sd[key] = sd[key].astype(data.draw(st.sampled_from(["int64", "float16", "float64", "bool", "uint8"])))
    elif op == "scale":
        with np.errstate(all="ignore"):
            sd[key] = sd[key] * data.draw(FACTORS)
    elif op == "scalar_key":
        name = data.draw(st.sampled_from(["layers.0.gsu.spike_ratio", "layers.1.gsu.weight_ratio",
                                          "layers.0.gsu.norm_eps", "layers.0.norm.eps", "final_norm.eps",
                                          "layers.5.norm.eps", "kind"]))
        sd["simulator." + name] = np.asarray(data.draw(st.one_of(st.floats(), st.sampled_from([0.0, 0.5, 1.0]))))
    else:
        bt = [k for k in keys if k.endswith("num_batches_tracked")]
        if bt:
            sd[bt[0]] = np.asarray(data.draw(st.integers(-5, 5)), dtype=data.draw(st.sampled_from(["int64", "float32"])))


@fuzz(300)
@given(st.data())
def test_fuzz_state_dict_mutations(tmp_path, data):
    base = data.draw(st.sampled_from(SD_BASES))
    sd = make_sd(H=4, N=4, **base)
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate_sd(sd, data)
    suffix = data.draw(st.sampled_from([".pt", ".safetensors"]))
    path = tmp_path / f"m{suffix}"
    torch_io.write_state_dict(sd, path)
    kind = data.draw(st.sampled_from([base["kind"], None, "binary_s4d", "s4d", "gsu"]))
    loads_usable_or_refuses(lambda: load_network(path, kind=kind))


@fuzz(150)
@given(st.data())
def test_fuzz_safetensors_headers(tmp_path, data):
    entry = {"dtype": data.draw(st.sampled_from(["F32", "F64", "I64", "BOOL", "X9", 3])),
             "shape": data.draw(st.one_of(st.lists(st.integers(-2, 10**10), max_size=3), st.just("4"))),
             "data_offsets": data.draw(st.lists(st.integers(-1, 10**11), max_size=3))}
    header = {"encoder.0.weight": entry, "__metadata__": {"format": "np"}}
    raw = json.dumps(header).encode()
    length = data.draw(st.sampled_from([len(raw), len(raw) + 3, 2**40, 0]))
    path = tmp_path / "h.safetensors"
    path.write_bytes(struct.pack("<Q", length) + raw + bytes(data.draw(st.integers(0, 64))))
    loads_usable_or_refuses(lambda: load_network(path, kind="s4d"))


# ---- .npy inputs -----------------------------------------------------------------------------------------

def _valid_npy(tmp_path) -> bytes:
    np.save(tmp_path / "v.npy", np.linspace(0, 1, 24).reshape(2, 3, 4))
    return (tmp_path / "v.npy").read_bytes()


@fuzz(150)
@given(st.data())
def test_fuzz_npy_headers(tmp_path, data):
    raw = bytearray(_valid_npy(tmp_path))
    op = data.draw(st.sampled_from(["poke", "truncate", "header"]))
    if op == "poke":
        for _ in range(data.draw(st.integers(1, 6))):
            raw[data.draw(st.integers(0, 127))] = data.draw(st.integers(0, 255))
    elif op == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    else:
        shape = data.draw(st.lists(st.integers(-1, 10**12), max_size=3))
        descr = data.draw(st.sampled_from(["<f8", "<i4", "|b1", "|O", "<U2", "<c16", "V8", "[('a','<f8')]"]))
        text = f"{{'descr': {descr if descr.startswith('[') else repr(descr)}, 'fortran_order': False, "
        text += f"'shape': {tuple(shape)}, }}"
        h = text.encode() + b" " * (64 - (len(text) + 11) % 64) + b"\n"
        raw = bytearray(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h) + raw[128:]
    path = tmp_path / "x.npy"
    path.write_bytes(bytes(raw))
    try:
        a = load_npy(path, "input")
    except InputError as e:
        assert str(path) in str(e)
        event("refused")
        return
    event("loaded")
    assert a.dtype.kind in "biuf" and a.size * a.dtype.itemsize <= len(raw)
