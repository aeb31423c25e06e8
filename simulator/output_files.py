"""Writing outputs safely: check a destination before any compute, write every file atomically, strict JSON.

A file written here appears whole or not at all (temporary name, then os.replace), and a failed write (disk
full, read-only folder) leaves no temporary file behind and becomes one OutputError naming the file.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from models.errors import SimulatorError

TMP_SUFFIX = ".tmp"


class OutputError(SimulatorError):
    """An output file or folder cannot be written; the message names it and says why."""


def _reason(e: BaseException) -> str:
    m = re.search(r"error message = '([^']+)'", str(e))  # HDF5 reports the OS error inside its own message
    return (m.group(1) if m else None) or getattr(e, "strerror", None) or str(e) or type(e).__name__


def is_write_failure(e: BaseException) -> bool:
    """OSError, or HDF5's RuntimeError for a failed write (disk full, I/O error)."""
    return isinstance(e, OSError) or (isinstance(e, RuntimeError) and "errno" in str(e))


def write_failure(path, e: BaseException) -> "OutputError":
    return OutputError(f"{path}: cannot write ({_reason(e)})")


def check_writable_dir(path, option: str = "--out") -> Path:
    """Create the folder if needed and prove a file can be created in it (as root, permission bits prove
    nothing: only writing does)."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=p, prefix=".write-probe-", suffix=TMP_SUFFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"{option} {path}: expected a folder this process can write to; "
                          f"cannot write there ({_reason(e)})") from None
    return p


def check_writable_file(path, option: str = "--out") -> Path:
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{option} {path}: expected a file name, found a folder")
    check_writable_dir(p.parent if str(p.parent) else ".", option=f"{option} {path}: its folder")
    return p


@contextmanager
def atomic_path(final):
    """Yields a temporary path next to `final`; renamed onto `final` only if the block succeeds."""
    final = Path(final)
    tmp = final.with_name(final.name + TMP_SUFFIX)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if is_write_failure(e):
            raise write_failure(final, e) from None
        raise


def h5_image(fill) -> bytes:
    """An HDF5 file built in memory by fill(h5py.File): the library never meets a failing disk (after a failed
    write HDF5 can leave handles that crash the interpreter at exit), and the bytes can be hashed as written."""
    import h5py
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        fill(f)
    return buf.getvalue()


def write_bytes_atomic(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def ensure_free_space(path, needed: int) -> None:
    """Refuse before HDF5 writes into a file on a disk without room for it (see h5_image for why)."""
    st = os.statvfs(Path(path).parent)
    free = st.f_bavail * st.f_frsize
    if free < needed:
        raise OutputError(f"{path}: cannot write (No space left on device: {free} bytes free, about {needed} needed)")


def write_text_atomic(path, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def strict_json(obj):
    """A JSON-able copy in which NaN and infinities are null and numpy scalars are plain numbers."""
    if isinstance(obj, dict):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict_json(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps_strict(obj, indent=1) -> str:
    return json.dumps(strict_json(obj), indent=indent, allow_nan=False)


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, dumps_strict(obj))


def remove_stale_tmp(folder) -> None:
    """Temporary files of a run that was killed while writing: never complete, never read."""
    for stale in Path(folder).glob("*" + TMP_SUFFIX):
        try:
            stale.unlink()
        except OSError:
            pass
