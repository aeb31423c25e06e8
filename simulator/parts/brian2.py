"""How each part kind is built in Brian2, for cross-validation (docs/brian2-validation.md).

A builder is registered for a part class of models/parts with `@brian2_for(PartClass)`, as the engine's
runners are with `@runs`; simulator/brian2_backend.py walks the blocks and never learns a kind's name.
All samples run side by side: channel neuron c = b*H + h (sample b, channel h). Builder interface, by role:

  ssm:        CHANNEL_EQS (y and what y is made of);  inputs(z) -> namespace;  build(chan) -> objects
  activation: CHANNEL_EQS, threshold and reset (None: graded);  namespace();  build(chan) -> (objects, Sent)
  mixing:     build(chan, sent) -> (objects, accumulator group, output variable);  finish(out) -> out

Norms, residual sums, encoder and decoder have no builder: they run in numpy between layers.
"""
from simulator.parts import (brian2_activation, brian2_lif, brian2_mixing, brian2_s4d_real,  # noqa: F401
                             brian2_s5, brian2_sigma_delta, brian2_ssm)
from simulator.parts.brian2_base import Layer, Sent, brian2_for, builder

__all__ = ["Layer", "Sent", "brian2_for", "builder"]
