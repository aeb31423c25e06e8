"""The linear mixing: one H x H matrix, optionally followed by a ReLU."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.parts.base import Part
from models.parts.ranges import bool_problem
from models.parts.registry import register


@register
@dataclass(frozen=True, eq=False)
class Linear(Part):
    """out = W sent + b (H -> H), then ReLU(out) when relu is set.

    The mixing of Meyer et al.'s Loihi 2 S4D network (arXiv 2409.15022): ReLU sigma-delta activations into a
    ReLU linear layer, with no norm and no residual. W may be sparse: the engines count synaptic work by its
    non-zero entries (spike_acs for spikes, graded_macs for changed graded inputs).
    """

    role = "mixing"
    kind = "linear"
    ARRAYS = ("weight", "bias")
    SETTINGS = {"relu": ("bool", bool_problem)}

    weight: np.ndarray  # (H, H)
    bias: np.ndarray    # (H,)
    relu: bool = False

    @classmethod
    def shapes(cls, H, declared):
        return {"weight": (H, H), "bias": (H,)}

    def needs(self) -> dict:
        return {"elementwise": ["relu"]} if self.relu else {}

    def forward(self, sent: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = sent.astype(np.float64) @ self.weight.T + self.bias
        return np.where(z > 0, z, 0.0) if self.relu else z

    def synapse_matrices(self) -> list[np.ndarray]:
        return [self.weight]
