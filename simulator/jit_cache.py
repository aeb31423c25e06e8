"""Where compiled kernels are cached: one folder per version of the kernels' source.

Numba's disk cache checks only the file a function is defined in, not the functions it calls from other
files: after an edit (or an upgrade) of simulator/kernels.py, a cached kernel in simulator/parts/ would
still run the old code it inlined. Keying the whole cache by a hash of every kernel source rules that out.
A user's own NUMBA_CACHE_DIR is respected (and then this guarantee is theirs to keep).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
KEEP = 3          # versions kept; older folders are removed (they only cost recompiling)
STALE_S = 86400   # ... once unused for a day


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of every simulator source file that defines compiled kernels."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_bytes()
        if b"njit" in text:
            h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + text + b"\0")
    return h.hexdigest()[:16]


def cache_root() -> Path:
    """$SSM_SNN_CACHE, else ~/.cache/ssm-snn, else a folder in the temporary directory: the first writable."""
    for d in (os.environ.get("SSM_SNN_CACHE"), Path.home() / ".cache" / "ssm-snn"):
        if d:
            try:
                Path(d).mkdir(parents=True, exist_ok=True)
                if os.access(d, os.W_OK):
                    return Path(d)
            except OSError:
                pass
    d = Path(tempfile.gettempdir()) / f"ssm-snn-{os.getuid()}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def versioned(kind: str) -> Path:
    """cache_root()/kind/<code version>, created; older versions beyond KEEP are removed."""
    base = cache_root() / kind
    d = base / code_version()
    d.mkdir(parents=True, exist_ok=True)
    os.utime(d)
    old = sorted((p for p in base.iterdir() if p.is_dir() and p != d), key=lambda p: p.stat().st_mtime)
    for p in old[:max(0, len(old) - (KEEP - 1))]:
        if time.time() - p.stat().st_mtime > STALE_S:      # not one another process is using right now
            shutil.rmtree(p, ignore_errors=True)
    return d


def configure() -> None:
    """Point Numba's disk cache at this code version's folder (before any kernel module is imported)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    import numba
    numba.config.CACHE_DIR = str(versioned("numba"))


_LOADED: dict[str, object] = {}


def load_generated(kind: str, src: str):
    """Import generated kernel source as a module, written once to this code version's `kind` folder (an
    unchanged file keeps Numba's disk cache valid: the kernels it calls are of this version)."""
    key = hashlib.sha256(src.encode()).hexdigest()[:20]
    if key in _LOADED:
        return _LOADED[key]
    path = versioned(kind) / f"{kind}_{key}.py"
    if not path.is_file() or path.read_text() != src:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src)
        os.replace(tmp, path)   # atomic: a concurrent run sees the old file or the new one, never half
    spec = importlib.util.spec_from_file_location(f"ssm_snn_{kind}_{key}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # Numba's disk cache finds the kernel's globals by module name
    spec.loader.exec_module(module)
    _LOADED[key] = module
    return module
