"""Hostile checkpoints and inputs, one explicit case per rule (docs/checkpoint-format.md, "Validation on load").

Each case must load correctly or be refused with the project's error naming the file and the node.
"""
import dataclasses
import json
import resource
import struct
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from conftest import ROOT, make_net, make_sd

from models import checkpoint, limits, paper_layout, torch_io
from models.errors import CheckpointError, InputError
from models.loading import load_network
from models.safe_npy import load_npy

torch = pytest.importorskip("torch")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "simulator", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def refused(path, *needles, load=checkpoint.load, **kw):
    with pytest.raises(CheckpointError) as e:
        load(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def saved(tmp_path, name="m.h5", **kw):
    net, _ = make_net(**kw)
    checkpoint.save(net, tmp_path / name)
    return tmp_path / name


def save_pt(sd, path):
    torch.save({k: torch.from_numpy(np.asarray(v)) for k, v in sd.items()}, path)
    return path


# ---- 1. the layer kind of a bare state_dict ---------------------------------------------------------

@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_glu_layout_without_kind_is_refused(suffix, tmp_path):
    path = tmp_path / f"m{suffix}"
    torch_io.write_state_dict(make_sd(), path)
    refused(path, "--kind binary_s4d", "--kind s4d", load=load_network)
    for kind in ("binary_s4d", "s4d"):
        assert load_network(path, kind=kind).kind == kind


def test_gsu_is_known_from_its_keys(tmp_path):
    path = save_pt(make_sd(kind="gsu"), tmp_path / "g.pt")
    assert load_network(path).kind == "gsu"
    refused(path, "does not fit", "GSU weights", load=load_network, kind="s4d")


@pytest.mark.parametrize("arch", ["s4d", "binary_s4d"])
def test_model_card_beside_the_file_names_the_kind(arch, tmp_path):
    path = save_pt(make_sd(), tmp_path / "m.pt")
    (tmp_path / "m.json").write_text(json.dumps({"arch": arch}))
    assert load_network(path).kind == arch
    other = "s4d" if arch == "binary_s4d" else "binary_s4d"
    assert load_network(path, kind=other).kind == other  # the argument overrides the card


def test_model_card_with_a_bad_or_mismatched_arch_is_refused(tmp_path):
    path = save_pt(make_sd(), tmp_path / "m.pt")
    (tmp_path / "m.json").write_text(json.dumps({"arch": "transformer"}))
    refused(path, "m.json", "'arch'", "'transformer'", load=load_network)
    (tmp_path / "m.json").write_text(json.dumps({"arch": "gsu"}))
    refused(path, "m.json", "does not fit", load=load_network)
    (tmp_path / "m.json").write_text("{not json")
    refused(path, "m.json", "not valid JSON", load=load_network)


@pytest.mark.parametrize("name,kind", [("s4_surrogate", "binary_s4d"), ("s4", "s4d")])
def test_lightning_hyper_parameters_name_the_kind(name, kind, tmp_path):
    tensors = {k: torch.from_numpy(v) for k, v in make_sd().items()}
    hp = {"model": {"_name_": "model", "layer": {"_name_": name, "activation": "gelu"}}}
    torch.save({"state_dict": tensors, "hyper_parameters": hp}, tmp_path / "r.ckpt")
    assert load_network(tmp_path / "r.ckpt").kind == kind
    (tmp_path / "r.json").write_text(json.dumps({"arch": "s4d" if kind == "binary_s4d" else "binary_s4d"}))
    refused(tmp_path / "r.ckpt", "stated twice", load=load_network)


def test_unknown_paper_layer_name_is_refused(tmp_path):
    tensors = {k: torch.from_numpy(v) for k, v in make_sd().items()}
    torch.save({"state_dict": tensors, "hyper_parameters": {"model": {"layer": {"_name_": "s4dfunnel"}}}},
               tmp_path / "r.ckpt")
    refused(tmp_path / "r.ckpt", "_name_", "'s4dfunnel'", "s4_surrogate", load=load_network)


def test_shipped_baseline_loads_as_s4d_thanks_to_its_card():
    pt = ROOT / "scenarios" / "checkpoints" / "smnist_s4d.pt"
    if not pt.is_file():
        pytest.skip("shipped checkpoint absent")
    assert json.loads(pt.with_suffix(".json").read_text())["arch"] == "s4d"
    assert load_network(pt).kind == "s4d"


def test_cli_refuses_unknown_kind_with_exit_code_2(tmp_path):
    path = save_pt(make_sd(), tmp_path / "m.pt")
    r = cli("info", path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--kind binary_s4d" in r.stderr, r.stderr
    r = cli("info", path, "--kind", "s4d")
    assert r.returncode == 0 and "s4d" in r.stdout, r.stderr


# ---- 1. enumerated attributes, scalar ranges, weights, extra nodes in .h5 -----------------------------

@pytest.mark.parametrize("node,attr,value,allowed", [
    ("blocks/0/norm", "kind", "groupnorm", "batch, layer"),
    ("blocks/1/mixing", "kind", "moe", "glu, gsu"),
    ("encoder", "kind", "conv", "linear, embedding"),
    ("decoder", "mode", "max", "pool, last"),
    ("", "disc", "euler", "bilinear, zoh"),
    ("blocks/0/activation", "kind", "lstm", "heaviside, ternary, gelu"),
    ("blocks/0/ssm", "kind", "mamba", "s4d"),
])
def test_unknown_enumerated_attribute_is_refused(node, attr, value, allowed, tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "a") as f:
        (f[node] if node else f).attrs[attr] = value
    refused(path, repr(attr), repr(value), allowed, f"/{node}")


@pytest.mark.parametrize("node,attr,value", [
    ("blocks/0/norm", "eps", 0.0), ("blocks/0/norm", "eps", -1e-5), ("blocks/0/norm", "eps", np.nan),
    ("blocks/0/norm", "eps", np.inf), ("blocks/0/norm", "eps", 2.0),
    ("blocks/1/activation", "ratio", -0.1), ("blocks/1/activation", "ratio", 1.0),
    ("blocks/1/activation", "ratio", np.nan), ("blocks/0/mixing", "weight_ratio", 1.5),
    ("blocks/0/mixing", "norm_eps", 0.0), ("blocks/0/activation", "ratio", "0.15"),
    ("blocks/1/norm", "num_batches_tracked", -1), ("blocks/1/norm", "num_batches_tracked", 2.5),
    ("", "prenorm", 5), ("", "format_version", "1"), ("", "format_version", True),
])
def test_scalar_attribute_out_of_range_is_refused(node, attr, value, tmp_path):
    path = saved(tmp_path, kind="gsu")
    with h5py.File(path, "a") as f:
        (f[node] if node else f).attrs[attr] = value
    refused(path, repr(attr), "expected")


def test_zero_gsu_ratios_load_and_run(tmp_path):
    from models.reference import forward
    path = saved(tmp_path, kind="gsu")
    with h5py.File(path, "a") as f:
        f["blocks/0/activation"].attrs["ratio"] = 0.0
        f["blocks/0/mixing"].attrs["weight_ratio"] = 0.0
    net = checkpoint.load(path)
    assert net.blocks[0].activation.ratio == 0.0
    assert np.all(np.isfinite(forward(net, np.random.default_rng(0).random((2, 6, 1))).logits))


def test_huge_weights_are_refused(tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "a") as f:
        f["decoder/weight"][0, 0] = 1e300
    refused(path, "dataset /decoder/weight", "|w| <=")
    sd = make_sd()
    sd["encoder.0.weight"][0, 0] = 2 * limits.MAX_ABS_WEIGHT
    refused(save_pt(sd, tmp_path / "m.pt"), "'encoder.0.weight'", "|w| <=", load=load_network, kind="s4d")


@pytest.mark.parametrize("what", ["dataset", "group", "attribute", "dataset attribute"])
def test_extra_nodes_are_refused_by_name(what, tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "a") as f:
        if what == "dataset":
            f["blocks/0/ssm/surprise"] = np.zeros(3)
        elif what == "group":
            f.create_group("blocks/0/surprise")
        elif what == "attribute":
            f["blocks/0/ssm"].attrs["surprise"] = 1
        else:
            f["decoder/bias"].attrs["surprise"] = 1
    refused(path, "surprise", "unexpected")


def test_summary_attribute_that_disagrees_is_refused(tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["H"] = 99
    refused(path, "'H'", "99")


# ---- 1. GSU threshold survives export-torch then import -----------------------------------------------

def _with_ratios(net, spike, weight):
    blocks = tuple(dataclasses.replace(b, activation=dataclasses.replace(b.activation, ratio=spike),
                                       mixing=dataclasses.replace(b.mixing, weight_ratio=weight))
                   for b in net.blocks)
    return dataclasses.replace(net, blocks=blocks)


def test_gsu_ratios_survive_export_and_import(tmp_path):
    net = _with_ratios(make_net(kind="gsu")[0], 0.3, 0.2)
    checkpoint.save(net, tmp_path / "a.h5")
    for out in ("w.pt", "w.safetensors"):
        assert cli("export-torch", tmp_path / "a.h5", "--out", tmp_path / out).returncode == 0
        r = cli("import", tmp_path / out, "--out", tmp_path / "b.h5")
        assert r.returncode == 0, r.stderr
        back = checkpoint.load(tmp_path / "b.h5")
        assert [(b.activation.ratio, b.mixing.weight_ratio) for b in back.blocks] == [(0.3, 0.2)] * len(net.blocks)


def test_default_network_exports_only_the_paper_keys():
    net, sd = make_net(kind="gsu")
    assert set(paper_layout.state_dict_from_network(net)) == set(sd)
    odd = paper_layout.state_dict_from_network(_with_ratios(net, 0.25, 0.15))
    assert set(odd) - set(sd) == {f"simulator.layers.{i}.gsu.spike_ratio" for i in range(net.n_layers)}


def test_card_threshold_applies_and_conflicts_are_refused(tmp_path):
    path = save_pt(make_sd(kind="gsu"), tmp_path / "g.pt")
    (tmp_path / "g.json").write_text(json.dumps({"arch": "gsu", "config": {"gsu_threshold": 0.25}}))
    assert {b.activation.ratio for b in load_network(path).blocks} == {0.25}
    sd = make_sd(kind="gsu")
    sd["simulator.layers.0.gsu.spike_ratio"] = np.asarray(0.3)
    refused(save_pt(sd, tmp_path / "g.pt"), "simulator.layers.0.gsu.spike_ratio", "0.25", load=load_network)


def test_reserved_scalar_key_out_of_range_is_refused(tmp_path):
    sd = make_sd(kind="gsu")
    sd["simulator.layers.1.gsu.weight_ratio"] = np.asarray(1.0)
    refused(save_pt(sd, tmp_path / "g.pt"), "simulator.layers.1.gsu.weight_ratio", "[0, 1)", load=load_network)


# ---- 2. links, external storage and virtual datasets are never followed ---------------------------------

def _replace(path, name, make):
    with h5py.File(path, "a") as f:
        del f[name]
        make(f)


def test_external_link_is_refused(tmp_path):
    path = saved(tmp_path)
    other = saved(tmp_path, "other.h5")
    link = h5py.ExternalLink(str(other), "/decoder/bias")
    _replace(path, "decoder/bias", lambda f: f.__setitem__("decoder/bias", link))
    refused(path, "/decoder/bias", "external link")


def test_soft_link_is_refused(tmp_path):
    path = saved(tmp_path)
    _replace(path, "blocks/1/ssm/D", lambda f: f.__setitem__("blocks/1/ssm/D", h5py.SoftLink("/blocks/0/ssm/D")))
    refused(path, "/blocks/1/ssm/D", "soft link")


def test_external_raw_storage_is_refused_before_reading(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOPSECRET" * 8)
    path = saved(tmp_path)
    _replace(path, "decoder/bias", lambda f: f.create_dataset("decoder/bias", shape=(10,), dtype="<f8",
                                                              external=[(str(secret), 0, 80)]))
    msg = refused(path, "/decoder/bias", "external files")
    assert "TOPSECRET" not in msg


def test_virtual_dataset_is_refused(tmp_path):
    path = saved(tmp_path)
    other = saved(tmp_path, "other.h5")
    layout = h5py.VirtualLayout(shape=(10,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(other), "decoder/bias", shape=(10,))
    _replace(path, "decoder/bias", lambda f: f.create_virtual_dataset("decoder/bias", layout))
    refused(path, "/decoder/bias", "virtual dataset")


def test_second_hard_link_is_refused(tmp_path):
    path = saved(tmp_path)
    _replace(path, "blocks/1/ssm/D", lambda f: f.__setitem__("blocks/1/ssm/D", f["blocks/0/ssm/D"]))
    refused(path, "second link")


# ---- 3. size bombs are refused from what the file declares ----------------------------------------------

def _quickly_and_lightly(fn):
    rss0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    fn()
    assert time.perf_counter() - t0 < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 200_000  # kB: far below 8 GB of data


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_h5_dataset_declaring_a_billion_values(compression, tmp_path):
    path = saved(tmp_path)
    _replace(path, "blocks/0/ssm/log_dt", lambda f: f.create_dataset(
        "blocks/0/ssm/log_dt", shape=(10**9,), dtype="f8", chunks=(2**20,), compression=compression, fillvalue=0.5))
    _quickly_and_lightly(lambda: refused(path, "1,000,000,", "size cap"))


def test_h5_wrong_declared_shape_is_refused_before_reading(tmp_path, monkeypatch):
    path = saved(tmp_path)
    _replace(path, "decoder/weight", lambda f: f.create_dataset("decoder/weight", shape=(10, 9), dtype="f8"))
    monkeypatch.setattr(h5py.Dataset, "__getitem__", lambda *a: pytest.fail("data read before the shapes were checked"))
    refused(path, "/decoder/weight", "expected shape (10, 8)", "(10, 9)")


def _safetensors(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def test_safetensors_header_declaring_a_billion_values(tmp_path):
    path = tmp_path / "bomb.safetensors"
    bomb = {"encoder.0.weight": {"dtype": "F64", "shape": [10**9], "data_offsets": [0, 8 * 10**9]}}
    path.write_bytes(_safetensors(bomb))
    _quickly_and_lightly(lambda: refused(path, "'encoder.0.weight'", "size cap", load=load_network))
    path.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    refused(path, "header length", load=load_network)
    path.write_bytes(_safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 400]}}, bytes(16)))
    refused(path, "'a'", "byte range", load=load_network)


def test_zip_pt_declaring_huge_entries(tmp_path):
    path = save_pt(make_sd(), tmp_path / "m.pt")
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")  # first central-directory record: patch its uncompressed size
    assert central > 0
    data[central + 24:central + 28] = struct.pack("<I", 0xFFFFFFF0)
    path.write_bytes(bytes(data))
    import zipfile
    if zipfile.ZipFile(path).infolist()[0].file_size != 0xFFFFFFF0:
        pytest.skip("this torch writes zip64 sizes; the 32-bit field is not authoritative")
    _quickly_and_lightly(lambda: refused(path, "size cap", load=load_network, kind="s4d"))


def _npy(header: str, data: bytes = b"") -> bytes:
    h = header.encode("latin1")
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


@pytest.mark.parametrize("header,data,needle", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }", b"", "size cap"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", bytes(16), "truncated"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", bytes(16), "numeric dtype"),
    ("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", bytes(24), "numeric dtype"),
    ("{'descr': '<f8', 'shape': (2,), }", bytes(16), "not a readable"),
])
def test_hostile_npy_inputs(header, data, needle, tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(_npy(header, data))
    with pytest.raises(InputError, match=needle) as e:
        _quickly_and_lightly(lambda: load_npy(path, "input"))
    assert str(path) in str(e.value)


def test_npy_roundtrip_is_exact(tmp_path):
    for a in (np.arange(24.0).reshape(2, 3, 4), np.asfortranarray(np.arange(6).reshape(2, 3)), np.array([True])):
        np.save(tmp_path / "a.npy", a)
        b = load_npy(tmp_path / "a.npy", "input")
        assert b.dtype == a.dtype and np.array_equal(a, b)


def test_cli_refuses_npy_bomb(tmp_path):
    (tmp_path / "x.npy").write_bytes(_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000,), }"))
    r = cli("run", saved(tmp_path), "--input", tmp_path / "x.npy")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "size cap" in r.stderr, r.stderr


# ---- 4. info never sends escape codes from a file to the terminal -----------------------------------------

def test_info_escapes_control_characters(tmp_path):
    net, _ = make_net()
    net = dataclasses.replace(net, metadata={"scenario": "\x1b[2J\x1b[31mpwned\x07", "source_file": "a\x9bb"})
    checkpoint.save(net, tmp_path / "m.h5")
    r = cli("info", tmp_path / "m.h5")
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\x9b" not in r.stdout
    assert "\\x1b[31mpwned" in r.stdout
