"""The project's checkpoint format: HDF5, versioned, readable with h5ls/h5dump (docs/checkpoint-format.md)."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from models.errors import CheckpointError
from models.h5_reader import FORMAT_NAME, FORMAT_VERSION, Reader
from models.paper_layout import validate_named
from models.spec import GSUMixing, Network, Norm


def save(net: Network, path: str | Path) -> None:
    """Write atomically (temp file then rename), so an interrupted save never leaves a half file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with h5py.File(tmp, "w") as f:
        a = f.attrs
        a["format"] = FORMAT_NAME
        a["format_version"] = FORMAT_VERSION
        a["kind"] = net.kind
        a["disc"] = net.disc
        a["prenorm"] = bool(net.prenorm)
        a["metadata"] = json.dumps(net.metadata, sort_keys=True)
        # Informative summary (the datasets are authoritative).
        for name in ("H", "N", "n_ssm", "n_layers", "directions", "d_input", "classes"):
            a[name] = getattr(net, name)
        a["norm"] = net.norm_kind
        f.create_group("encoder").attrs["kind"] = net.encoder.kind
        f.create_group("decoder").attrs["mode"] = net.decoder.mode
        for i, block in enumerate(net.blocks):
            g = f.create_group(f"blocks/{i}/mixing")
            g.attrs["kind"] = "gsu" if isinstance(block.mixing, GSUMixing) else "glu"
            if isinstance(block.mixing, GSUMixing):
                for k in ("norm_eps", "spike_ratio", "weight_ratio"):
                    g.attrs[k] = getattr(block.mixing, k)
            if block.norm is not None:
                _norm_attrs(f.create_group(f"blocks/{i}/norm"), block.norm)
        if net.final_norm is not None:
            _norm_attrs(f.create_group("final_norm"), net.final_norm)
        for p, arr in net.arrays().items():
            if np.iscomplexobj(arr):
                ds = f.create_dataset(p, data=np.stack([arr.real, arr.imag], axis=-1))
                ds.attrs["complex"] = "trailing axis holds (real, imag)"
            else:
                f.create_dataset(p, data=arr)
    tmp.replace(path)


def _norm_attrs(g: h5py.Group, norm: Norm) -> None:
    g.attrs["kind"] = norm.kind
    g.attrs["eps"] = norm.eps
    if norm.num_batches_tracked is not None:
        g.attrs["num_batches_tracked"] = norm.num_batches_tracked


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
