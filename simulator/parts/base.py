"""The runner registry and what runners share: the context they are built with, and the change mask."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import InputError

_RUNNERS: dict[tuple[type, str], type] = {}


def runs(part_cls: type, arithmetic: str = "float"):
    """Class decorator: the runner of `part_cls` in an arithmetic ('float': float64/float32, 'fixed': integer
    fixed point, simulator/parts/fixed_*.py)."""
    def register(runner_cls: type) -> type:
        _RUNNERS[(part_cls, arithmetic)] = runner_cls
        return runner_cls
    return register


@dataclass(frozen=True)
class Context:
    """What a runner may know besides its own part: the run dtype, the network's discretisation, and what
    the block's activation sends to the mixing ('binary', 'ternary' or 'graded'). In fixed point, `fixed`
    holds the precision and the block's calibrated scales (simulator.fixed_point.BlockScales)."""

    dtype: type
    disc: str
    message: str = "graded"
    fixed: object | None = None

    @property
    def arithmetic(self) -> str:
        return "float" if self.fixed is None else "fixed"


def runner_class(part, arithmetic: str = "float") -> type:
    cls = _RUNNERS.get((type(part), arithmetic))
    if cls is None:
        if arithmetic == "fixed":
            raise InputError(f"{part.role} kind {part.kind!r} has no fixed-point implementation: run it in float64 "
                             "or float32")
        raise InputError(f"{part.role} kind {part.kind!r} has no engine implementation (simulator/parts/)")
    return cls


def runner(part, ctx: Context):
    return runner_class(part, ctx.arithmetic)(part, ctx)


@dataclass
class BlockRunners:
    norm: object | None
    ssm: object
    activation: object
    mixing: object
    residual: bool
    join_fixed: object | None = None   # fixed point: the residual sum h + out, aligned and saturated
    scales: object | None = None       # fixed point: the block's BlockScales (fractional bits of its tensors)

    def join(self, h: np.ndarray, out: np.ndarray, c) -> np.ndarray:
        """The block output without a postnorm: h + out (residual) or out. c: the layer's count adder."""
        if self.join_fixed is not None:
            return self.join_fixed(h, out, self.residual, c)
        return np.ascontiguousarray(h + out if self.residual else out, dtype=out.dtype)


def block_runners(block, dtype: type, disc: str, fixed=None) -> BlockRunners:
    ctx = Context(dtype=dtype, disc=disc, message=block.activation.MESSAGE, fixed=fixed)
    return BlockRunners(norm=None if block.norm is None else runner(block.norm, ctx), ssm=runner(block.ssm, ctx),
                        activation=runner(block.activation, ctx), mixing=runner(block.mixing, ctx),
                        residual=block.residual, join_fixed=None if fixed is None else fixed.join, scales=fixed)


def changed(a: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Mask of values that differ from the previous step's (sigma-delta with zero threshold)."""
    before = np.concatenate([prev[:, None], a[:, :-1]], axis=1)
    return a != before
