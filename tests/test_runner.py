"""Sharded, distributed (Dask) and resumable evaluation: identical to a single-process run, kill-safe."""
import os
import signal
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest
from conftest import ROOT, make_net

from models import checkpoint
from models.errors import InputError
from simulator.engine import run
from simulator.results_store import ShardStore
from simulator.runner import evaluate


def assert_same(a, b):
    assert np.array_equal(a.logits, b.logits)
    for x, y in zip(a.spikes, b.spikes):
        for f in ("sample", "t", "neuron", "value"):
            assert np.array_equal(getattr(x, f), getattr(y, f)), f
    for layer in a.counts:
        for f in a.counts[layer]:
            assert np.array_equal(a.counts[layer][f], b.counts[layer][f]), (layer, f)


@pytest.mark.parametrize("kind,opts", [("binary_s4d", {}), ("gsu", {"directions": 2, "norm": "layer"}),
                                       ("s4d", {"prenorm": True}), ("binary_s4d", {"prenorm": True, "norm": "layer"})])
@pytest.mark.parametrize("engine", ["event", "dense"])
def test_a_sample_computes_the_same_bits_in_any_batch(rng, kind, opts, engine):
    """The promise of docs/reproducibility.md: every reduction runs in a fixed order per sample, so batch and
    shard sizes change nothing, not even the last bit of a logit."""
    net, _ = make_net(kind=kind, H=8, N=4, **opts)
    x = rng.normal(size=(13, 25, 1))
    whole = run(net, x, engine=engine, batch_size=13)
    for batch in (1, 2, 5, 8):
        assert_same(run(net, x, engine=engine, batch_size=batch), whole)
    for i in (0, 7, 12):
        one = run(net, x[i:i + 1], engine=engine, batch_size=1)
        assert np.array_equal(one.logits[0], whole.logits[i])


def test_sharded_and_dask_runs_equal_a_single_run(rng):
    net, _ = make_net(kind="gsu", H=8, N=4)
    x = rng.normal(size=(11, 30, 1))
    single = run(net, x, batch_size=11)
    assert_same(evaluate(net, x, shard_size=3, progress=False), single)
    assert_same(evaluate(net, x, shard_size=4, cluster="local:2", progress=False), single)


def test_worker_death_loses_no_samples(rng, tmp_path):
    from dask.distributed import Client, LocalCluster
    net, _ = make_net(kind="binary_s4d", H=16, N=8)
    x = rng.normal(size=(24, 400, 1))
    single = run(net, x, batch_size=24)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        store = ShardStore(tmp_path, {"test": 1}, resume=False)
        with Client(lc) as probe:  # closed again: one client per process, as in real use
            pids = probe.run(os.getpid)
        victim = pids[sorted(pids)[0]]
        killed = []

        def kill_one_worker():
            while not store.done_starts():
                time.sleep(0.01)
            os.kill(victim, signal.SIGKILL)  # mid-run: most shards are still queued or in flight
            killed.append(len(store.done_starts()))

        threading.Thread(target=kill_one_worker, daemon=True).start()
        got = evaluate(net, x, shard_size=2, store=store, scheduler=lc.scheduler_address, progress=False)
    assert killed and killed[0] < 12, "the worker should have died in the middle of the run"
    assert_same(got, single)


def _cli(*args):
    return [sys.executable, "-m", "simulator", *map(str, args)]


def test_kill_9_then_resume_equals_uninterrupted(tmp_path, rng):
    net, _ = make_net(kind="binary_s4d", H=32, N=16, n_layers=3)
    checkpoint.save(net, tmp_path / "m.h5")
    x = rng.normal(size=(96, 600, 1))
    np.save(tmp_path / "x.npy", x)
    common = ["run", tmp_path / "m.h5", "--input", tmp_path / "x.npy", "--batch-size", "2", "--no-spikes"]
    ref = subprocess.run(_cli(*common, "--out", tmp_path / "whole"), cwd=ROOT, capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr

    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(*common, "--out", out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = out / "results.partial"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(partial.glob("shard-*.h5"))) < 5:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    shards = sorted(partial.glob("shard-*.h5"))
    assert 5 <= len(shards) < 48, "the run should have been killed in the middle"
    assert not (out / "results.h5").exists()
    for s in shards:  # every shard on disk is whole and readable
        ShardStore.read(s)

    again = subprocess.run(_cli(*common, "--out", out), cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = subprocess.run(_cli(*common, "--out", out, "--resume"), cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    with h5py.File(tmp_path / "whole" / "results.h5") as a, h5py.File(out / "results.h5") as b:
        assert np.array_equal(a["logits"][()], b["logits"][()])
        assert b["complete"][()].all()
        for layer in a["counts_per_sample"]:
            for f in a["counts_per_sample"][layer]:
                assert np.array_equal(a[f"counts_per_sample/{layer}/{f}"][()], b[f"counts_per_sample/{layer}/{f}"][()])
    assert not partial.exists()


def test_resume_refuses_a_different_run(tmp_path):
    ShardStore(tmp_path, {"engine": "event", "samples": 4}, resume=False)
    with pytest.raises(InputError, match="engine"):
        ShardStore(tmp_path, {"engine": "dense", "samples": 4}, resume=True)


def test_thread_count_and_cpu_target_change_no_bit(tmp_path):
    """Kernels compile without fast-math (no reassociation, no FMA contraction), so a generic x86-64 build on
    one thread computes the host build's bits, in float64 and in float32: the cross-CPU half of
    docs/reproducibility.md."""
    script = ("import sys, numpy as np; from models.loading import load_network; import scenarios; "
              "from simulator.engine import run; x, _ = scenarios.get('smnist').load('test', n=3); "
              "np.save(sys.argv[1], np.stack([run(load_network(f'scenarios/checkpoints/smnist_{k}.h5'), x, dtype=d)"
              ".logits.astype(float) for k in ('binary_s4d', 'gsu', 's4d') for d in ('float64', 'float32')]))")
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "generic.npy")], cwd=ROOT, env=env, check=True)
    import scenarios
    from models.loading import load_network
    x, _ = scenarios.get("smnist").load("test", n=3)
    here = np.stack([run(load_network(ROOT / f"scenarios/checkpoints/smnist_{k}.h5"), x, dtype=d).logits.astype(float)
                     for k in ("binary_s4d", "gsu", "s4d") for d in ("float64", "float32")])
    assert np.array_equal(np.load(tmp_path / "generic.npy"), here)
