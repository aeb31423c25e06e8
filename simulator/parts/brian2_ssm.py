"""The S4D SSM in Brian2: complex modes as (re, im) state pairs advanced by an explicit discrete update, read
out into the channel group by a summed synapse; the backward direction is its own run over reversed time.

The mode neuron's equations, update and readout are class attributes with a `constants` method, so the real
S4D (simulator/parts/brian2_s4d_real.py) reuses the layout and schedule with one real number per mode.
"""
from __future__ import annotations

import numpy as np

from models.discretize import discretize
from models.parts import S4D
from simulator.parts.brian2_base import Layer, brian2_for
from simulator.parts.brian2_arrays import array_function, from_monitor, per_sample, time_major


@brian2_for(S4D)
class S4DBrian2:
    # The channel group's SSM output y, made of the forward readout yf, the backward yb and D u.
    CHANNEL_EQS = """
y : 1
yf : 1
d : 1 (constant)
ncols : integer (constant, shared)
"""
    MODE_EQS = """
sr : 1
si : 1
ar : 1 (constant)
ai : 1 (constant)
br : 1 (constant)
bi : 1 (constant)
cr : 1 (constant)
ci : 1 (constant)
col : integer (constant)
ncols : integer (constant, shared)
"""
    # s <- Ab*s + Bb*u_t as real arithmetic on the (re, im) pair; sr_old keeps the update simultaneous.
    MODE_UPDATE = """
u = u_in(t_in_timesteps * ncols + col)
sr_old = sr
sr = ar*sr - ai*si + br*u
si = ar*si + ai*sr_old + bi*u
"""
    # y_c = 2 Re(sum_n C s) as a summed variable: each mode neuron feeds its channel neuron.
    READOUT = "yf_post = 2.0*(cr_pre*sr_pre - ci_pre*si_pre) : 1 (summed)"

    def __init__(self, part: S4D, layer: Layer):
        self.d, self.layer = self.discrete(part, layer.disc), layer
        self.bidirectional = self.d.C.shape[0] == 2

    @staticmethod
    def discrete(part, disc: str):
        return discretize(part, disc)

    def constants(self, direction: int) -> dict[str, np.ndarray]:
        """The mode neurons' constants, each (H, modes per channel)."""
        d = self.d
        return {"ar": d.Ab.real, "ai": d.Ab.imag, "br": d.Bb.real, "bi": d.Bb.imag,
                "cr": d.C[direction].real, "ci": d.C[direction].imag}

    def inputs(self, z: np.ndarray) -> dict:
        """The namespace of the forward run: the layer input u and, for bidirectional layers, yb (its own
        Brian2 run, made here, before the forward run is built)."""
        ns = {}
        if self.bidirectional:
            yb = self._backward(z)
            ns["yb_in"] = array_function("yb_in", time_major(yb))
        ns["u_in"] = array_function("u_in", time_major(z))
        return ns

    def build(self, chan) -> list:
        B, H = self.layer.B, self.layer.H
        chan.d = per_sample(self.d.D, B)
        chan.ncols = B * H
        y_code = "y = yf + d*u_in(t_in_timesteps * ncols + i)"
        if self.bidirectional:
            y_code = "y = (yf + yb_in(t_in_timesteps * ncols + i)) + d*u_in(t_in_timesteps * ncols + i)"
        # y after the readout (order -21) and before any graded synapse reads it (acc.order - 1 = -1).
        chan.run_regularly(y_code, when="groups", order=-10, name="chan0_y")
        return self._modes(0, chan, update_when="before_groups")

    def _modes(self, direction: int, chan, *, update_when: str) -> list:
        """Mode group (the part's modes per channel neuron) and its summed readout into `chan`.

        The readout runs at ('groups', chan.order - 1); the mode update at `update_when`: 'before_groups'
        reads the state after this step's input (forward), 'after_groups' reads it before (backward: r_{t+1}).
        """
        from brian2 import NeuronGroup, Synapses
        B, dt = self.layer.B, self.layer.dt
        H, n = self.d.Ab.shape
        M = B * H * n
        modes = NeuronGroup(M, self.MODE_EQS, dt=dt, name=f"modes{direction}")
        for name, values in self.constants(direction).items():
            setattr(modes, name, per_sample(values, B))
        modes.col = np.arange(M) // n
        modes.ncols = B * H
        modes.run_regularly(self.MODE_UPDATE, when=update_when, name=f"modes{direction}_update")
        readout = Synapses(modes, chan, model=self.READOUT, dt=dt, name=f"readout{direction}")
        readout.connect(i=np.arange(M), j=np.arange(M) // n)
        return [modes, readout]

    def _backward(self, z: np.ndarray) -> np.ndarray:
        """yb_t = 2 Re(sum_n C1 r_{t+1}), r_t = Ab r_{t+1} + Bb u_t, r_L = 0: one run over reversed time."""
        from brian2 import Network, NeuronGroup, StateMonitor
        B, L, H = z.shape
        dt = self.layer.dt
        u_in = array_function("u_in", time_major(z[:, ::-1]))
        chan = NeuronGroup(B * H, "yf : 1", dt=dt, order=-20, name="chan1")
        mon = StateMonitor(chan, "yf", record=True, when="end", dt=dt, name="mon_yb")
        objs = self._modes(1, chan, update_when="after_groups")
        Network(*objs, chan, mon).run(L * dt, namespace={"u_in": u_in})
        return from_monitor(mon.yf, B, H)[:, ::-1]
