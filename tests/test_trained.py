"""The shipped trained checkpoints: engines reproduce the PyTorch model (float64) and Brian2 on real digits."""
import json

import numpy as np
import pytest

import scenarios
from models.loading import load_network
from simulator.engine import run

CKPT = scenarios.CHECKPOINT_DIR
# every shipped network: a .h5 with its .pt and card beside it
SHIPPED = tuple(sorted(p.stem for p in CKPT.glob("*.h5") if p.with_suffix(".pt").is_file()
                       and p.with_suffix(".json").is_file()))
PROMISED = ("smnist_binary_s4d", "smnist_gsu", "smnist_s4d", "psmnist_binary_s4d",       # the paper's
            "smnist_lif_s4d", "smnist_s5", "smnist_sigma_delta_s4d")                      # the new part kinds


def test_every_promised_checkpoint_is_shipped():
    missing = [n for n in PROMISED if n not in SHIPPED]
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
    x, labels = scenarios.get(meta["scenario"]).load("test", n=48)
    with torch.no_grad():
        logits, acts = model(torch.from_numpy(x), return_activity=True)
    logits, acts = logits.numpy(), [a.numpy() for a in acts]
    graded = [b.activation.MESSAGE == "graded" for b in net.blocks]
    for engine in ("event", "dense"):
        r = run(net, x, engine=engine, batch_size=16, record_pre=True)
        assert np.array_equal(r.predictions, logits.argmax(1)), engine
        assert np.max(np.abs(r.logits - logits)) <= 1e-9 * np.abs(logits).max(), engine
        for i, (ev, a) in enumerate(zip(r.spikes, acts)):
            if graded[i]:                    # values (ReLU, GELU) the engine's y gives, not only their sign (which
                                             # differs where the FFT leaves 1e-16 and the recurrence exact 0)
                sent, _ = net.blocks[i].activation.forward(r.pre[i])
                assert np.max(np.abs(sent - a)) <= 1e-9 * np.abs(a).max(), (engine, i)
            else:                            # spikes: binary or ternary, event by event
                assert np.array_equal(ev.to_dense(*a.shape), np.sign(a).astype(np.int8)), (engine, i)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_validate_against_brian2(name):
    from simulator.validate import validate_main
    net = load_network(CKPT / f"{name}.h5")
    x, labels = scenarios.get(_meta(name)["scenario"]).load("test", n=10)
    report = validate_main(net, x, labels, lambda n, xs: run(n, xs, record_pre=True), None)
    assert report.passed, report.format()
