"""The project's checkpoint format: HDF5, versioned, readable with h5ls/h5dump (docs/checkpoint-format.md)."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from models.errors import CheckpointError
from models.paper_layout import validate_named
from models.spec import SSM, Block, Decoder, Encoder, GLUMixing, GSUMixing, Network, Norm

FORMAT_NAME = "ssm-snn-checkpoint"
FORMAT_VERSION = 1


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
    """Read and validate; every failure is a CheckpointError naming the file and the dataset."""
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
            net = _read(f, path)
    except CheckpointError:
        raise
    except Exception as e:  # h5py raises OSError/KeyError/ValueError/... for damaged files
        raise CheckpointError(f"{path}: damaged or incomplete checkpoint ({type(e).__name__}: {e})") from None
    return validate_named(net, str(path), {p: f"dataset /{p}" for p in net.arrays()})


def _attr(node, name: str, path: Path, types=(str,)):
    if name not in node.attrs:
        raise CheckpointError(f"{path}: attribute {name!r} of {node.name!r} is missing")
    v = node.attrs[name]
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.generic):
        v = v.item()
    if not isinstance(v, types):
        raise CheckpointError(f"{path}: attribute {name!r} of {node.name!r}: expected {types[0].__name__}, "
                              f"found {type(v).__name__}")
    return v


def _ds(f: h5py.File, p: str, path: Path, complex_: bool = False) -> np.ndarray:
    if p not in f:
        raise CheckpointError(f"{path}: dataset /{p} is missing")
    node = f[p]
    if not isinstance(node, h5py.Dataset):
        raise CheckpointError(f"{path}: /{p} should be a dataset, found a {type(node).__name__}")
    a = node[()]
    if not isinstance(a, np.ndarray) or not np.issubdtype(a.dtype, np.floating):
        raise CheckpointError(f"{path}: dataset /{p}: expected floating-point data, found "
                              f"{getattr(a, 'dtype', type(a).__name__)}")
    a = a.astype(np.float64)
    if complex_:
        if a.ndim == 0 or a.shape[-1] != 2:
            raise CheckpointError(f"{path}: dataset /{p}: expected a trailing (real, imag) axis of length 2, "
                                  f"found shape {a.shape}")
        return a[..., 0] + 1j * a[..., 1]
    return a


def _read(f: h5py.File, path: Path) -> Network:
    fmt = _attr(f, "format", path)
    if fmt != FORMAT_NAME:
        raise CheckpointError(f"{path}: attribute 'format' is {fmt!r}, expected {FORMAT_NAME!r}")
    version = _attr(f, "format_version", path, (int,))
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {version} is not supported by this simulator "
                              f"(it reads version {FORMAT_VERSION}); upgrade the simulator or re-export the file")
    kind = _attr(f, "kind", path)
    meta_text = _attr(f, "metadata", path)
    try:
        metadata = json.loads(meta_text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: attribute 'metadata' is not valid JSON ({e})") from None
    if "blocks" not in f or not isinstance(f["blocks"], h5py.Group):
        raise CheckpointError(f"{path}: group /blocks is missing")
    names = sorted(f["blocks"].keys(), key=lambda s: int(s) if s.isdigit() else -1)
    if names != [str(i) for i in range(len(names))]:
        raise CheckpointError(f"{path}: /blocks must hold groups 0..n-1, found {names}")

    def norm(p: str) -> Norm | None:
        if p not in f:
            return None
        g = f[p]
        nk = _attr(g, "kind", path)
        kw = dict(kind=nk, weight=_ds(f, p + "/weight", path), bias=_ds(f, p + "/bias", path),
                  eps=float(_attr(g, "eps", path, (float, int))))
        if nk == "batch":
            kw.update(running_mean=_ds(f, p + "/running_mean", path), running_var=_ds(f, p + "/running_var", path))
        if "num_batches_tracked" in g.attrs:
            kw["num_batches_tracked"] = int(_attr(g, "num_batches_tracked", path, (int,)))
        return Norm(**kw)

    blocks = []
    for i in range(len(names)):
        b = f"blocks/{i}"
        s = b + "/ssm/"
        ssm = SSM(log_dt=_ds(f, s + "log_dt", path), inv_A_real=_ds(f, s + "inv_A_real", path),
                  A_imag=_ds(f, s + "A_imag", path), B=_ds(f, s + "B", path, True), C=_ds(f, s + "C", path, True),
                  D=_ds(f, s + "D", path))
        m = b + "/mixing"
        if m not in f:
            raise CheckpointError(f"{path}: group /{m} is missing")
        mk = _attr(f[m], "kind", path)
        if mk == "gsu":
            ma = {k: float(_attr(f[m], k, path, (float, int))) for k in ("norm_eps", "spike_ratio", "weight_ratio")}
            mixing = GSUMixing(weight=_ds(f, m + "/weight", path), bias=_ds(f, m + "/bias", path),
                               norm_weight=_ds(f, m + "/norm_weight", path), norm_bias=_ds(f, m + "/norm_bias", path), **ma)
        elif mk == "glu":
            mixing = GLUMixing(weight=_ds(f, m + "/weight", path), bias=_ds(f, m + "/bias", path))
        else:
            raise CheckpointError(f"{path}: attribute 'kind' of /{m}: expected 'glu' or 'gsu', found {mk!r}")
        blocks.append(Block(ssm=ssm, mixing=mixing, norm=norm(b + "/norm")))
    if "encoder" not in f or "decoder" not in f:
        raise CheckpointError(f"{path}: groups /encoder and /decoder are required")
    ek = _attr(f["encoder"], "kind", path)
    encoder = Encoder(ek, _ds(f, "encoder/weight", path), _ds(f, "encoder/bias", path) if ek == "linear" else None)
    decoder = Decoder(_attr(f["decoder"], "mode", path), _ds(f, "decoder/weight", path), _ds(f, "decoder/bias", path))
    return Network(kind=kind, disc=_attr(f, "disc", path), prenorm=bool(_attr(f, "prenorm", path, (bool, int))),
                   encoder=encoder, blocks=tuple(blocks), final_norm=norm("final_norm"), decoder=decoder,
                   metadata=metadata)
