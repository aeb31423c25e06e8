"""Part kernels with their array sizes written into their source, for the fused kernel's generated module.

The fused kernel takes such copies of its SSM block kernel (simulator/vector_ssm.py, whose vector state needs
the mode count as a constant) and of the spike mixing's block kernel. With the sizes constants, LLVM unrolls
the inner loops and drops the run-time checks it otherwise runs each time one starts (once per spike in the
mixing): the same code and the same bits (tests/test_fused.py compares the fused kernel with the walker).
Measured on the shipped sMNIST network: kernels.ssm_block's mode count 1.11x (float64) and 1.07x (float32) on
whole fused runs; the mixing's sizes 1.18x on the event mixing kernel. The walker keeps the general mixing
kernel, which serves any size, and takes copies of the SSM's (simulator/vector_ssm.walker_kernels).
"""
from __future__ import annotations

import functools
import inspect
import re


def source(fn, name: str, array: str, sizes: tuple[int, ...], renames: dict[str, str] | None = None) -> str:
    """Kernel fn's source as a function `name` in which the line that reads sizes from `array.shape` sets them
    to `sizes` instead (and refuses arrays of other sizes), the functions in `renames` are called by their new
    names, and the globals it reads from its module are imported first."""
    return _source(fn, name, array, tuple(int(n) for n in sizes), tuple((renames or {}).items()))


@functools.lru_cache(maxsize=None)   # inspect.getsource took 10 ms per run on the benchmark's 4-layer network
def _source(fn, name: str, array: str, sizes: tuple[int, ...], renames: tuple[tuple[str, str], ...]) -> str:
    py = fn.py_func
    src = inspect.getsource(py)
    found = re.findall(rf"^    ([\w, ]+) = {array}\.shape(\[\d\])?\n", src, flags=re.M)
    if len(found) != 1 or f"def {py.__name__}(" not in src:
        raise ValueError(f"{py.__name__}: expected one line that reads sizes from {array}.shape")
    names, index = [n.strip() for n in found[0][0].split(",")], found[0][1]
    dims = [int(index[1:-1])] if index else list(range(len(names)))
    if len(names) != len(sizes) or len(dims) != len(sizes):
        raise ValueError(f"{py.__name__}: {array}.shape gives {names}, not {len(sizes)} sizes")
    fixed = "".join(f"    {n} = {s}\n" for n, s in zip(names, sizes))
    check = " or ".join(f"{array}.shape[{d}] != {n}" for d, n in zip(dims, names))
    fixed += f"    if {check}:\n        raise ValueError('{name}: compiled for other sizes')\n"
    out = src.replace(f"def {py.__name__}(", f"def {name}(").replace(
        f"    {found[0][0]} = {array}.shape{index}\n", fixed)
    for old, new in renames:
        out = re.sub(rf"\b{old}\(", f"{new}(", out)
    module = inspect.getmodule(py)
    used = sorted(n for n in py.__code__.co_names if n in vars(module) and n not in (py.__name__, *dict(renames)))
    imports = f"from {module.__name__} import {', '.join(used)}  # noqa: F401\n\n\n" if used else ""
    return imports + out
