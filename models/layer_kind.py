"""What a bare state_dict's layer kind is, from the evidence beside its tensors.

Binary S4D and the S4D (GELU) baseline have identical key layouts, so the tensors cannot tell them apart.
Two sources can: a model card `X.json` beside `X.pt` (field `arch`, as written by scenarios.train), and
the hyper-parameters a Lightning `.ckpt` stores (the paper code's layer `_name_`). Each returns
(kind, where it was read) or None when the source says nothing.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from models.errors import CheckpointError
from models.presets import ARCHS as LAYER_KINDS  # the paper's three and the new recipes

MAX_CARD_BYTES = 2**20  # model cards are a few kB
# The paper code's layer names (configs/model/layer/*.yaml `_name_`) -> our kinds.
PAPER_LAYER_NAMES = {"s4_surrogate": "binary_s4d", "s4_gsu": "gsu", "s4": "s4d", "s4d": "s4d"}


def card_path(checkpoint: Path) -> Path:
    return checkpoint.with_suffix(".json")


def read_card(checkpoint: Path) -> dict | None:
    """The model card beside a checkpoint, or None if there is none."""
    card = card_path(checkpoint)
    if not card.is_file():
        return None
    if card.stat().st_size > MAX_CARD_BYTES:
        raise CheckpointError(f"{card}: model card of {checkpoint} is larger than {MAX_CARD_BYTES} bytes; "
                              "expected a small JSON object")
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{card}: model card of {checkpoint} is not valid JSON ({type(e).__name__})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{card}: model card of {checkpoint}: expected a JSON object, "
                              f"found {type(data).__name__}")
    return data


def kind_from_card(card: dict | None, checkpoint: Path) -> tuple[str, str] | None:
    if card is None or "arch" not in card:
        return None
    arch = card["arch"]
    if arch not in LAYER_KINDS:
        raise CheckpointError(f"{checkpoint}: its model card {card_path(checkpoint).name}, field 'arch': "
                              f"expected one of {', '.join(LAYER_KINDS)}, found {arch!r}")
    return arch, f"model card {card_path(checkpoint)}"


def gsu_threshold_from_card(card: dict | None, checkpoint: Path) -> float | None:
    """scenarios.train's `config.gsu_threshold`: one ratio for both GSU thresholds (spikes and weights)."""
    config = card.get("config") if card else None
    if not isinstance(config, dict) or "gsu_threshold" not in config:
        return None
    t = config["gsu_threshold"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t < 1:
        raise CheckpointError(f"{checkpoint}: its model card {card_path(checkpoint).name}, field "
                              f"'config.gsu_threshold': expected a number in [0, 1), "
                              f"found {t!r}")
    return float(t)


def kind_from_hyper_parameters(hp, checkpoint: Path) -> tuple[str, str] | None:
    """A Lightning checkpoint's `hyper_parameters`: our `arch`, or the paper config's model.layer._name_."""
    if not isinstance(hp, dict):
        return None
    where = f"{checkpoint}: hyper_parameters"
    if "arch" in hp:
        if hp["arch"] not in LAYER_KINDS:
            raise CheckpointError(f"{where}['arch']: expected one of {', '.join(LAYER_KINDS)}, found {hp['arch']!r}")
        return hp["arch"], f"{where}['arch']"
    layer = hp.get("model", {}).get("layer") if isinstance(hp.get("model"), dict) else None
    layers = layer if isinstance(layer, list) else [layer]
    names = {d.get("_name_") for d in layers if isinstance(d, dict)}
    if not names:
        return None
    if len(names) != 1 or next(iter(names)) not in PAPER_LAYER_NAMES:
        raise CheckpointError(f"{where}['model']['layer']['_name_']: expected one of {', '.join(PAPER_LAYER_NAMES)}, "
                              f"found {sorted(map(repr, names))}; pass --kind binary_s4d|s4d|gsu to override")
    return PAPER_LAYER_NAMES[names.pop()], f"{where}['model']['layer']['_name_']"
