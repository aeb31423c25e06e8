"""Fuzzed command lines over run/energy/raster/validate/info: each one either succeeds with consistent outputs
or fails with exactly one line on stderr and exit code 2; never a traceback, never another exit code."""
import json
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_helpers import call
from conftest import make_net
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import checkpoint

CASES = []  # (command, exit code) of every example, reported at the end


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    checkpoint.save(make_net(kind="binary_s4d", H=8, N=4)[0], d / "m.h5")
    rng = np.random.default_rng(0)
    np.save(d / "x.npy", rng.uniform(size=(3, 64, 1)))
    np.save(d / "y.npy", np.array([1, 2, 3]))
    np.save(d / "bad.npy", np.zeros((3, 64, 2)))
    np.savez(d / "x.npz", x=np.zeros(3))
    (d / "junk.h5").write_bytes(b"not hdf5")
    (d / "file").write_text("a file where a folder is expected")
    return d


def values(d: Path):
    """Option -> strategy of values, valid and invalid."""
    ints = st.sampled_from(["0", "1", "2", "-1", "3", "x", "999"])
    return {
        "--samples": ints, "--batch-size": ints, "--sample": ints, "--trace-layer": ints,
        "--engine": st.sampled_from(["event", "dense", "warp"]),
        "--dtype": st.sampled_from(["float64", "float32", "float16"]),
        "--scenario": st.sampled_from(["digits", "nope"]),
        "--input": st.sampled_from([d / "x.npy", d / "bad.npy", d / "x.npz", d / "missing.npy"]),
        "--labels": st.sampled_from([d / "y.npy", d / "x.npy"]),
        "--chips": st.sampled_from(["loihi", "cpu,loihi2", "nochip", d / "junk.h5", ""]),
        "--trace": st.sampled_from(["1", "1,2", "999", "a"]),
        "--layers": st.sampled_from(["all", "0", "1,0", "7", "x"]),
        "--neurons": st.sampled_from(["0:4", "2", "5:2", "0:99", "a:b"]),
        "--image-shape": st.sampled_from(["auto", "none", "8x8", "0x0", "4x4", "8"]),
        "--mode": st.sampled_from(["auto", "dots", "density", "best"]),
        "--cluster": st.sampled_from(["local:0", "local:x", "remote"]),
        "--scheduler": st.sampled_from(["tcp://127.0.0.1:1", "tcp://host", "8786"]),
        "--kind": st.sampled_from(["gsu", "s4d"]), "--disc": st.just("zoh"),
    }


FLAGS = {"run": ["--no-spikes", "--force", "--resume"], "energy": [], "raster": [], "validate": [], "info": []}
OPTIONS = {
    "run": ["--samples", "--batch-size", "--engine", "--dtype", "--scenario", "--input", "--labels", "--cluster",
            "--scheduler", "--kind"],
    "energy": ["--samples", "--batch-size", "--engine", "--dtype", "--chips", "--scenario", "--input", "--cluster"],
    "raster": ["--sample", "--trace", "--trace-layer", "--layers", "--neurons", "--image-shape", "--mode",
               "--engine", "--scenario", "--input"],
    "validate": ["--samples", "--batch-size", "--engine", "--scenario", "--input", "--labels"],
    "info": ["--kind", "--disc"],
}


@st.composite
def command_lines(draw, d):
    cmd = draw(st.sampled_from(sorted(OPTIONS)))
    ckpt = draw(st.sampled_from([d / "m.h5"] * 4 + [d / "junk.h5", d / "missing.h5"]))
    argv = [cmd, ckpt]
    if cmd != "info":
        argv += ["--scenario", "digits", "--samples", "2"] if draw(st.booleans()) else []
    vals = values(d)
    for opt in draw(st.lists(st.sampled_from(OPTIONS[cmd]), max_size=3, unique=True)):
        argv += [opt, vals[opt]]
    argv += draw(st.lists(st.sampled_from(FLAGS[cmd]), max_size=2, unique=True)) if FLAGS[cmd] else []
    if cmd == "validate":
        argv += ["--target", "numpy"]  # no C compiler run per example
    out = draw(st.sampled_from(["new", "new", "under-a-file"] + (["none"] if cmd in ("run", "validate") else [])))
    return argv, out


def check_outputs(cmd, argv, out: Path, stdout: str):
    if cmd == "info":
        assert "layer kind" in stdout
    elif cmd == "raster":
        assert out.stat().st_size > 1000
    elif cmd == "energy":
        data = json.loads((out / "energy.json").read_text())
        assert data["n_samples"] == json.loads((out / "counts.json").read_text())["n_samples"]
    elif cmd == "validate" and out.exists():
        assert json.loads((out / "validation.json").read_text())["passed"] is True
    elif cmd == "run" and out.exists():
        s = json.loads((out / "summary.json").read_text())
        with h5py.File(out / "results.h5") as f:
            assert f["logits"].shape[0] == s["samples"] == len(s["predictions"])
        assert (out / "spikes.h5").exists() == ("--no-spikes" not in argv)


@settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", 120)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_command_lines_succeed_or_fail_in_one_line(files, data):
    argv, where = data.draw(command_lines(files))
    cmd = argv[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = {"new": tmp / ("r.png" if cmd == "raster" else "out"), "under-a-file": files / "file" / "out",
               "none": None}[where]
        full = [*argv, *([] if out is None or cmd == "info" else ["--out", out])]
        code, stdout, lines = call(*full)
        CASES.append((cmd, code))
        errors = [line for line in lines if not line.startswith("warning: ")]
        assert code in (0, 2), (full, code, lines)
        if code == 2:
            assert len(errors) == 1 and errors[0].startswith("error: "), (full, lines)
        else:
            assert errors == [], (full, lines)
            check_outputs(cmd, full, out if out is not None else tmp / "none", stdout)


def test_report_fuzz_counts():
    """Not a check: prints how many fuzzed command lines ran, by command and exit code (pytest -s)."""
    from collections import Counter
    print(f"\nfuzzed command lines: {len(CASES)}; by (command, exit code): {sorted(Counter(CASES).items())}")
