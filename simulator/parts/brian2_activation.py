"""Activations in Brian2: thresholds (and extra spike groups) on the channel group, or a graded variable."""
from __future__ import annotations

import numpy as np

from models.parts import GELU, Heaviside, Ternary
from models.parts.activation import gelu
from simulator.parts.brian2_base import Layer, Sent, brian2_for


@brian2_for(Heaviside)
class HeavisideBrian2:
    CHANNEL_EQS = ""
    threshold = "y > 0"
    reset = ""

    def __init__(self, part: Heaviside, layer: Layer):
        pass

    def namespace(self) -> dict:
        return {}

    def build(self, chan):
        return [], Sent(spikes=[(1, chan)])


@brian2_for(Ternary)
class TernaryBrian2:
    """+1 spikes from the channel group's threshold, -1 spikes from a second group linked to its y and delta."""

    CHANNEL_EQS = "delta : 1\n"
    threshold = "y - delta > 0"
    reset = ""

    def __init__(self, part: Ternary, layer: Layer):
        self.ratio, self.layer = part.ratio, layer

    def namespace(self) -> dict:
        return {}

    def build(self, chan):
        from brian2 import NeuronGroup, linked_var, network_operation
        B, H, dt = self.layer.B, self.layer.H, self.layer.dt
        neg = NeuronGroup(B * H, "yl : 1 (linked)\ndl : 1 (linked)", threshold="-yl - dl > 0", reset="", dt=dt,
                          order=-20, name="neg")
        neg.yl = linked_var(chan, "y")
        neg.dl = linked_var(chan, "delta")
        y_state = chan.variables["y"].get_value()
        delta_state = chan.variables["delta"].get_value()
        ratio = self.ratio

        # delta = ratio * max_h |y| is a reduction over channels, which Brian2 code cannot express. It runs
        # after y is set (groups) and before the thresholds read it.
        @network_operation(when="after_groups", dt=dt, name="ternary_delta")
        def ternary_delta():
            delta_state[:] = np.repeat(ratio * np.abs(y_state.reshape(B, H)).max(axis=1), H)

        return [neg, ternary_delta], Sent(spikes=[(1, chan), (-1, neg)])


@brian2_for(GELU)
class GELUBrian2:
    """Graded: act = GELU(y) on the channel group, read by the mixing's summed synapses; no threshold."""

    CHANNEL_EQS = "act = gelu_erf(y) : 1\n"
    threshold = None
    reset = None

    def __init__(self, part: GELU, layer: Layer):
        pass

    def namespace(self) -> dict:
        return {"gelu_erf": _gelu_function()}

    def build(self, chan):
        return [], Sent(spikes=[], graded="act")


def _gelu_function():
    """GELU with the exact erf (PyTorch's default), in C's libm for Cython and scipy for numpy."""
    from brian2 import Function
    f = Function(gelu, arg_units=[1], return_unit=1)
    code = """
cdef extern from "math.h":
    double erf(double)
cdef double gelu_erf(double x):
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)))
"""
    f.implementations.add_implementation("cython", code, name="gelu_erf")
    return f
