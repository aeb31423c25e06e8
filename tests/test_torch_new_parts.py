"""The training model's new part kinds (lif_s4d, sigma_delta_s4d, s5): layouts, float64 exactness against the
simulator's reference on the imported network, gradients, import from a card, shipped checkpoints."""
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import scenarios  # noqa: E402
from models import own_layout, reference  # noqa: E402
from models.loading import load_network  # noqa: E402
from scenarios.torch_model import (ARCH_PARTS, NEW_ARCHS, LIFSpike, ModelConfig, SSMClassifier,  # noqa: E402
                                   paper_layout)

CKPT_DIR = Path(scenarios.__file__).parent / "checkpoints"
NEW_SHIPPED = [p for p in sorted(CKPT_DIR.glob("*.pt"))
               if json.loads(p.with_suffix(".json").read_text())["arch"] in NEW_ARCHS]


def _layout_by_hand(arch, H, N, n_layers, norm, bidir=False, n_ssm=None):
    """docs/checkpoint-format.md, "Layouts of the new part kinds", typed out again."""
    n_ssm = n_ssm or H
    d = 2 if bidir else 1
    keys = {}
    for i in range(n_layers):
        k, p = f"model.layers.{i}.layer.kernel.kernel.", f"model.layers.{i}."
        if arch == "lif_s4d":
            keys.update({k + "log_dt": (H,), k + "inv_A_real": (n_ssm, N // 2), k + "A_imag": (n_ssm, N // 2),
                         k + "B": (n_ssm, N // 2, 2), k + "C": (d, H, N // 2, 2)})
        elif arch == "sigma_delta_s4d":
            keys.update({k + "log_dt": (H,), k + "inv_A_real": (n_ssm, N), k + "B": (n_ssm, N), k + "C": (d, H, N)})
        else:
            keys.update({k + "log_dt": (N // 2,), k + "inv_A_real": (N // 2,), k + "A_imag": (N // 2,),
                         k + "B": (N // 2, H, 2), k + "C": (H, N // 2, 2)})
        keys[p + "layer.D"] = (1, H)
        w = H if arch == "sigma_delta_s4d" else 2 * H
        keys.update({p + "layer.output_linear.0.weight": (w, H), p + "layer.output_linear.0.bias": (w,)})
        if norm == "batch":
            q = p + "norm.norm."
            keys.update({q + "weight": (H,), q + "bias": (H,), q + "running_mean": (H,), q + "running_var": (H,),
                         q + "num_batches_tracked": ()})
    keys.update({"encoder.0.weight": (H, 1), "encoder.0.bias": (H,),
                 "decoder.0.output_transform.weight": (10, H), "decoder.0.output_transform.bias": (10,)})
    return keys


def _cfg(arch, **kw):
    base = dict(arch=arch, d_model=8, d_state=6, n_layers=2, dt_min=0.01, dt_max=0.5)
    if arch == "sigma_delta_s4d":
        base.update(norm="none", residual=False)
    base.update(kw)
    return ModelConfig(**base)


@pytest.mark.parametrize("arch", NEW_ARCHS)
def test_state_dict_layout(arch):
    cfg = _cfg(arch, n_layers=3)
    got = {k: tuple(v.shape) for k, v in SSMClassifier(cfg).state_dict().items()}
    assert got == _layout_by_hand(arch, 8, 6, 3, cfg.norm) == paper_layout(cfg)


def _randomised(cfg, seed=0, scale=0.2):
    torch.manual_seed(seed)
    m = SSMClassifier(cfg).double()
    with torch.no_grad():
        for name, b in m.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.3)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
        for name, p in m.named_parameters():
            p.add_(torch.randn_like(p) * scale)
    return m.eval()


CASES = [
    ("lif_s4d", {}),
    ("lif_s4d", dict(lif_reset="hard", lif_beta=0.7, lif_threshold=0.4, disc="zoh")),
    ("lif_s4d", dict(prenorm=True, norm="layer", n_ssm=2, bidirectional=True, decoder="last")),
    ("sigma_delta_s4d", {}),
    ("sigma_delta_s4d", dict(disc="zoh", bidirectional=True, n_ssm=4)),
    ("sigma_delta_s4d", dict(norm="batch", residual=True)),
    ("s5", {}),
    ("s5", dict(disc="zoh", d_state=10)),
    ("s5", dict(norm="none", residual=False, decoder="last")),
]


@pytest.mark.parametrize("arch,kw", CASES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(CASES)])
def test_float64_model_equals_reference_on_the_imported_network(arch, kw):
    cfg = _cfg(arch, **kw)
    m = _randomised(cfg)
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    net = own_layout.network_from_state_dict(sd, source="test", arch=arch, disc=cfg.disc, decoder=cfg.decoder,
                                             config=cfg.to_dict())
    assert net.kind == arch
    assert [b.ssm.kind for b in net.blocks] == [ARCH_PARTS[arch][0]] * cfg.n_layers
    x = np.random.default_rng(1).random((3, 60, 1))
    with torch.no_grad():
        logits, acts = m(torch.from_numpy(x), return_activity=True)
    r = reference.forward(net, x)
    np.testing.assert_allclose(r.logits, logits.numpy(), rtol=0, atol=1e-8)
    for layer, a in zip(r.layers, acts):
        if arch == "lif_s4d":
            assert np.array_equal(layer.spikes, a.numpy().astype(np.int8))
            assert 0.02 < layer.spikes.mean() < 0.98       # spikes decide something
        else:                                              # ReLU: the sigma-delta part sends exactly ReLU(y)
            np.testing.assert_allclose(np.maximum(layer.pre, 0), a.numpy(), rtol=0, atol=1e-10)
            assert 0.02 < (layer.pre > 0).mean() < 0.98


def _lif_unrolled(y, beta, thr, hard, alpha):
    """The same LIF with plain autograd: spike by the arctan surrogate, reset detached."""
    from scenarios.torch_model import spike
    v = torch.zeros_like(y[:, 0])
    out = []
    for t in range(y.shape[1]):
        v = beta * v + y[:, t]
        s = spike(v - thr, alpha)
        out.append(s)
        r = s.detach()
        v = v * (1 - r) if hard else v - thr * r
    return torch.stack(out, 1)


@pytest.mark.parametrize("hard", [False, True])
def test_lif_backward_equals_unrolled_autograd(hard):
    g = torch.Generator().manual_seed(0)
    y = torch.randn(3, 30, 5, dtype=torch.float64, generator=g).requires_grad_()
    w = torch.randn(3, 30, 5, dtype=torch.float64, generator=g)
    s1 = LIFSpike.apply(y, 0.8, 0.6, hard, 2.0)
    (g1,) = torch.autograd.grad((s1 * w).sum(), y)
    s2 = _lif_unrolled(y, 0.8, 0.6, hard, 2.0)
    (g2,) = torch.autograd.grad((s2 * w).sum(), y)
    assert torch.equal(s1, s2)
    torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("arch", NEW_ARCHS)
def test_gradients_reach_every_parameter(arch):
    m = SSMClassifier(_cfg(arch, dt_min=1e-3, dt_max=1e-1))
    m(torch.rand(2, 20, 1)).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert m.model.layers[0].layer.kernel.kernel.log_dt.grad.abs().sum() > 0


@pytest.mark.parametrize("arch", NEW_ARCHS)
def test_import_takes_the_kind_and_settings_from_the_card(arch, tmp_path):
    cfg = _cfg(arch, lif_threshold=0.5, lif_reset="hard") if arch == "lif_s4d" else _cfg(arch)
    m = _randomised(cfg).float()
    pt = tmp_path / "m.pt"
    torch.save(m.state_dict(), pt)
    with pytest.raises(Exception):                 # no card: lif_s4d reads as ambiguous, the others as foreign
        load_network(pt)
    pt.with_suffix(".json").write_text(json.dumps({"arch": arch, "config": cfg.to_dict()}))
    net = load_network(pt, disc=cfg.disc)
    assert net.kind == arch and all(b.residual == cfg.residual for b in net.blocks)
    if arch == "lif_s4d":
        assert {(b.activation.v_threshold, b.activation.reset, b.activation.beta) for b in net.blocks} == \
            {(0.5, "hard", 0.9)}
    x = np.random.default_rng(2).random((2, 30, 1))
    with torch.no_grad():
        logits = m.double()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(reference.forward(net, x).logits, logits, rtol=0, atol=1e-8)


def test_import_refuses_a_wrong_layout():
    cfg = _cfg("s5")
    sd = {k: v.numpy() for k, v in SSMClassifier(cfg).state_dict().items()}
    with pytest.raises(Exception, match="real S4D kernel"):
        own_layout.network_from_state_dict(sd, source="t", arch="sigma_delta_s4d")
    sd["model.layers.0.layer.extra"] = np.zeros(3, np.float32)
    with pytest.raises(Exception, match="unexpected keys"):
        own_layout.network_from_state_dict(sd, source="t", arch="s5")


def test_training_cli_smoke_new_arch(tmp_path):
    from scenarios import train
    out = tmp_path / "d.pt"
    meta = train.main(["digits", "--arch", "lif_s4d", "--epochs", "1", "--layers", "1", "--d-model", "8",
                       "--d-state", "4", "--n-train", "100", "--out", str(out)])
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["test_accuracy"] == meta["test_accuracy"] and side["arch"] == "lif_s4d"
    sd = torch.load(out, weights_only=True)
    assert set(sd) == set(paper_layout(ModelConfig(**side["config"])))
    assert load_network(out).kind == "lif_s4d"


# ------------------------------------------------------- shipped checkpoints --
# (tests/test_torch_model.py's card and .h5 checks run over every shipped .pt, these included)

@pytest.mark.parametrize("path", NEW_SHIPPED, ids=[p.stem for p in NEW_SHIPPED])
def test_shipped_new_checkpoint_event_engine_equals_reference(path):
    from simulator.engine import run
    side = json.loads(path.with_suffix(".json").read_text())
    net = load_network(path.with_suffix(".h5"))
    assert net.kind == side["arch"]
    x, _ = scenarios.get(side["scenario"]).load("test", n=16)
    ref = reference.forward(net, x)
    m = SSMClassifier(ModelConfig(**side["config"]))
    m.load_state_dict(torch.load(path, weights_only=True))
    m = m.double().eval()
    with torch.no_grad():
        logits, acts = m(torch.from_numpy(x), return_activity=True)
    np.testing.assert_allclose(ref.logits, logits.numpy(), rtol=0, atol=1e-8)
    r = run(net, x, engine="event", batch_size=16)
    assert np.array_equal(r.predictions, ref.predictions)
    assert np.max(np.abs(r.logits - ref.logits)) <= 1e-9 * np.abs(ref.logits).max()
    if side["arch"] == "lif_s4d":
        for ev, layer in zip(r.spikes, ref.layers):
            assert np.array_equal(ev.to_dense(*layer.spikes.shape), layer.spikes)


def test_folding_the_training_norm_keeps_the_function_and_leaves_the_plain_layout():
    from scenarios.torch_model import fold_norms
    cfg = _cfg("sigma_delta_s4d", fold_norm=True)
    m = _randomised(cfg)
    assert any(".layer.fold_norm." in k for k in m.state_dict())
    folded = fold_norms(m).double()
    assert not folded.cfg.fold_norm
    assert {k: tuple(v.shape) for k, v in folded.state_dict().items()} == _layout_by_hand("sigma_delta_s4d", 8, 6, 2,
                                                                                           "none")
    x = torch.rand(3, 40, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(folded(x), m(x), rtol=0, atol=1e-10)
