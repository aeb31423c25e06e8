"""The S5 SSM in Brian2: P complex modes per sample, shared by the sample's H channels.

Three Brian2 paths carry it, all within one step:
  input   chan's `u` (set from the layer input) feeds every mode of its sample through a summed synapse
          with weight Bb[p, h]: (dr, di) = Bb u;
  update  each mode neuron advances x <- Lambda_bar x + Bb u in real arithmetic on (re, im);
  readout every mode feeds every channel of its sample through a summed synapse with weight C[h, p]:
          yf = Re(sum_p C[h, p] x_p)  (the part's convention: no factor 2), then y = yf + D u.
Mode neuron m = b*P + p (sample b, mode p); channel neuron c = b*H + h.
"""
from __future__ import annotations

import numpy as np

from models.parts import S5
from simulator.parts.brian2_base import Layer, brian2_for
from simulator.parts.brian2_arrays import array_function, per_sample, time_major

MODE_EQS = """
sr : 1
si : 1
dr : 1
di : 1
ar : 1 (constant)
ai : 1 (constant)
"""
# x <- Ab*x + (dr + i di); sr_old keeps the update simultaneous.
MODE_UPDATE = """
sr_old = sr
sr = ar*sr - ai*si + dr
si = ar*si + ai*sr_old + di
"""
DRIVE = "wr : 1 (constant)\nwi : 1 (constant)\ndr_post = wr*u_pre : 1 (summed)\ndi_post = wi*u_pre : 1 (summed)"
READOUT = "cr : 1 (constant)\nci : 1 (constant)\nyf_post = cr*sr_pre - ci*si_pre : 1 (summed)"

# Schedule within a step ('groups' slot, by order): drive (modes.order - 1 = -31), mode update (-25),
# readout (chan.order - 1 = -21), y (-10); chan's u is set before all of them ('before_groups').
MODES_ORDER, UPDATE_ORDER = -30, -25


@brian2_for(S5)
class S5Brian2:
    CHANNEL_EQS = """
y : 1
yf : 1
u : 1
d : 1 (constant)
ncols : integer (constant, shared)
"""

    def __init__(self, part: S5, layer: Layer):
        self.ab, self.bb = part.discrete(layer.disc)     # (P,), (P, H) complex
        self.C, self.D, self.layer = part.C, part.D, layer

    def inputs(self, z: np.ndarray) -> dict:
        return {"u_in": array_function("u_in", time_major(z))}

    def build(self, chan) -> list:
        from brian2 import NeuronGroup, Synapses
        B, H, dt = self.layer.B, self.layer.H, self.layer.dt
        P = self.ab.shape[0]
        chan.d = per_sample(self.D, B)
        chan.ncols = B * H
        chan.run_regularly("u = u_in(t_in_timesteps * ncols + i)", when="before_groups", name="chan0_u")
        chan.run_regularly("y = yf + d*u", when="groups", order=-10, name="chan0_y")

        modes = NeuronGroup(B * P, MODE_EQS, dt=dt, order=MODES_ORDER, name="s5_modes")
        modes.ar, modes.ai = per_sample(self.ab.real, B), per_sample(self.ab.imag, B)   # Lambda_bar[p]
        modes.run_regularly(MODE_UPDATE, when="groups", order=UPDATE_ORDER, name="s5_modes_update")

        # Within each sample b: channel h <-> mode p, all pairs.
        b = np.repeat(np.arange(B), H * P)
        h = np.tile(np.repeat(np.arange(H), P), B)
        p = np.tile(np.arange(P), B * H)
        drive = Synapses(chan, modes, DRIVE, dt=dt, name="s5_drive")
        drive.connect(i=b * H + h, j=b * P + p)
        drive.wr, drive.wi = self.bb.real[p, h], self.bb.imag[p, h]
        readout = Synapses(modes, chan, READOUT, dt=dt, name="s5_readout")
        readout.connect(i=b * P + p, j=b * H + h)
        readout.cr, readout.ci = self.C.real[h, p], self.C.imag[h, p]
        return [modes, drive, readout]
