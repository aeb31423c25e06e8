import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from models.init import s4d_state_dict  # noqa: E402
from models.paper_layout import network_from_state_dict  # noqa: E402

# Every option combination that matters (issue 2): kind x direction x disc x norm x placement x n_ssm.
COMBOS = list(itertools.product(("binary_s4d", "gsu", "s4d"), (1, 2), ("bilinear", "zoh"), ("batch", "layer"),
                                (False, True), ("full", "shared")))


def combo_id(c):
    kind, dirs, disc, norm, pre, n_ssm = c
    return f"{kind}-{'bi' if dirs == 2 else 'uni'}-{disc}-{norm}-{'pre' if pre else 'post'}-nssm_{n_ssm}"


def make_sd(kind="binary_s4d", directions=1, norm="batch", prenorm=False, n_ssm="full", H=8, N=8, n_layers=2,
            seed=0, **kw):
    return s4d_state_dict(kind=kind, H=H, N=N, n_layers=n_layers, directions=directions, norm=norm,
                          prenorm=prenorm, n_ssm=None if n_ssm == "full" else 2, perturb=0.3, seed=seed, **kw)


def make_net(kind="binary_s4d", disc="bilinear", decoder="pool", **kw):
    sd = make_sd(kind=kind, **kw)
    return network_from_state_dict(sd, source="test", kind=kind, disc=disc, decoder=decoder), sd


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
