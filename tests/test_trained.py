"""The shipped trained checkpoints: engines reproduce the PyTorch model (float64) and Brian2 on real digits."""
import json

import numpy as np
import pytest

import scenarios
from models.loading import load_network
from simulator.engine import run

SHIPPED = ("smnist_binary_s4d", "smnist_gsu", "smnist_s4d", "psmnist_binary_s4d")
CKPT = scenarios.CHECKPOINT_DIR


def test_every_promised_checkpoint_is_shipped():
    missing = [n for n in SHIPPED if not (CKPT / f"{n}.h5").is_file()]
    assert not missing, f"not shipped: {missing}"


def _meta(name):
    return json.loads((CKPT / f"{name}.json").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_engines_reproduce_pytorch_on_real_digits(name):
    torch = pytest.importorskip("torch")
    from scenarios.torch_model import ModelConfig, SSMClassifier
    meta = _meta(name)
    model = SSMClassifier(ModelConfig(**meta["config"])).double().eval()
    model.load_state_dict(torch.load(CKPT / f"{name}.pt", weights_only=True))
    net = load_network(CKPT / f"{name}.h5")
    x, labels = scenarios.get(name.split("_")[0]).load("test", n=48)
    with torch.no_grad():
        logits, acts = model(torch.from_numpy(x), return_activity=True)
    logits = logits.numpy()
    for engine in ("event", "dense"):
        r = run(net, x, engine=engine, batch_size=16)
        assert np.array_equal(r.predictions, logits.argmax(1)), engine
        assert np.max(np.abs(r.logits - logits)) <= 1e-9 * np.abs(logits).max(), engine
        if net.kind != "s4d":
            for ev, a in zip(r.spikes, acts):
                assert np.array_equal(ev.to_dense(*a.shape), np.sign(a.numpy()).astype(np.int8)), engine


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_validate_against_brian2(name):
    from simulator.validate import validate_main
    net = load_network(CKPT / f"{name}.h5")
    x, labels = scenarios.get(name.split("_")[0]).load("test", n=10)
    report = validate_main(net, x, labels, lambda n, xs: run(n, xs, record_pre=True), None)
    assert report.passed, report.format()
