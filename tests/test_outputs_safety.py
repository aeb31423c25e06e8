"""Output folders and files: refused when in use or holding results, written atomically, strict JSON, a full
disk or an unwritable destination is one line and exit 2 before any compute, and no .tmp is left behind."""
import json
import os
import subprocess

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, call
from conftest import make_net

from models import checkpoint
from simulator.run_folder import RunFolder


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "m.h5"
    checkpoint.save(make_net(kind="binary_s4d", H=8, N=4)[0], path)
    return path


def digits(ckpt, *extra):
    return ["run", ckpt, "--scenario", "digits", "--samples", "3", *extra]


def test_a_folder_holding_results_is_refused_unless_force_or_resume(ckpt, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "draft.tmp").write_text("mine too")
    assert_one_line_error(call(*digits(ckpt, "--out", tmp_path)), str(tmp_path), "notes.txt", "--force", "--resume")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".simulator.lock", "draft.tmp", "notes.txt"]
    assert call(*digits(ckpt, "--out", tmp_path, "--force"))[0] == 0
    assert (tmp_path / "notes.txt").read_text() == "mine", "--force replaces our results, not the user's files"
    assert (tmp_path / "draft.tmp").read_text() == "mine too"
    first = json.loads((tmp_path / "summary.json").read_text())
    assert call(*digits(ckpt, "--out", tmp_path, "--force", "--samples", "2"))[0] == 0
    assert len(json.loads((tmp_path / "summary.json").read_text())["predictions"]) == 2 != len(first["predictions"])


def test_a_second_run_on_the_same_folder_fails_at_once(ckpt, tmp_path):
    with RunFolder(tmp_path):   # another run holding the folder (its lock is a separate open file)
        for extra in ([], ["--resume"], ["--force"]):
            assert_one_line_error(call(*digits(ckpt, "--out", tmp_path, *extra)), "another run", str(tmp_path))
    assert call(*digits(ckpt, "--out", tmp_path))[0] == 0


def test_summary_is_strict_json_and_odd_inputs_warn(ckpt, tmp_path):
    x = np.zeros((3, 10, 1))
    x[0, 3, 0], x[1, 0, 0] = 1e300, -1e300
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 10, -1]))
    code, _, lines = call("run", ckpt, "--input", tmp_path / "x.npy", "--labels", tmp_path / "y.npy",
                          "--out", tmp_path / "o")
    assert code == 0, lines
    assert any("x.npy" in w and "2 input values" in w and "1e+06" in w for w in lines), lines
    assert any("y.npy" in w and "2 labels" in w and "0..9" in w for w in lines), lines

    def no_constants(name):
        raise AssertionError(f"summary.json holds {name}: not JSON")
    s = json.loads((tmp_path / "o" / "summary.json").read_text(), parse_constant=no_constants)
    assert len(s["logits"]) == 3 and s["accuracy"] <= 1 / 3


@pytest.mark.parametrize("command", ["run", "energy", "validate", "raster"])
def test_an_unwritable_destination_is_refused_before_any_compute(ckpt, tmp_path, monkeypatch, command):
    import simulator.engine
    import simulator.runner

    def never(*a, **k):
        raise AssertionError("computed before checking the output")
    monkeypatch.setattr(simulator.runner, "evaluate", never)
    monkeypatch.setattr(simulator.engine, "run", never)
    (tmp_path / "file").write_text("a file, not a folder")
    dest = tmp_path / "file" / ("x.png" if command == "raster" else "out")
    argv = [command, ckpt, "--scenario", "digits", "--out", dest]
    assert_one_line_error(call(*argv), str(tmp_path / "file"))


def test_batch_size_below_one_is_refused_before_a_folder_is_made(ckpt, tmp_path):
    for bad in ("0", "-3"):
        assert_one_line_error(call(*digits(ckpt, "--batch-size", bad, "--out", tmp_path / "o")), "--batch-size", bad)
        assert_one_line_error(call("energy", ckpt, "--scenario", "digits", "--batch-size", bad, "--out",
                                   tmp_path / "e"), "--batch-size")
    assert not (tmp_path / "o").exists() and not (tmp_path / "e").exists()


def _tiny_tmpfs(path, size):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def _unmount(path):
    import gc
    import time
    for _ in range(5):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
            return
        gc.collect()
        time.sleep(0.2)
    subprocess.run(["umount", "-l", str(path)])  # never leave a mount behind


def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(ckpt, tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    if _tiny_tmpfs(disk, "96k"):
        try:
            code, _, lines = call(*digits(ckpt, "--samples", "40", "--out", disk / "o"))
            leftovers = [p.name for p in disk.rglob("*.tmp")]
        finally:
            _unmount(disk)
    else:  # no mount permission here: make the disk fill up under os.replace's feet instead
        import errno
        real = os.replace

        def full(src, dst):
            if str(dst).endswith("summary.json"):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(src, dst)
        monkeypatch.setattr(os, "replace", full)
        code, _, lines = call(*digits(ckpt, "--out", disk / "o"))
        leftovers = [p.name for p in disk.rglob("*.tmp")]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "No space left on device" in lines[0] and str(disk / "o") in lines[0]
    assert leftovers == []
