"""How each part kind is built in Brian2, for cross-validation (docs/brian2-validation.md).

A builder is registered for a part class of models/parts with `@brian2_for(PartClass)`, as the engine's
runners are with `@runs`; simulator/brian2_backend.py walks the blocks and never learns a kind's name.
All samples run side by side: channel neuron c = b*H + h (sample b, channel h). Builder interface, by role:

  ssm:        CHANNEL_EQS (y and what y is made of);  inputs(z) -> namespace;  build(chan) -> objects
  activation: CHANNEL_EQS, threshold and reset (None: graded);  namespace();  build(chan) -> (objects, Sent)
  mixing:     build(chan, sent) -> (objects, accumulator group, output variable);  finish(out) -> out

Norms, residual sums, encoder and decoder have no builder: they run in numpy between layers.
"""
from __future__ import annotations

from dataclasses import dataclass

from models.errors import InputError

_BUILDERS: dict[type, type] = {}


def brian2_for(part_cls: type):
    """Class decorator: the Brian2 builder of `part_cls`."""
    def register(builder_cls: type) -> type:
        _BUILDERS[part_cls] = builder_cls
        return builder_cls
    return register


@dataclass(frozen=True)
class Layer:
    """What a builder may know besides its own part: B samples of H channels side by side, the Brian2
    step, the network's discretisation, and what the block's activation sends ('binary', 'ternary' or
    'graded')."""

    B: int
    H: int
    dt: object
    disc: str
    message: str


@dataclass
class Sent:
    """What the activation hands to the mixing: spike sources as (sign, group whose threshold emits
    them), or the channel variable that carries graded values (None when spiking)."""

    spikes: list[tuple[int, object]]
    graded: str | None = None


def builder(part, layer: Layer):
    cls = _BUILDERS.get(type(part))
    if cls is None:
        raise InputError(f"{part.role} kind {part.kind!r} has no Brian2 implementation "
                         f"(simulator/parts/brian2_{part.role}.py)")
    return cls(part, layer)


from simulator.parts import brian2_activation, brian2_mixing, brian2_ssm  # noqa: E402,F401  (registers builders)
from simulator.parts import brian2_lif, brian2_s4d_real, brian2_s5, brian2_sigma_delta  # noqa: E402,F401
