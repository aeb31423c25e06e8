"""Read a user's .npy input after checking its header: dtype, shape and size, before any data is read.

np.load trusts the header: a 100-byte file can declare 10^12 elements. Here the declared shape is
checked against models.limits.MAX_INPUT_ELEMENTS and against the bytes the file actually holds.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from models import limits
from models.errors import InputError

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats (no objects, strings, structs)


def load_npy(path: str | Path, what: str, mmap: bool = False) -> np.ndarray:
    """The array in `path` (the --{what} option), or an InputError naming the file and the problem.
    mmap: map the file read-only instead of reading it (after the same checks)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (the --{what} array)")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":   # np.savez writes a zip archive: a bundle, not one array
            raise InputError(f"--{what} {path}: expected one array in a .npy file, found a .npz archive "
                             "(save the array with np.save)")
        fh.seek(0)
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except Exception as e:  # numpy parses the header with Python's tokenizer: many error types
            raise InputError(f"{path}: not a readable .npy array (the --{what} array: {type(e).__name__}: "
                             f"{str(e)[:200]!r})") from None
        offset = fh.tell()
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields:
            raise InputError(f"{path}: --{what} array: expected a numeric dtype (bool, int or float), found {dtype}")
        count = math.prod(shape)
        if count > limits.MAX_INPUT_ELEMENTS:
            raise InputError(f"{path}: --{what} array declares shape {shape} ({count:,} values); expected at most "
                             f"{limits.MAX_INPUT_ELEMENTS:,} values (size cap)")
        if count * dtype.itemsize != size - offset:
            raise InputError(f"{path}: --{what} array declares shape {shape} of {dtype} ({count * dtype.itemsize:,} "
                             f"bytes), found {size - offset:,} bytes of data (truncated or padded file)")
        if not mmap:
            data = np.fromfile(fh, dtype=dtype, count=count)
            return data.reshape(shape, order="F" if fortran else "C")
    return np.load(path, allow_pickle=False, mmap_mode="r")
