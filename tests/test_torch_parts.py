"""scenarios/torch_parts: one PyTorch module per part kind, registered by the kind's models/parts name, each
held to its models/parts numpy forward part by part; shipped .pt files keep their exact key layout."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import scenarios  # noqa: E402
from models import reference  # noqa: E402
from models.loading import load_network  # noqa: E402
from models.parts import registry as np_parts  # noqa: E402
from scenarios.torch_model import ALL_ARCHS, ARCH_PARTS, ModelConfig, SSMClassifier  # noqa: E402
from scenarios.torch_parts import PARTS, build  # noqa: E402

CKPT = scenarios.CHECKPOINT_DIR
SHIPPED = sorted(CKPT.glob("*.pt"))


def test_every_part_kind_of_every_arch_has_a_module_named_as_in_models_parts():
    roles = ("ssm", "activation", "mixing")
    wanted = {(r, k) for parts in ARCH_PARTS.values() for r, k in zip(roles, parts)}
    wanted |= {("norm", "batch"), ("norm", "layer")}
    assert wanted <= set(PARTS)
    for role, kind in wanted:               # the same names the simulator's parts answer to
        assert kind in np_parts.kinds(role), (role, kind)


def test_an_unknown_kind_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown mixing part 'conv'; known: .*glu.*gsu.*linear"):
        build("mixing", "conv", ModelConfig())


def _cfg(arch):
    kw = dict(arch=arch, d_model=6, d_state=4, n_layers=1, dt_min=0.01, dt_max=0.5)
    if arch == "sigma_delta_s4d":
        kw.update(norm="none", residual=False)
    return ModelConfig(**kw)


def _as_network(model, tmp_path):
    """The simulator's own numpy network of model's weights, through the importer (not the torch code)."""
    pt = tmp_path / "m.pt"
    torch.save({k: v.float() if v.is_floating_point() else v for k, v in model.state_dict().items()}, pt)
    pt.with_suffix(".json").write_text(json.dumps({"arch": model.cfg.arch, "config": model.cfg.to_dict()}))
    return load_network(pt, disc=model.cfg.disc)


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_each_part_module_computes_its_models_parts_forward(arch, tmp_path):
    torch.manual_seed(1)
    model = SSMClassifier(_cfg(arch)).float()
    with torch.no_grad():                   # float32-exact weights, so the import loses nothing
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model = model.double().eval()
    block = _as_network(model, tmp_path).blocks[0]
    layer = model.model.layers[0].layer
    u = np.random.default_rng(0).normal(size=(2, 12, 6))
    with torch.no_grad():
        y = layer.kernel(torch.from_numpy(u), layer.D)
        np.testing.assert_allclose(y.numpy(), block.ssm.forward(u, "bilinear"), rtol=0, atol=1e-10)
        y = y.numpy()
        a = layer.activation(torch.from_numpy(y)).numpy()
        sent, _ = block.activation.forward(y)
        np.testing.assert_allclose(a, sent, rtol=0, atol=1e-12)
        out = layer.mixing(torch.from_numpy(sent.astype(np.float64)), torch.from_numpy(y)).numpy()
        np.testing.assert_allclose(out, block.mixing.forward(sent, y), rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_pt_has_the_composed_models_exact_keys_and_outputs(path):
    """Keys in the same order with the same shapes, strict load, and the .h5's float64 outputs."""
    side = json.loads(path.with_suffix(".json").read_text())
    model = SSMClassifier(ModelConfig(**side["config"]))
    sd = torch.load(path, weights_only=True)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in sd.items()]
    model.load_state_dict(sd, strict=True)
    model = model.double().eval()
    x, _ = scenarios.get(side["scenario"]).load("test", n=6)
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
    ref = reference.forward(load_network(path.with_suffix(".h5")), x).logits
    assert np.array_equal(ref.argmax(1), logits.argmax(1))
    assert np.max(np.abs(ref - logits)) <= 1e-9 * np.abs(ref).max()


def test_gsu_weights_adopted_by_the_layer_follow_dtype_changes():
    """The GSU's tensors sit on the layer (the paper's keys); the part must see the same tensors after .double()."""
    layer = SSMClassifier(_cfg("gsu")).double().model.layers[0].layer
    assert layer.mixing.GSU is layer.GSU and layer.GSU.dtype == torch.float64
    assert {n for n, _ in layer.named_parameters(recurse=False)} == {"D", "GSU", "GSU_bias"}
