"""Content hashes that say whether two runs compute the same thing: the network as loaded, the input, a file.

A resumed run may only continue a stored one if every number that can change a result is the same, so the
network is hashed after loading (whatever file it came from), array by array, with every option it holds.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

CHUNK = 1 << 24  # bytes hashed at a time: hashing a large input never copies it whole


def _update_array(h, a) -> None:
    a = np.asarray(a)
    h.update(repr((a.dtype.str, a.shape)).encode())
    flat = a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)
    step = max(1, CHUNK // max(1, a.itemsize))
    for i in range(0, flat.size, step):
        h.update(flat[i:i + step].tobytes())


def array_fingerprint(a) -> str | None:
    """sha256 of an array's dtype, shape and values; None for None (e.g. no labels)."""
    if a is None:
        return None
    h = hashlib.sha256()
    _update_array(h, a)
    return h.hexdigest()


def _walk(h, obj, path: str) -> None:
    """Hash every field of the network's dataclasses in a fixed order (metadata excluded: it computes nothing)."""
    h.update(path.encode() + b"\0")
    if dataclasses.is_dataclass(obj):
        h.update(type(obj).__name__.encode())
        for f in dataclasses.fields(obj):
            if f.name != "metadata":
                _walk(h, getattr(obj, f.name), f"{path}/{f.name}")
    elif isinstance(obj, (tuple, list)):
        h.update(f"seq{len(obj)}".encode())
        for i, item in enumerate(obj):
            _walk(h, item, f"{path}/{i}")
    elif isinstance(obj, np.ndarray):
        _update_array(h, obj)
    else:
        h.update(repr(obj).encode())  # kind, disc, eps, ratios, prenorm, ...


def network_fingerprint(net) -> str:
    """sha256 over every parameter array and every scalar option of a loaded Network."""
    h = hashlib.sha256()
    _walk(h, net, "net")
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()
