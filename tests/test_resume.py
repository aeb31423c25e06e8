"""--resume continues exactly the stored run or refuses; damaged shards are recomputed, never trusted;
a finished run is reported, not recomputed; runs killed with SIGKILL at any moment resume to the same files."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from cli_helpers import assert_one_line_error, call
from conftest import ROOT, make_net

from models import checkpoint


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    d = tmp_path_factory.mktemp("job")
    net, _ = make_net(kind="binary_s4d", H=8, N=4)
    checkpoint.save(net, d / "m.h5")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(10, 30, 1))
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", rng.integers(0, 10, 10))
    return d, ["run", d / "m.h5", "--input", d / "x.npy", "--labels", d / "y.npy", "--batch-size", "2"]


def h5_contents(path):
    """Every dataset and attribute of an HDF5 file (what must match; HDF5's own bookkeeping may not)."""
    out = {}
    with h5py.File(path, "r") as f:
        out["/attrs"] = {k: np.asarray(v).tolist() for k, v in f.attrs.items()}
        f.visititems(lambda n, o: out.__setitem__(n, (o[()], {k: np.asarray(v).tolist() for k, v in o.attrs.items()}))
                     if isinstance(o, h5py.Dataset) else None)
    return out


def assert_same_outputs(a, b):
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    sa.pop("wall_time_s"), sb.pop("wall_time_s")
    assert sa == sb
    assert (a / "counts.json").read_bytes() == (b / "counts.json").read_bytes()
    for name in ("results.h5", "spikes.h5"):
        ca, cb = h5_contents(a / name), h5_contents(b / name)
        assert ca.keys() == cb.keys(), name
        for k in ca:
            if k == "/attrs":
                assert ca[k] == cb[k], name
            else:
                assert np.array_equal(ca[k][0], cb[k][0]) and ca[k][1] == cb[k][1], (name, k)


def stored_files(out):
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in out.rglob("*") if p.name != ".simulator.lock"}


def interrupted(monkeypatch, args, out):
    """A run stopped after its last shard, before any final file: results.partial holds every shard."""
    import simulator.run_outputs as ro

    def stop(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(ro, "write_run_outputs", stop)
    assert call(*args, "--out", out)[0] == 130
    monkeypatch.undo()
    return sorted((out / "results.partial").glob("shard-*.h5"))


@pytest.fixture(scope="module")
def reference(job, tmp_path_factory):
    d, args = job
    out = tmp_path_factory.mktemp("ref") / "out"
    assert call(*args, "--out", out)[0] == 0
    return out


@pytest.mark.parametrize("change,key", [
    ("network", "network"), ("input", "input"), ("labels", "labels"), (["--engine", "dense"], "engine"),
    (["--batch-size", "3"], "shard_size"), (["--dtype", "float32"], "dtype"), (["--no-spikes"], "spikes"),
])
@pytest.mark.parametrize("state", ["interrupted", "finished"])
def test_resume_refuses_any_other_run(job, tmp_path, monkeypatch, change, key, state):
    d, args = job
    out = tmp_path / "out"
    if state == "interrupted":
        interrupted(monkeypatch, args, out)
    else:
        assert call(*args, "--out", out)[0] == 0
    other = list(args)
    if change == "network":
        net, _ = make_net(kind="binary_s4d", H=8, N=4)
        w = net.decoder.weight
        w[0, 0] = np.nextafter(w[0, 0], np.inf)  # one ulp of one weight
        checkpoint.save(net, tmp_path / "m2.h5")
        other[1] = tmp_path / "m2.h5"
    elif change in ("input", "labels"):
        a = np.load(d / ("x.npy" if change == "input" else "y.npy"))
        a[-1] = a[-1] + (1e-12 if change == "input" else 1)
        np.save(tmp_path / "a.npy", a)
        other[other.index(d / ("x.npy" if change == "input" else "y.npy"))] = tmp_path / "a.npy"
    else:
        other += change
    before = stored_files(out)
    assert_one_line_error(call(*other, "--out", out, "--resume"), "differs in: " + key, str(out))
    assert stored_files(out) == before, "a refused resume must change nothing"


def test_damaged_truncated_or_altered_shards_are_recomputed(job, reference, tmp_path, monkeypatch):
    d, args = job
    out = tmp_path / "out"
    shards = interrupted(monkeypatch, args, out)
    assert len(shards) == 5
    data = bytearray(shards[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    shards[1].write_bytes(bytes(data))                                  # one flipped bit
    shards[3].write_bytes(shards[3].read_bytes()[:100])                 # truncated
    code, _, lines = call(*args, "--out", out, "--resume")
    assert code == 0
    warned = [line for line in lines if line.startswith("warning:")]
    assert len(warned) == 2 and all("not trusted" in w for w in warned)
    assert shards[1].name in warned[0] + warned[1] and shards[3].name in warned[0] + warned[1]
    assert any("3 of 5 shards verified and kept; computing 2" in line for line in lines), lines
    assert_same_outputs(reference, out)


def test_resume_of_a_finished_run_returns_the_stored_result(job, reference, tmp_path):
    d, args = job
    import shutil
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    before = stored_files(out)
    code, stdout, lines = call(*args, "--out", out, "--resume")
    assert code == 0 and lines == []
    stored = json.loads((out / "summary.json").read_text())
    assert "already finished" in stdout and f"accuracy: {100 * stored['accuracy']:.2f} %" in stdout
    assert stored_files(out) == before


def _cli(*args):
    return [sys.executable, "-m", "simulator", *map(str, args)]


def _newer(path, t):
    try:
        return path.stat().st_mtime >= t
    except FileNotFoundError:
        return False


def test_kill_9_at_random_moments_then_resume_gives_the_same_files(tmp_path):
    """A chain of runs each killed with SIGKILL at a random moment (while shards are computed, while spikes
    are merged, while the final files are written), each resumed, ends with the files of an unbroken run and
    never recomputes a shard that was on disk."""
    net, _ = make_net(kind="binary_s4d", H=32, N=16, n_layers=3)
    checkpoint.save(net, tmp_path / "m.h5")
    rng = np.random.default_rng(11)
    np.save(tmp_path / "x.npy", rng.normal(size=(48, 500, 1)))
    np.save(tmp_path / "y.npy", rng.integers(0, 10, 48))
    common = ["run", tmp_path / "m.h5", "--input", tmp_path / "x.npy", "--labels", tmp_path / "y.npy",
              "--batch-size", "2"]
    ref = subprocess.run(_cli(*common, "--out", tmp_path / "whole"), cwd=ROOT, capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr

    out, partial = tmp_path / "killed", tmp_path / "killed" / "results.partial"
    seed = int(os.environ.get("KILL_SEED", time.time_ns() % 10**6))
    pick = random.Random(seed)
    # Kill once some shards exist, once most do, once as soon as final files start appearing, once anywhere.
    moments = [("shards", pick.randint(2, 8)), ("shards", pick.randint(12, 22)), ("final", 0),
               ("delay", pick.uniform(0.0, 2.0))]
    kills = 0
    for what, arg in moments:
        if (out / "summary.json").exists():
            break
        before = len(list(partial.glob("shard-*.h5"))) if partial.exists() else 0
        log = open(tmp_path / f"log{kills}", "w+")
        proc = subprocess.Popen(_cli(*common, "--out", out, *(["--resume"] if kills else [])), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 60
        t0 = time.time()
        while proc.poll() is None and time.time() < deadline:
            if what == "shards" and partial.exists() and len(list(partial.glob("shard-*.h5"))) >= before + arg:
                break
            if what == "final" and any(_newer(out / n, t0) or (out / (n + ".tmp")).exists()
                                       for n in ("results.h5", "spikes.h5")):
                break
            if what == "delay" and time.time() - t0 > 1.5 + arg:  # ~1.5 s: imports, before any shard
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        log.seek(0)
        text = log.read()
        assert "Traceback" not in text, text
        if kills and before and text:  # (an empty log: killed before it said or computed anything)
            assert f"resume: {before} of 24 shards verified and kept" in text, (seed, text)
        assert "warning" not in text, (seed, text)
        kills += 1
    final = subprocess.run(_cli(*common, "--out", out, "--resume"), cwd=ROOT, capture_output=True, text=True)
    assert final.returncode == 0, (seed, final.stderr)
    assert "warning" not in final.stderr and "Traceback" not in final.stderr, (seed, final.stderr)
    assert kills >= 2, seed
    assert_same_outputs(tmp_path / "whole", out)
    assert not partial.exists() and not list(out.glob("*.tmp"))
