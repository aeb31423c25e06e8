"""Read and write the paper's checkpoint files (.pt, Lightning .ckpt, .safetensors) as numpy dicts.

torch is optional: only .pt/.ckpt need it. Files are never unpickled beyond torch's weights-only loader.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from models.declared_sizes import check_safetensors, check_torch_zip
from models.errors import CheckpointError

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
INSTALL_HINT = "install the optional extra: pip install -r requirements-train.txt (torch==2.13.0, CPU)"


def _torch(path: Path):
    try:
        import torch
    except ImportError:
        raise CheckpointError(f"{path}: reading {path.suffix} checkpoints needs PyTorch; {INSTALL_HINT}; "
                              "or convert it to .safetensors elsewhere") from None
    return torch


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    return read_checkpoint(path)[0]


def read_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict | None]:
    """(state_dict as numpy, a Lightning checkpoint's hyper_parameters or None). Sizes are checked first."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        check_safetensors(path)
        try:
            from safetensors.numpy import load_file
            return dict(load_file(str(path))), None
        except Exception as e:  # the library raises several types for corrupt files
            raise CheckpointError(f"{path}: not a readable .safetensors file ({type(e).__name__}: {e})") from None
    if suffix not in TORCH_SUFFIXES:
        raise CheckpointError(f"{path}: unknown checkpoint type {suffix!r}; expected .h5 (this project's format), "
                              ".pt/.pth/.ckpt (PyTorch) or .safetensors")
    check_torch_zip(path)
    torch = _torch(path)
    try:
        with warnings.catch_warnings():  # torch warns about old pickle protocols before refusing them
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: refused or unreadable PyTorch file ({type(e).__name__}: {first}). Only plain "
                              "tensors are loaded (weights_only=True): files that need arbitrary code to unpickle "
                              "are rejected") from None
    hyper = None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):  # Lightning checkpoint
        hyper = obj.get("hyper_parameters")
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a state_dict (a dict of tensors), found {type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{path}: key {k!r}: expected a tensor, found {type(v).__name__}")
        try:  # sparse, quantized or meta tensors have no plain numpy form
            out[str(k)] = v.detach().cpu().numpy() if v.dtype != torch.bfloat16 else v.float().numpy()
        except Exception as e:
            raise CheckpointError(f"{path}: key {k!r}: expected a dense tensor, found {v.layout} {v.dtype} "
                                  f"({type(e).__name__})") from None
    return out, hyper


def write_state_dict(sd: dict[str, np.ndarray], path: str | Path) -> None:
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        from safetensors.numpy import save_file
        save_file({k: np.array(v, order="C") for k, v in sd.items()}, str(path))
        return
    torch = _torch(path)
    torch.save({k: torch.from_numpy(np.array(v, order="C")) for k, v in sd.items()}, str(path))
