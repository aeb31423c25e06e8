"""Mixings in Brian2: an accumulator group fed by Synapses from the channel group (and any other spike
source). Spikes travel event-driven (`on_pre`, zero delay); graded values as summed variables. Which one
is the block activation's MESSAGE, not the mixing's kind."""
from __future__ import annotations

import numpy as np

from models.errors import InputError
from models.parts import GLU, GSU, Linear
from models.parts.activation import gelu
from models.parts.norm import layer_norm
from simulator.parts.brian2_base import Layer, Sent, brian2_for
from simulator.parts.brian2_arrays import per_sample


def _all_to_all(B: int, H: int):
    """Every channel neuron of sample b projects to every accumulator neuron of sample b: (pre, post,
    source channel k, target channel j) for each synapse."""
    pre = np.repeat(np.arange(B * H), H)                       # (b, k) repeated for each target j
    post = (pre // H) * H + np.tile(np.arange(H), B * H)       # (b, j)
    return pre, post, pre % H, post % H


def _op(sign: int) -> str:
    return "+=" if sign > 0 else "-="


@brian2_for(GLU)
class GLUBrian2:
    """z = W s + b into two accumulator halves, out = (za + ba) * sigmoid(zb + bb)."""

    SPIKE_SYNAPSES = {1: "mix", -1: "mix_neg"}   # Brian2 names (they key its compiled-code cache)

    def __init__(self, part: GLU, layer: Layer):
        self.part, self.layer = part, layer

    def build(self, chan, sent: Sent):
        from brian2 import NeuronGroup, Synapses
        B, H, dt, W = self.layer.B, self.layer.H, self.layer.dt, self.part.weight
        acc = NeuronGroup(B * H, "za : 1\nzb : 1\nba : 1 (constant)\nbb : 1 (constant)\n"
                                 "out = (za + ba) * (1.0 / (1.0 + exp(-(zb + bb)))) : 1", dt=dt, name="acc")
        acc.ba, acc.bb = per_sample(self.part.bias[:H], B), per_sample(self.part.bias[H:], B)
        if self.layer.message == "graded":
            # Graded messages every step, as summed variables (they are rewritten each step: no reset).
            v = sent.graded
            syns = [Synapses(chan, acc, "wa : 1 (constant)\nwb : 1 (constant)\n"
                                        f"za_post = wa*{v}_pre : 1 (summed)\nzb_post = wb*{v}_pre : 1 (summed)",
                             dt=dt, name="mix")]
        else:
            # Event-driven: a spike of channel k adds (or, if negative, subtracts) its weight column W[:, k]
            # to both GLU halves; the sums start from zero each step.
            syns = [Synapses(src, acc, "wa : 1 (constant)\nwb : 1 (constant)",
                             on_pre=f"za_post {_op(sign)} wa\nzb_post {_op(sign)} wb", dt=dt,
                             name=self.SPIKE_SYNAPSES[sign])
                    for sign, src in sent.spikes]
            acc.run_regularly("za = 0\nzb = 0", when="before_groups", name="acc_reset")
        pre, post, k, j = _all_to_all(B, H)
        for syn in syns:
            syn.connect(i=pre, j=post)
            syn.wa = W[j, k]
            syn.wb = W[H + j, k]
        return [acc, *syns], acc, "out"

    def finish(self, out: np.ndarray) -> np.ndarray:
        return out


@brian2_for(GSU)
class GSUBrian2:
    """P = s @ W from the spikes (event-driven, by sign), gate g = y @ Wt as a summed variable (real y,
    ternary weights), pg = (P + b) * g in Brian2; LayerNorm + GELU in numpy (reductions over channels)."""

    SPIKE_SYNAPSES = {1: "mix_pos", -1: "mix_neg"}

    def __init__(self, part: GSU, layer: Layer):
        if layer.message == "graded":
            raise InputError("mixing kind 'gsu' has no Brian2 implementation for graded input "
                             "(its P = s @ W sums spikes); give the block a spiking activation")
        self.part, self.layer = part, layer

    def build(self, chan, sent: Sent):
        from brian2 import NeuronGroup, Synapses
        B, H, dt = self.layer.B, self.layer.H, self.layer.dt
        acc = NeuronGroup(B * H, "P : 1\ng : 1\nbias : 1 (constant)\npg = (P + bias) * g : 1", dt=dt, name="acc")
        acc.bias = per_sample(self.part.bias, B)
        pre, post, k, j = _all_to_all(B, H)
        syns = []
        for sign, src in sent.spikes:
            model = "w : 1 (constant)"
            if src is chan:   # the gate reads the channel group's y: it rides on the synapses from there
                model += "\nwt : 1 (constant)\ng_post = wt*y_pre : 1 (summed)"
            syn = Synapses(src, acc, model, on_pre=f"P_post {_op(sign)} w", dt=dt, name=self.SPIKE_SYNAPSES[sign])
            syn.connect(i=pre, j=post)
            syn.w = self.part.weight[k, j]                          # P = s @ W: W[k, j]
            if src is chan:
                syn.wt = self.part.ternary_weight()[k, j]
            syns.append(syn)
        acc.run_regularly("P = 0", when="before_groups", name="acc_reset")
        return [acc, *syns], acc, "pg"

    def finish(self, out: np.ndarray) -> np.ndarray:
        p = self.part
        return gelu(layer_norm(out, p.norm_weight, p.norm_bias, p.norm_eps))


@brian2_for(Linear)
class LinearBrian2:
    """z = W sent + b in one accumulator half, out = z + b, or its ReLU: (z + b) * int(z + b > 0)."""

    SPIKE_SYNAPSES = {1: "lin", -1: "lin_neg"}

    def __init__(self, part: Linear, layer: Layer):
        self.part, self.layer = part, layer

    def build(self, chan, sent: Sent):
        from brian2 import NeuronGroup, Synapses
        B, H, dt, W = self.layer.B, self.layer.H, self.layer.dt, self.part.weight
        out = "out = (z + bias) * int(z + bias > 0) : 1" if self.part.relu else "out = z + bias : 1"
        acc = NeuronGroup(B * H, f"z : 1\nbias : 1 (constant)\n{out}", dt=dt, name="acc")
        acc.bias = per_sample(self.part.bias, B)
        if self.layer.message == "graded":
            syns = [Synapses(chan, acc, f"w : 1 (constant)\nz_post = w*{sent.graded}_pre : 1 (summed)",
                             dt=dt, name="lin")]
        else:
            # A spike of channel k adds (a -1 spike subtracts) the weight column W[:, k]; z starts at 0 each step.
            syns = [Synapses(src, acc, "w : 1 (constant)", on_pre=f"z_post {_op(sign)} w", dt=dt,
                             name=self.SPIKE_SYNAPSES[sign])
                    for sign, src in sent.spikes]
            acc.run_regularly("z = 0", when="before_groups", name="acc_reset")
        pre, post, k, j = _all_to_all(B, H)
        for syn in syns:
            syn.connect(i=pre, j=post)
            syn.w = W[j, k]                                      # out_j = sum_k W[j, k] sent_k
        return [acc, *syns], acc, "out"

    def finish(self, out: np.ndarray) -> np.ndarray:
        return out
