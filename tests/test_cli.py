"""The command line end to end: run, energy, validate, LRA workloads; outputs agree with each other."""
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from conftest import ROOT, make_net

from models import checkpoint
from simulator.report import read_spikes


def cli(*args, timeout=600):
    r = subprocess.run([sys.executable, "-m", "simulator", *map(str, args)], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "m.h5"
    net, _ = make_net(kind="binary_s4d", H=16, N=8, n_layers=2)
    checkpoint.save(net, path)
    return path


def test_run_on_scenario_writes_consistent_outputs(ckpt, tmp_path):
    r = cli("run", ckpt, "--scenario", "digits", "--samples", "12", "--out", tmp_path, "--batch-size", "5")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "summary.json").read_text())
    assert len(s["predictions"]) == 12 and len(s["logits"]) == 12 and 0 <= s["accuracy"] <= 1
    assert f"accuracy: {100 * s['accuracy']:.2f} %" in r.stdout
    events, (n, L, H) = read_spikes(tmp_path / "spikes.h5")
    assert (n, L, H) == (12, 64, 16)
    assert [len(e) / (n * L * H) for e in events] == pytest.approx(s["firing_rates"])
    assert [len(e) for e in events] == [s["op_counts"][f"layer{i}"]["spikes"] for i in range(2)]
    with h5py.File(tmp_path / "results.h5") as f:
        assert np.allclose(f["logits"][()], s["logits"]) and f["complete"][()].all()
    counts = json.loads((tmp_path / "counts.json").read_text())
    assert counts["n_samples"] == 12 and [layer["name"] for layer in counts["layers"]][-1] == "decoder"


def test_run_on_npy_input_with_labels(ckpt, tmp_path):
    x = np.random.default_rng(0).uniform(size=(4, 20, 1))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 2, 3]))
    r = cli("run", ckpt, "--input", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--engine", "dense")
    assert r.returncode == 0, r.stderr
    assert "dense engine" in r.stdout and "accuracy" in r.stdout
    np.save(tmp_path / "bad.npy", np.zeros((4, 20, 3)))
    bad = cli("run", ckpt, "--input", tmp_path / "bad.npy")
    assert bad.returncode == 2 and "expected shape (samples, L, 1)" in bad.stderr
    assert cli("run", ckpt, "--scenario", "nope").returncode == 2


def test_energy_command_writes_reports(ckpt, tmp_path):
    r = cli("energy", ckpt, "--scenario", "digits", "--samples", "3", "--chips", "loihi,cpu", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "energy.json").read_text())
    assert (tmp_path / "energy.html").stat().st_size > 10000
    counts = json.loads((tmp_path / "counts.json").read_text())
    assert data["n_samples"] == counts["n_samples"] == 3
    bad = cli("energy", ckpt, "--scenario", "digits", "--samples", "1", "--chips", "nochip", "--out", tmp_path / "b")
    assert bad.returncode == 2 and "nochip" in bad.stderr


def test_validate_command_agrees_with_brian2(ckpt, tmp_path):
    r = cli("validate", ckpt, "--scenario", "digits", "--samples", "2", "--out", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED" in r.stdout
    assert json.loads((tmp_path / "validation.json").read_text())["passed"] is True


def test_untrained_lra_workload_runs_and_is_marked(tmp_path):
    r = cli("run", "--scenario", "lra-listops", "--samples", "1", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "UNTRAINED" in r.stdout
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["network"] == {"kind": "binary_s4d", "n_layers": 8, "H": 128, "N": 64, "directions": 2, "classes": 10}
    assert s["timesteps"] == 2000


def test_listops_labels_are_the_expression_values():
    from scenarios.lra import LISTOPS_TOKENS, listops_tokens, listops_value
    e = ("MAX", [3, ("MIN", [7, 2]), ("SM", [5, 8]), ("MED", [1, 9, 4])])
    assert listops_value(e) == 4          # max(3, 2, 13 % 10, 4)
    assert " ".join(LISTOPS_TOKENS[t] for t in listops_tokens(e)) == "[MAX 3 [MIN 7 2 ] [SM 5 8 ] [MED 1 9 4 ] ]"
