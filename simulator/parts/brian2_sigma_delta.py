"""The ReLU sigma-delta activation in Brian2: the channel neuron keeps `held`, the value last sent.

Each step, after y is set and before the mixing's summed synapses read `held`:
  a = relu(y);  d = a - held;  send = (d != 0) and (|d| >= delta_threshold);  if send: held = a.
Brian2's abstract code has no `if`, so the update is written as a select with integer flags,
held = send*a + (1 - send)*held, which is exact (one term is a, or held, the other a zero).
"""
from __future__ import annotations

from models.parts import ReLUSigmaDelta
from simulator.parts.brian2_base import Layer, Sent, brian2_for

UPDATE = """
sd_d = relu_y - held
send = int(sd_d != 0) * int(abs(sd_d) >= sd_threshold)
held = send*relu_y + (1 - send)*held
"""


@brian2_for(ReLUSigmaDelta)
class ReLUSigmaDeltaBrian2:
    CHANNEL_EQS = "relu_y = y*int(y > 0) : 1\nheld : 1\nsd_threshold : 1 (constant, shared)\n"
    threshold = None    # graded: the mixing reads `held` through summed variables
    reset = None

    def __init__(self, part: ReLUSigmaDelta, layer: Layer):
        self.part = part

    def namespace(self) -> dict:
        return {}

    def build(self, chan):
        chan.sd_threshold = self.part.delta_threshold
        # After y (groups, -10), before the graded summed synapses (acc.order - 1 = -1).
        chan.run_regularly(UPDATE, when="groups", order=-5, name="sd_held")
        return [], Sent(spikes=[], graded="held")
