"""Norm parts: BatchNorm in eval mode (a per-channel affine map) and LayerNorm over the channels."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import limits
from models.parts.base import Part
from models.parts.registry import register


@register
@dataclass(frozen=True, eq=False)
class BatchNorm(Part):
    """x' = (x - running_mean) / sqrt(running_var + eps) * weight + bias, per channel."""

    role = "norm"
    kind = "batch"
    ARRAYS = ("weight", "bias", "running_mean", "running_var")
    SETTINGS = {"eps": ("float", limits.eps_problem), "num_batches_tracked": ("int", limits.batches_tracked_problem)}
    OPTIONAL = ("num_batches_tracked",)
    NEEDS = {"norm": "affine"}

    weight: np.ndarray
    bias: np.ndarray
    running_mean: np.ndarray
    running_var: np.ndarray
    eps: float = 1e-5
    num_batches_tracked: int | None = None  # kept only so export reproduces the source tensors

    def forward(self, x: np.ndarray) -> np.ndarray:
        return (x - self.running_mean) / np.sqrt(self.running_var + self.eps) * self.weight + self.bias



@register
@dataclass(frozen=True, eq=False)
class LayerNorm(Part):
    """x' = (x - mean_h x) / sqrt(var_h x + eps) * weight + bias, at every time step."""

    role = "norm"
    kind = "layer"
    ARRAYS = ("weight", "bias")
    SETTINGS = {"eps": ("float", limits.eps_problem)}
    NEEDS = {"norm": "normalise", "reductions": ["mean and variance across channels"]}

    weight: np.ndarray
    bias: np.ndarray
    eps: float = 1e-5

    def forward(self, x: np.ndarray) -> np.ndarray:
        return layer_norm(x, self.weight, self.bias, self.eps)



def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias
