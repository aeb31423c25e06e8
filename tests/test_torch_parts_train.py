"""scenarios.train --init-from (strict warm start) and --prune (fixed magnitude mask on S5's B and C)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.loading import load_network  # noqa: E402
from scenarios import train  # noqa: E402
from scenarios.torch_model import ModelConfig, SSMClassifier, fold_norms  # noqa: E402
from scenarios.torch_parts.warm_start import InitMismatch, load_into  # noqa: E402

TINY = ["--layers", "1", "--d-model", "8", "--d-state", "4", "--n-train", "100", "--threads", "1"]


def _saved(tmp_path, arch, seed=0, **kw):
    kw = dict(arch=arch, d_input=1, n_classes=10, d_model=8, d_state=4, n_layers=1, **kw)
    if arch == "sigma_delta_s4d":
        kw.update(norm="none", residual=False)
    torch.manual_seed(seed)
    m = SSMClassifier(ModelConfig(**kw))
    path = tmp_path / f"init_{arch}.pt"
    torch.save(m.state_dict(), path)
    return m, path


def test_init_from_with_no_training_gives_back_the_same_weights(tmp_path):
    m, init = _saved(tmp_path, "s5", seed=5)
    out = tmp_path / "o.pt"
    train.main(["digits", "--arch", "s5", "--epochs", "0", "--init-from", str(init), *TINY, "--out", str(out)])
    got, want = torch.load(out, weights_only=True), m.state_dict()
    assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want)


@pytest.mark.parametrize("change, message", [
    (dict(d_model=16), "shape mismatches"),
    (dict(drop="encoder.0.bias"), "missing keys .*encoder.0.bias"),
    (dict(extra="model.layers.0.layer.extra"), "unexpected keys .*layer.extra"),
])
def test_init_from_a_file_that_does_not_fit_stops_naming_the_file_and_keys(tmp_path, change, message):
    _, init = _saved(tmp_path, "s5")
    sd = torch.load(init, weights_only=True)
    if "drop" in change:
        del sd[change["drop"]]
    if "extra" in change:
        sd[change["extra"]] = torch.zeros(3)
    torch.save(sd, init)
    d_model = str(change.get("d_model", 8))
    args = ["digits", "--arch", "s5", "--epochs", "0", "--init-from", str(init), *TINY]
    args[args.index("--d-model") + 1] = d_model
    with pytest.raises(SystemExit, match=f"--init-from {init}.*{message}"):
        train.main(args + ["--out", str(tmp_path / "o.pt")])


def test_init_from_refuses_a_pickled_object(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"w": torch.zeros(2), "code": object()}, bad)     # weights_only=True cannot load this
    with pytest.raises(InitMismatch, match="cannot be read as a state_dict"):
        load_into(SSMClassifier(ModelConfig(d_model=8, d_state=4, n_layers=1)), bad)


def test_a_folded_network_warm_starts_with_fold_norm_as_the_same_function(tmp_path):
    """--fold-norm from a shipped-style folded file: the rebuilt BatchNorms are identities in eval mode,
    so the network computes what the file does, and folding them again gives the file's weights back."""
    plain, init = _saved(tmp_path, "sigma_delta_s4d", seed=2)
    plain = plain.double().eval()
    cfg = ModelConfig(**{**plain.cfg.to_dict(), "fold_norm": True})
    model = SSMClassifier(cfg).double()
    x = torch.rand(5, 30, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    load_into(model, init, x)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), plain(x), rtol=0, atol=1e-12)
        bn = model.model.layers[0].layer.fold_norm
        _, (a,) = plain(x, return_activity=True)       # what the BatchNorm sees: the ReLU output
        torch.testing.assert_close(bn.running_mean, a.mean((0, 1)), rtol=0, atol=1e-12)
        torch.testing.assert_close(bn.running_var, a.var((0, 1), unbiased=False), rtol=0, atol=1e-12)
    back = fold_norms(model).state_dict()
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(back[k], v, rtol=0, atol=1e-12)


def _modulus(t):
    return np.hypot(t[..., 0].numpy(), t[..., 1].numpy())


def test_prune_keeps_the_smallest_entries_at_exactly_zero_through_training_and_export(tmp_path):
    _, init = _saved(tmp_path, "s5", seed=3)
    before = torch.load(init, weights_only=True)
    out = tmp_path / "p.pt"
    meta = train.main(["digits", "--arch", "s5", "--epochs", "1", "--init-from", str(init), "--prune", "0.75",
                       *TINY, "--out", str(out)])
    after = torch.load(out, weights_only=True)
    net = load_network(out)                                      # the simulator's import, card beside the .pt
    for name in ("B", "C"):
        key = f"model.layers.0.layer.kernel.kernel.{name}"
        mod = _modulus(before[key]).ravel()
        k = round(0.75 * mod.size)
        smallest = np.zeros(mod.size, bool)
        smallest[np.argsort(mod, kind="stable")[:k]] = True       # chosen again here, in numpy
        zero = (after[key] == 0).all(-1).numpy().ravel()
        assert np.array_equal(zero, smallest), name
        kept = ~smallest
        assert not np.allclose(after[key].numpy().reshape(-1, 2)[kept], before[key].numpy().reshape(-1, 2)[kept])
        arr = getattr(net.blocks[0].ssm, name)                    # complex in the simulator
        assert np.count_nonzero(arr) == kept.sum(), name
        assert meta["sparsity"][key] == pytest.approx(k / mod.size, abs=1e-4)
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["recipe"]["prune"] == 0.75 and side["recipe"]["init_from"] == str(init)


def test_prune_refuses_archs_without_an_s5_part(tmp_path):
    with pytest.raises(SystemExit, match="S5 part's B and C; --arch binary_s4d"):
        train.main(["digits", "--arch", "binary_s4d", "--epochs", "0", "--prune", "0.5", *TINY,
                    "--out", str(tmp_path / "o.pt")])
