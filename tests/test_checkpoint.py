"""HDF5 save/load, the paper-layout importer and exporter, and the command line around them."""
import subprocess
import sys

import numpy as np
import pytest
from conftest import COMBOS, ROOT, combo_id, make_net, make_sd

from models import checkpoint, paper_layout, torch_io
from models.loading import load_network

torch = pytest.importorskip("torch")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "simulator", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("combo", COMBOS[::5], ids=combo_id)
def test_save_load_is_bit_exact(combo, tmp_path):
    kind, dirs, disc, norm, pre, n_ssm = combo
    net, _ = make_net(kind=kind, directions=dirs, disc=disc, norm=norm, prenorm=pre, n_ssm=n_ssm)
    checkpoint.save(net, tmp_path / "m.h5")
    back = checkpoint.load(tmp_path / "m.h5")
    a, b = net.arrays(), back.arrays()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
    for attr in ("kind", "disc", "prenorm", "metadata", "norm_kind", "H", "N", "n_ssm", "directions", "classes"):
        assert getattr(net, attr) == getattr(back, attr)
    assert back.decoder.mode == net.decoder.mode and back.encoder.kind == net.encoder.kind


@pytest.mark.parametrize("kind,dirs,norm,pre", [("binary_s4d", 1, "batch", False), ("gsu", 2, "layer", True),
                                                ("s4d", 2, "batch", True)])
def test_import_then_export_gives_the_same_tensors(kind, dirs, norm, pre, tmp_path):
    sd = make_sd(kind=kind, directions=dirs, norm=norm, prenorm=pre)
    torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, tmp_path / "paper.pt")
    kind_flag = ["--kind", kind] if kind != "gsu" else []  # GSU is known from its keys, the others are not
    r = cli("import", tmp_path / "paper.pt", "--out", tmp_path / "m.h5", "--disc", "zoh", *kind_flag)
    assert r.returncode == 0, r.stderr
    r = cli("export-torch", tmp_path / "m.h5", "--out", tmp_path / "back.pt")
    assert r.returncode == 0, r.stderr
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert set(back) == set(sd)
    for k, v in sd.items():
        assert back[k].numpy().dtype == v.dtype and np.array_equal(back[k].numpy(), v), k
    net = checkpoint.load(tmp_path / "m.h5")
    assert (net.kind, net.disc, net.directions, net.norm_kind, net.prenorm) == (kind, "zoh", dirs, norm, pre)


def test_lightning_ckpt_and_safetensors_import(tmp_path):
    sd = make_sd(kind="gsu", directions=2)
    tensors = {k: torch.from_numpy(v) for k, v in sd.items()}
    torch.save({"state_dict": tensors, "epoch": 3, "global_step": 10}, tmp_path / "run.ckpt")
    torch_io.write_state_dict(sd, tmp_path / "w.safetensors")
    a = load_network(tmp_path / "run.ckpt")
    b = load_network(tmp_path / "w.safetensors")
    assert a.kind == b.kind == "gsu"
    for k, v in a.arrays().items():
        assert np.array_equal(v, b.arrays()[k])


def test_shape_inference(tmp_path):
    sd = make_sd(kind="binary_s4d", directions=2, norm="layer", prenorm=True, n_ssm="shared", H=12, N=6,
                 n_layers=3, classes=7, d_input=3)
    net = paper_layout.network_from_state_dict(sd, source="x", kind="binary_s4d")
    assert (net.H, net.N, net.n_layers, net.n_ssm, net.directions, net.norm_kind, net.prenorm, net.classes,
            net.d_input) == (12, 6, 3, 2, 2, "layer", True, 7, 3)
    no_norm = {k: v for k, v in make_sd().items() if ".norm.norm." not in k}
    assert paper_layout.network_from_state_dict(no_norm, source="x", kind="s4d").norm_kind == "none"


def test_info_command(tmp_path):
    net, _ = make_net(kind="gsu", directions=2, norm="layer", prenorm=True)
    checkpoint.save(net, tmp_path / "m.h5")
    r = cli("info", tmp_path / "m.h5")
    assert r.returncode == 0, r.stderr
    for text in ("gsu", "bidirectional", "bilinear", "layer, prenorm", f"{net.parameter_count:,}", "classes=10"):
        assert text in r.stdout
