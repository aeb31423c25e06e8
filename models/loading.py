"""One entry point for every checkpoint kind a user may pass."""
from __future__ import annotations

from pathlib import Path

from models import checkpoint, layer_kind, own_layout, paper_layout, presets, torch_io
from models.errors import CheckpointError
from models.spec import Network


def load_network(path: str | Path, *, disc: str = "bilinear", decoder: str = "pool",
                 kind: str | None = None) -> Network:
    """Our .h5 files load as saved; paper checkpoints (.pt/.ckpt/.safetensors) are imported on the fly,
    with `disc`, `decoder` and `kind` standing in for what their shapes cannot tell.

    Without `kind`, a model card beside the file (X.json with `arch`) or a Lightning checkpoint's
    hyper-parameters name it; GSU is known from its keys; otherwise the import is refused. The new part
    kinds' recipes (models/presets.py RECIPES: lif_s4d, sigma_delta_s4d, s5) are read in our layout
    (models/own_layout.py), with what the keys cannot tell from the card's `config`.
    """
    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        return checkpoint.load(path)
    sd, hyper = torch_io.read_checkpoint(path)
    card = layer_kind.read_card(path)
    kind_source = "--kind"
    if kind is None:
        said = [k for k in (layer_kind.kind_from_card(card, path), layer_kind.kind_from_hyper_parameters(hyper, path))
                if k]
        if len({k for k, _ in said}) > 1:
            raise CheckpointError(f"{path}: the layer kind is stated twice and differently: {said[0][1]} says "
                                  f"{said[0][0]!r}, {said[1][1]} says {said[1][0]!r}; expected --kind to settle it")
        kind, kind_source = said[0] if said else (None, "")
    if kind in presets.RECIPES:   # the new part kinds: our layout (models/own_layout.py), settings from the card
        return own_layout.network_from_state_dict(sd, source=str(path), arch=kind, arch_source=kind_source,
                                                  disc=disc, decoder=decoder,
                                                  config=(card or {}).get("config"))
    return paper_layout.network_from_state_dict(sd, source=str(path), disc=disc, decoder=decoder, kind=kind,
                                                kind_source=kind_source,
                                                gsu_threshold=layer_kind.gsu_threshold_from_card(card, path))
