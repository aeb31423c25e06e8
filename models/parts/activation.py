"""Activation parts: what the SSM output y becomes before the mixing.

forward(y) returns (sent, spikes): `sent` is what the mixing receives, `spikes` the int8 spike array
(None for graded activations). MESSAGE says what travels to the mixing: binary or ternary spikes, or
graded values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from models import limits
from models.parts.base import Part
from models.parts.registry import register


@register
@dataclass(frozen=True, eq=False)
class Heaviside(Part):
    """Binary S4D: s = 1[y > 0] (strictly greater)."""

    role = "activation"
    kind = "heaviside"
    MESSAGE: ClassVar[str] = "binary"
    NEEDS = {"message": "binary"}

    def forward(self, y: np.ndarray):
        s = (y > 0).astype(np.int8)
        return s, s

    def threshold(self, y: np.ndarray) -> np.ndarray:
        """The threshold y is compared with at each step (for plots): 0."""
        return np.zeros(y.shape[:-1])


@register
@dataclass(frozen=True, eq=False)
class Ternary(Part):
    """The GSU's spikes: delta = ratio * max_h |y| at each (sample, step); s = 1[y > delta] - 1[-y > delta]."""

    role = "activation"
    kind = "ternary"
    MESSAGE: ClassVar[str] = "ternary"
    SETTINGS = {"ratio": ("float", limits.ratio_problem)}
    NEEDS = {"message": "ternary", "reductions": ["max |y| across channels"]}

    ratio: float = 0.15

    def forward(self, y: np.ndarray):
        delta = self.ratio * np.max(np.abs(y), axis=-1, keepdims=True)
        s = (y - delta > 0).astype(np.int8) - (-y - delta > 0).astype(np.int8)
        return s, s

    def threshold(self, y: np.ndarray) -> np.ndarray:
        """delta(t) (spikes at y > delta and y < -delta), from every channel's y at each step."""
        return self.ratio * np.max(np.abs(y), axis=-1)


@register
@dataclass(frozen=True, eq=False)
class GELU(Part):
    """The non-spiking S4D baseline: exact (erf) GELU, sent as graded values."""

    role = "activation"
    kind = "gelu"
    MESSAGE: ClassVar[str] = "graded"
    NEEDS = {"message": "graded", "elementwise": ["gelu"]}

    def forward(self, y: np.ndarray):
        return gelu(y), None

    def threshold(self, y: np.ndarray) -> None:
        return None     # graded: no threshold


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, PyTorch's default."""
    from scipy.special import erf   # here: importing scipy.special costs 0.15 s at every start of the CLI
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
