"""The Brian2 builder registry and what builders share (simulator/parts/brian2.py explains the interface)."""
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
