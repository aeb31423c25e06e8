"""SSM kernels with the number of modes written into their source, for the fused kernel's generated module.

With N/2 a constant, LLVM unrolls the mode loops and drops the run-time checks it otherwise runs each time one
starts: the same code and the same bits (tests/test_fused.py compares the fused kernel with the walker), 1.11x
(float64) and 1.07x (float32) on whole fused runs of the shipped sMNIST network. The walker keeps the general
kernels, which serve any number of modes.
"""
from __future__ import annotations

import inspect

_MODES_LINES = ("    H, n2 = a_re.shape\n", "    n2 = a_re.shape[1]\n")


def source(fn, n2: int, name: str) -> str:
    """Kernel fn's source as a function `name` whose mode count is n2 (fn reads it from a_re.shape), preceded by
    imports of the globals it reads from its module. It refuses arrays of another mode count."""
    py = fn.py_func
    src = inspect.getsource(py)
    old_name = f"def {py.__name__}("
    lines = [line for line in _MODES_LINES if line in src]
    if old_name not in src or len(lines) != 1:
        raise ValueError(f"{py.__name__}: expected one line that reads the mode count from a_re.shape")
    fixed = ("    H = a_re.shape[0]\n" if lines[0].startswith("    H,") else "") + (
        f"    n2 = {n2}\n    if a_re.shape[1] != n2:\n        raise ValueError('{name}: compiled for {n2} modes')\n")
    module = inspect.getmodule(py)
    used = sorted(n for n in py.__code__.co_names if n in vars(module) and n != py.__name__)
    imports = f"from {module.__name__} import {', '.join(used)}  # noqa: F401\n" if used else ""
    return imports + src.replace(old_name, f"def {name}(").replace(lines[0], fixed)
