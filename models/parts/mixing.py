"""Mixing parts: from what the activation sent (and the SSM output y) to the block's output (B, L, H)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import limits
from models.parts.activation import gelu
from models.parts.base import Part
from models.parts.norm import layer_norm
from models.parts.registry import register


@register
@dataclass(frozen=True, eq=False)
class GLU(Part):
    """z = W s + b (H -> 2H), out = z[:H] * sigmoid(z[H:])."""

    role = "mixing"
    kind = "glu"
    ARRAYS = ("weight", "bias")
    NEEDS = {"elementwise": ["sigmoid", "multiply"]}

    weight: np.ndarray  # (2H, H)
    bias: np.ndarray    # (2H,)

    @classmethod
    def shapes(cls, H, declared):
        return {"weight": (2 * H, H), "bias": (2 * H,)}

    def forward(self, sent: np.ndarray, y: np.ndarray) -> np.ndarray:
        return glu(sent @ self.weight.T + self.bias)

    def synapse_matrices(self) -> list[np.ndarray]:
        return [self.weight]


@register
@dataclass(frozen=True, eq=False)
class GSU(Part):
    """The Gated Spiking Unit: P = s @ W + b (a row vector times W), gate g = y @ Wt with ternary weights
    Wt = 1[W > dW] - 1[-W > dW], dW = weight_ratio * max|W|; out = GELU(LayerNorm(P * g))."""

    role = "mixing"
    kind = "gsu"
    ARRAYS = ("weight", "bias", "norm_weight", "norm_bias")
    SETTINGS = {"norm_eps": ("float", limits.eps_problem), "weight_ratio": ("float", limits.ratio_problem)}
    NEEDS = {"elementwise": ["multiply", "normalise", "gelu"], "reductions": ["mean and variance across channels"]}

    weight: np.ndarray       # (H, H)
    bias: np.ndarray         # (H,)
    norm_weight: np.ndarray  # (H,) inner LayerNorm
    norm_bias: np.ndarray    # (H,)
    norm_eps: float = 1e-5
    weight_ratio: float = 0.15

    @classmethod
    def shapes(cls, H, declared):
        return {"weight": (H, H), "bias": (H,), "norm_weight": (H,), "norm_bias": (H,)}

    def ternary_weight(self) -> np.ndarray:
        dw = self.weight_ratio * np.max(np.abs(self.weight))
        return (self.weight - dw > 0).astype(np.float64) - (-self.weight - dw > 0).astype(np.float64)

    def forward(self, sent: np.ndarray, y: np.ndarray) -> np.ndarray:
        P = sent.astype(np.float64) @ self.weight + self.bias
        g = y @ self.ternary_weight()
        return gelu(layer_norm(P * g, self.norm_weight, self.norm_bias, self.norm_eps))

    def synapse_matrices(self) -> list[np.ndarray]:
        return [self.weight, self.ternary_weight()]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def glu(z: np.ndarray) -> np.ndarray:
    H = z.shape[-1] // 2
    return z[..., :H] * sigmoid(z[..., H:])
