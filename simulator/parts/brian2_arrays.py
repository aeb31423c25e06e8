"""How arrays travel into and out of Brian2: per-neuron parameters, per-step inputs, recorded values.

Channel neuron c = b*H + h (sample b, channel h); mode neuron m = c*(N/2) + n.
"""
from __future__ import annotations

import numpy as np


def per_sample(values: np.ndarray, B: int) -> np.ndarray:
    """Per-channel (H, ...) parameters -> per-neuron arrays for B samples side by side."""
    return np.tile(np.ascontiguousarray(values).ravel(), B)


def time_major(a: np.ndarray) -> np.ndarray:
    """(B, L, H) -> (L, B*H): row t holds every channel neuron's value at step t."""
    B, L, H = a.shape
    return a.transpose(1, 0, 2).reshape(L, B * H)


def from_monitor(values: np.ndarray, B: int, H: int) -> np.ndarray:
    """StateMonitor array (B*H, L) -> (B, L, H)."""
    return np.asarray(values).reshape(B, H, -1).transpose(0, 2, 1).copy()


def array_function(name: str, values: np.ndarray):
    """A Brian2 function name(k) -> values.ravel()[k] (k = step * columns + column).

    Not a TimedArray: TimedArray bakes its shape into the generated code, so every new (L, columns) would
    trigger a fresh C compile; here the array travels in the namespace and the compiled code is reused.
    """
    from brian2 import Function
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    f = Function(lambda k: flat[k], arg_units=[1], return_unit=1, arg_types=["integer"], return_type="float")
    code = f"""
cdef double {name}(long k):
    global _namespace_{name}_values
    return _namespace_{name}_values[k]
"""
    f.implementations.add_implementation("cython", code, namespace={f"_{name}_values": flat}, name=name)
    return f
