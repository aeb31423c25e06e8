"""The project's checkpoint format: HDF5, versioned, readable with h5ls/h5dump (docs/checkpoint-format.md)."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from models.errors import CheckpointError
from models.h5_reader import FORMAT_NAME, FORMAT_VERSION, Reader
from models.paper_layout import validate_named
from models.spec import Network


def save(net: Network, path: str | Path) -> None:
    """Write version 2 atomically (temp file then rename), so an interrupted save never leaves a half file.

    Every part is a group holding its kind, its settings as attributes and its arrays as datasets.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with h5py.File(tmp, "w") as f:
        a = f.attrs
        a["format"] = FORMAT_NAME
        a["format_version"] = FORMAT_VERSION
        a["disc"] = net.disc
        a["prenorm"] = bool(net.prenorm)
        a["metadata"] = json.dumps(net.metadata, sort_keys=True)
        # Informative summary (the groups and datasets are authoritative).
        for name in ("H", "N", "n_ssm", "n_layers", "directions", "d_input", "classes"):
            a[name] = getattr(net, name)
        a["norm"] = net.norm_kind
        f.create_group("encoder").attrs["kind"] = net.encoder.kind
        f.create_group("decoder").attrs["mode"] = net.decoder.mode
        for i, block in enumerate(net.blocks):
            f.create_group(f"blocks/{i}").attrs["residual"] = bool(block.residual)
            for role, part in block.parts().items():
                _write_part(f, f"blocks/{i}/{role}", part)
        if net.final_norm is not None:
            _write_part(f, "final_norm", net.final_norm)
        for p in ("encoder/weight", "encoder/bias", "decoder/weight", "decoder/bias"):
            arr = net.arrays().get(p)
            if arr is not None:
                f.create_dataset(p, data=arr)
    tmp.replace(path)


def _write_part(f: h5py.File, group: str, part) -> None:
    g = f.require_group(group)
    g.attrs["kind"] = part.kind
    for name, value in part.settings().items():
        g.attrs[name] = value
    for name, arr in part.arrays().items():
        if name in part.COMPLEX:
            ds = g.create_dataset(name, data=np.stack([arr.real, arr.imag], axis=-1))
            ds.attrs["complex"] = "trailing axis holds (real, imag)"
        else:
            g.create_dataset(name, data=arr)


def load(path: str | Path) -> Network:
    """Read and validate; every failure is a CheckpointError naming the file and the dataset or attribute.

    Order matters for hostile files: first list the nodes without following links (h5_safety), then check
    attributes and every dataset's declared shape and dtype, and only then read data.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    if not h5py.is_hdf5(path):
        raise CheckpointError(f"{path}: not an HDF5 file (truncated, or another format; "
                              "use 'python -m simulator import' for PyTorch or safetensors checkpoints)")
    try:
        with h5py.File(path, "r") as f:
            net = Reader(f, path).network()
    except CheckpointError:
        raise
    except Exception as e:  # h5py raises OSError/KeyError/ValueError/... for damaged files
        raise CheckpointError(f"{path}: damaged or incomplete checkpoint ({type(e).__name__}: {e})") from None
    return validate_named(net, str(path), {p: f"dataset /{p}" for p in net.arrays()})
