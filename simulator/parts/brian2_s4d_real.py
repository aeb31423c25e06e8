"""The real S4D SSM in Brian2: S4D's mode layout and schedule (brian2_ssm.py) with one real number per mode."""
from __future__ import annotations

import numpy as np

from models.parts import S4DReal
from simulator.parts.brian2_base import brian2_for
from simulator.parts.brian2_ssm import S4DBrian2


@brian2_for(S4DReal)
class S4DRealBrian2(S4DBrian2):
    MODE_EQS = """
s : 1
a : 1 (constant)
b : 1 (constant)
c : 1 (constant)
col : integer (constant)
ncols : integer (constant, shared)
"""
    # s <- Ab*s + Bb*u_t: one real multiply-add per mode.
    MODE_UPDATE = """
s = a*s + b*u_in(t_in_timesteps * ncols + col)
"""
    # y_c = 2 sum_n C s (the part keeps S4D's factor 2), summed into the channel neuron.
    READOUT = "yf_post = 2.0*c_pre*s_pre : 1 (summed)"

    @staticmethod
    def discrete(part: S4DReal, disc: str):
        return part.discrete(disc)     # real Ab, Bb (H, modes); C (directions, H, modes) real

    def constants(self, direction: int) -> dict[str, np.ndarray]:
        return {"a": self.d.Ab, "b": self.d.Bb, "c": self.d.C[direction]}
