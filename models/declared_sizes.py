"""Check the sizes a .safetensors header or a zip .pt declares, before any tensor is loaded.

A few bytes of header can declare gigabytes of tensors; loading first and checking after would already
have spent the memory. Caps are in models.limits.
"""
from __future__ import annotations

import json
import math
import struct
import zipfile
from pathlib import Path

from models import limits
from models.errors import CheckpointError

# safetensors dtype names -> bytes per element (the ones numpy can hold; others are refused later).
SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4,
                      "F32": 4, "I64": 8, "U64": 8, "F64": 8}
# Bytes a zip .pt may unpack to: the element cap in float64, plus room for the pickled index.
MAX_TORCH_BYTES = limits.MAX_CHECKPOINT_ELEMENTS * 8 + 64 * 2**20


def check_safetensors(path: Path) -> None:
    """Parse the JSON header ourselves: every tensor's dtype, shape and byte range, and the total."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a .safetensors file (shorter than its 8-byte header length)")
        (n,) = struct.unpack("<Q", head)
        if n > limits.MAX_HEADER_BYTES or 8 + n > size:
            raise CheckpointError(f"{path}: safetensors header length {n} bytes: expected at most "
                                  f"{min(limits.MAX_HEADER_BYTES, size - 8)} (the cap, and what the file holds)")
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: safetensors header is not valid JSON ({type(e).__name__})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: safetensors header: expected a JSON object, found {type(header).__name__}")
    data_bytes, total = size - 8 - n, 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        where = f"{path}: tensor {key!r}"
        if not isinstance(entry, dict):
            raise CheckpointError(f"{where}: expected a header entry {{dtype, shape, data_offsets}}, "
                                  f"found {entry!r:.60}")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in SAFETENSORS_DTYPES:
            raise CheckpointError(f"{where}: expected dtype one of {', '.join(SAFETENSORS_DTYPES)}, "
                                  f"found {dtype!r:.40}")
        if not _ints(shape) or not _ints(offsets) or len(offsets) != 2:
            raise CheckpointError(f"{where}: expected shape and data_offsets as lists of integers >= 0, "
                                  f"found {shape!r:.60} and {offsets!r:.60}")
        count = math.prod(shape)
        total += count
        if total > limits.MAX_CHECKPOINT_ELEMENTS:
            raise CheckpointError(f"{where}: the header declares more than {limits.MAX_CHECKPOINT_ELEMENTS:,} "
                                  "values in total (size cap)")
        begin, end = offsets
        if not begin <= end <= data_bytes or end - begin != count * SAFETENSORS_DTYPES[dtype]:
            raise CheckpointError(f"{where}: shape {shape} of {dtype} needs {count * SAFETENSORS_DTYPES[dtype]} bytes, "
                                  f"found byte range {offsets} in a data section of {data_bytes} bytes")


def check_torch_zip(path: Path) -> None:
    """A zip .pt (torch >= 1.6) lists each storage's uncompressed size: cap their sum before torch.load."""
    if not zipfile.is_zipfile(path):
        return  # legacy pickle format: torch.load itself reads storages sequentially from the file
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: damaged zip container of a PyTorch file ({type(e).__name__}: {e})") from None
    total = sum(i.file_size for i in infos)
    if total > MAX_TORCH_BYTES:
        raise CheckpointError(f"{path}: the PyTorch archive declares {total:,} bytes of entries; expected at most "
                              f"{MAX_TORCH_BYTES:,} (size cap: {limits.MAX_CHECKPOINT_ELEMENTS:,} float64 values)")


def _ints(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)
