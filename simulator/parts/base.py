"""The runner registry and what runners share: the context they are built with, and the change mask."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import InputError

_RUNNERS: dict[type, type] = {}


def runs(part_cls: type):
    """Class decorator: the runner of `part_cls`."""
    def register(runner_cls: type) -> type:
        _RUNNERS[part_cls] = runner_cls
        return runner_cls
    return register


@dataclass(frozen=True)
class Context:
    """What a runner may know besides its own part: the run dtype, the network's discretisation, and what
    the block's activation sends to the mixing ('binary', 'ternary' or 'graded')."""

    dtype: type
    disc: str
    message: str = "graded"


def runner(part, ctx: Context):
    cls = _RUNNERS.get(type(part))
    if cls is None:
        raise InputError(f"{part.role} kind {part.kind!r} has no engine implementation (simulator/parts/)")
    return cls(part, ctx)


@dataclass
class BlockRunners:
    norm: object | None
    ssm: object
    activation: object
    mixing: object
    residual: bool


def block_runners(block, dtype: type, disc: str) -> BlockRunners:
    ctx = Context(dtype=dtype, disc=disc, message=block.activation.MESSAGE)
    return BlockRunners(norm=None if block.norm is None else runner(block.norm, ctx), ssm=runner(block.ssm, ctx),
                        activation=runner(block.activation, ctx), mixing=runner(block.mixing, ctx),
                        residual=block.residual)


def changed(a: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Mask of values that differ from the previous step's (sigma-delta with zero threshold)."""
    before = np.concatenate([prev[:, None], a[:, :-1]], axis=1)
    return a != before
