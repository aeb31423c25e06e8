"""The LIF activation in Brian2: a membrane v on the channel neuron, Brian2's threshold and reset.

Per step, as the part's reference: v <- beta*v + y (after y is set, before the threshold), spike when
v > v_threshold, then reset 'v = 0' (hard) or 'v -= v_threshold' (soft) in Brian2's reset slot. v persists
across steps; it starts at 0.
"""
from __future__ import annotations

from models.parts import LIF
from simulator.parts.brian2_base import Layer, Sent, brian2_for

RESETS = {"hard": "v = 0", "soft": "v -= v_th"}


@brian2_for(LIF)
class LIFBrian2:
    CHANNEL_EQS = "v : 1\nbeta : 1 (constant, shared)\nv_th : 1 (constant, shared)\n"
    threshold = "v > v_th"

    def __init__(self, part: LIF, layer: Layer):
        self.part = part
        self.reset = RESETS[part.reset]

    def namespace(self) -> dict:
        return {}

    def build(self, chan):
        chan.beta, chan.v_th = self.part.beta, self.part.v_threshold
        # After y (groups, -10), before the thresholds.
        chan.run_regularly("v = beta*v + y", when="groups", order=-5, name="lif_v")
        return [], Sent(spikes=[(1, chan)])
