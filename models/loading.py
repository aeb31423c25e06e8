"""One entry point for every checkpoint kind a user may pass."""
from __future__ import annotations

from pathlib import Path

from models import checkpoint, paper_layout, torch_io
from models.spec import Network


def load_network(path: str | Path, *, disc: str = "bilinear", decoder: str = "pool",
                 kind: str | None = None) -> Network:
    """Our .h5 files load as saved; paper checkpoints (.pt/.ckpt/.safetensors) are imported on the fly,
    with `disc`, `decoder` and `kind` standing in for what their shapes cannot tell."""
    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        return checkpoint.load(path)
    sd = torch_io.read_state_dict(path)
    return paper_layout.network_from_state_dict(sd, source=str(path), disc=disc, decoder=decoder, kind=kind)
