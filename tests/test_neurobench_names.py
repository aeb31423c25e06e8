"""Our metric keys are NeuroBench 2.3's, so a user's tables line up with NeuroBench results.

NeuroBench itself is not installed for the tests: it needs torchaudio, snntorch and tonic, which would pull a
second PyTorch build. The names below are NeuroBench 2.3.0's (PyPI wheel neurobench-2.3.0): a metric's
result is keyed by its class name (neurobench/metrics/manager/workload_manager.py and static_manager.py);
SynapticOperations.compute() returns the dict {Effective_MACs, Effective_ACs, Dense}
(neurobench/metrics/workload/synaptic_operations.py).
"""
import json
import subprocess
import sys

import h5py
import numpy as np
from conftest import ROOT, make_net

from models import checkpoint
from simulator.engine import run
from simulator.neurobench import neurobench_metrics

NEUROBENCH_2_3_WORKLOAD = {"SynapticOperations", "ActivationSparsity", "MembraneUpdates", "ClassificationAccuracy",
                           "ActivationSparsityByLayer", "MSE", "SMAPE", "R2", "CocoMap", "NeuronOperations"}
NEUROBENCH_2_3_STATIC = {"ParameterCount", "Footprint", "ConnectionSparsity"}
SYNAPTIC_OPERATIONS_FIELDS = {"Effective_MACs", "Effective_ACs", "Dense"}


def check_names(metrics: dict) -> None:
    assert set(metrics) <= NEUROBENCH_2_3_WORKLOAD | NEUROBENCH_2_3_STATIC, set(metrics)
    assert set(metrics["SynapticOperations"]) == SYNAPTIC_OPERATIONS_FIELDS


def test_metric_keys_are_neurobench_names():
    net, _ = make_net(kind="gsu", H=4, N=2)
    x = np.random.default_rng(0).normal(size=(3, 5, 1))
    m = neurobench_metrics(net, run(net, x), labels=np.array([0, 1, 2]))
    check_names(m)
    assert {"SynapticOperations", "ActivationSparsity", "MembraneUpdates", "ClassificationAccuracy",
            "ParameterCount", "Footprint", "ConnectionSparsity"} <= set(m)
    assert "ClassificationAccuracy" not in neurobench_metrics(net, run(net, x))   # no labels, no accuracy


def test_run_outputs_carry_neurobench_names_and_a_time_unit(tmp_path):
    path = tmp_path / "m.h5"
    checkpoint.save(make_net(kind="binary_s4d", H=8, N=4)[0], path)
    r = subprocess.run([sys.executable, "-m", "simulator", "run", str(path), "--scenario", "digits", "--samples",
                        "4", "--out", str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    check_names(summary["neurobench"])
    assert summary["neurobench"]["ClassificationAccuracy"] == summary["accuracy"]
    with h5py.File(tmp_path / "o" / "spikes.h5") as f:
        assert f.attrs["time_unit"] == "step"
