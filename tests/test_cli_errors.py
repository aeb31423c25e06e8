"""Wrong options, addresses, inputs and files: one line on stderr and exit 2, fast, never a traceback."""
import socket
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest
from cli_helpers import assert_one_line_error, call
from conftest import ROOT, make_net

from models import checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "m.h5"
    checkpoint.save(make_net(kind="binary_s4d", H=8, N=4)[0], path)
    return path


def run_on(ckpt, *extra):
    return call("run", ckpt, "--scenario", "digits", "--samples", "2", *extra)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_scheduler_port_fails_within_5_s(ckpt):
    t0 = time.perf_counter()
    assert_one_line_error(run_on(ckpt, "--scheduler", f"tcp://127.0.0.1:{free_port()}"), "--scheduler",
                          "cannot connect")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("junk", [b"\xff" * 64, b"HTTP/1.1 200 OK\r\n\r\n", b""])
def test_a_listener_that_is_not_dask_is_refused_without_allocating_or_hanging(ckpt, junk):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve():
        for _ in range(3):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(junk)
            time.sleep(0.2)
            conn.close()
    threading.Thread(target=serve, daemon=True).start()
    t0 = time.perf_counter()
    try:
        err = assert_one_line_error(run_on(ckpt, "--scheduler", f"tcp://127.0.0.1:{server.getsockname()[1]}"),
                                    "--scheduler")
    finally:
        server.close()
    assert "not a Dask scheduler" in err
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "tcp://", "tcp://host", "tcp://host:0", "tcp://host:99999",
                                     "tls://host:8786", "tcp://ho st:8786", "tcp://host:87a6"])
def test_malformed_scheduler_addresses(ckpt, address):
    assert_one_line_error(run_on(ckpt, "--scheduler", address), "--scheduler", "tcp://HOST:PORT")


def test_cluster_and_scheduler_together_are_refused(ckpt):
    assert_one_line_error(run_on(ckpt, "--cluster", "local:1", "--scheduler", "tcp://127.0.0.1:1"),
                          "--cluster and --scheduler")


def test_npz_input_names_what_was_expected(ckpt, tmp_path):
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 5, 1)))
    assert_one_line_error(call("run", ckpt, "--input", tmp_path / "x.npz"), "x.npz", ".npy", ".npz archive")


def test_bad_chip_files_are_chip_errors(ckpt, tmp_path):
    (tmp_path / "latin1.toml").write_bytes(b"[chip]\nname = \"caf\xe9\"\n")
    (tmp_path / "dir.toml").mkdir()
    for chip, needle in (("latin1.toml", "UTF-8"), ("dir.toml", "folder")):
        path = tmp_path / chip
        assert_one_line_error(call("energy", ckpt, "--scenario", "digits", "--samples", "1", "--chips", path,
                                   "--out", tmp_path / "e"), str(path), needle)


def test_an_unknown_chip_fails_before_simulating(ckpt, tmp_path, monkeypatch):
    import simulator.cli.energy

    def never(*a, **k):
        raise AssertionError("simulated before checking the chips")
    monkeypatch.setattr(simulator.cli.energy, "simulate", never)
    assert_one_line_error(call("energy", ckpt, "--scenario", "digits", "--chips", "loihi,nochip", "--out", tmp_path),
                          "nochip")


@pytest.mark.parametrize("extra,needle", [(["--trace", "999"], "--trace 999"), (["--trace", "-1"], "--trace"),
                                          (["--image-shape", "0x0"], "--image-shape 0x0"),
                                          (["--image-shape", "7"], "--image-shape"),
                                          (["--image-shape", "4x4"], "ROWS*COLS = 64"),
                                          (["--layers", "5"], "--layers"), (["--neurons", "3:99"], "neurons")])
def test_raster_options_out_of_range(ckpt, tmp_path, extra, needle):
    assert_one_line_error(call("raster", ckpt, "--scenario", "digits", "--out", tmp_path / "r.png", *extra), needle)
    assert list(tmp_path.iterdir()) == []


def test_raster_of_a_workload_without_pixel_order(tmp_path):
    """LRA workloads have no `permutation` (the pixel order of image scenarios): this was an AttributeError."""
    code, stdout, lines = call("raster", "--scenario", "lra-pathx", "--out", tmp_path / "r.png")
    assert code == 0, lines
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_metadata_null_is_shown_as_nothing(ckpt, tmp_path):
    path = tmp_path / "m.h5"
    path.write_bytes(ckpt.read_bytes())
    with h5py.File(path, "a") as f:
        f.attrs["metadata"] = "null"
    code, stdout, lines = call("info", path)
    assert (code == 0 and "layer kind" in stdout) or (code == 2 and len(lines) == 1 and "metadata" in lines[0])


def test_info_into_a_closed_pipe_is_quiet():
    r = subprocess.run(f"{sys.executable} -m simulator info scenarios/checkpoints/smnist_gsu.h5 | head -2",
                       shell=True, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    assert r.stderr == ""


def test_usage_errors_are_one_line():
    for argv in (["run", "--engine", "warp"], ["nope"], [], ["run", "--scenario", "a", "--input", "b"]):
        assert_one_line_error(call(*argv), "--help")


def test_energy_reports_escape_html_from_titles_and_chip_files(tmp_path):
    import json

    from energy.report import write_reports
    from simulator.counting import counts_report
    from simulator.engine import run
    net, _ = make_net(kind="binary_s4d", H=8, N=4)
    counts = counts_report(net, run(net, np.random.default_rng(0).normal(size=(2, 10, 1))))
    evil = "<script>alert(1)</script>"
    chip = (ROOT / "energy" / "chips" / "cpu.toml").read_text().replace('display_name = "', f'display_name = "{evil}')
    (tmp_path / "evil.toml").write_text(chip)
    write_reports(counts, [str(tmp_path / "evil.toml")], tmp_path, title=f"m{evil}.h5 <img src=x onerror=1>")
    for name in ("energy.md", "energy.html"):
        text = (tmp_path / name).read_text()
        assert "<script>" not in text and "<img src=x" not in text, name
        assert "&lt;script&gt;" in text
    assert evil in json.loads((tmp_path / "energy.json").read_text())["title"]  # data stays data
