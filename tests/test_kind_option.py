"""--kind names every network kind (models/presets.py), and a kind is never read in a layout it does not have."""
import shutil

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, call

import scenarios
from models import presets
from models.errors import CheckpointError
from models.init import s4d_state_dict
from models.loading import load_network
from models.paper_layout import network_from_state_dict

CKPT = scenarios.CHECKPOINT_DIR


def test_help_offers_every_kind():
    code, out, _ = call("import", "--help")
    assert code == 0
    for name in presets.ARCHS:
        assert name in out, name


@pytest.mark.parametrize("recipe", sorted(presets.RECIPES))
def test_the_paper_layout_refuses_a_recipe_instead_of_building_a_placeholder(recipe):
    sd = s4d_state_dict(kind="binary_s4d", H=8, N=4, n_layers=1)
    with pytest.raises(CheckpointError, match=f"kind '{recipe}'.*not one of the paper's layouts"):
        network_from_state_dict(sd, source="x.pt", kind=recipe)


@pytest.mark.parametrize("name,arch", [("smnist_s5", "s5"), ("smnist_lif_s4d", "lif_s4d")])
def test_a_new_recipe_without_its_card_imports_with_kind(tmp_path, name, arch):
    pytest.importorskip("torch")
    bare = tmp_path / f"{name}.pt"                  # no model card beside it
    shutil.copy(CKPT / f"{name}.pt", bare)
    code, _, _ = call("info", bare)
    assert code == 2                                # nobody says which kind: refused, not guessed
    out = tmp_path / "m.h5"
    code, _, lines = call("import", bare, "--kind", arch, "--out", out)
    assert code == 0, lines
    with_card = load_network(CKPT / f"{name}.pt")   # the card's arch
    assert _arrays(load_network(out)) == _arrays(with_card)


def _arrays(net):
    """Every block's part kinds, settings and arrays, as comparable values."""
    out = []
    for b in net.blocks:
        for part in (b.norm, b.ssm, b.activation, b.mixing):
            if part is not None:
                out.append((part.kind, repr(part.settings()),
                            {k: np.asarray(v).tobytes() for k, v in part.arrays().items()}))
        out.append(b.residual)
    return out


def test_untrained_workloads_refuse_a_recipe_they_cannot_build():
    assert_one_line_error(call("run", "--scenario", "lra-listops", "--kind", "s5", "--samples", "1"),
                          "--kind s5", "paper's kinds")
