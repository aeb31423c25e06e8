"""The leaky integrate-and-fire activation of SpikingSSMs: spikes from a membrane that integrates y."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from models.parts.base import Part
from models.parts.registry import register
from models.parts.ranges import choice_problem, fraction_problem, positive_problem

RESETS = ("hard", "soft")


@register
@dataclass(frozen=True, eq=False)
class LIF(Part):
    """LIF neuron per channel driven by the SSM output (SpikingSSMs: Shen et al., arXiv 2408.14909).

    v_t = beta * v_{t-1} + y_t  (v_{-1} = 0);  s_t = 1[v_t > v_threshold];  after a spike the reset is
    'hard' (v_t <- 0) or 'soft' (v_t <- v_t - v_threshold). The membrane persists across steps (and across
    the chunks of a stream). Sent to the mixing: the binary spikes s.

    The threshold setting is named v_threshold because `threshold(y)` is the activation's plotting method.
    """

    role = "activation"
    kind = "lif"
    MESSAGE: ClassVar[str] = "binary"
    SETTINGS = {"beta": ("float", fraction_problem), "v_threshold": ("float", positive_problem),
                "reset": ("str", choice_problem(RESETS))}
    NEEDS = {"message": "binary"}

    beta: float = 0.9
    v_threshold: float = 1.0
    reset: str = "soft"

    def forward(self, y: np.ndarray):
        """Sequential in time (the membrane is a recurrence), vectorised over samples and channels."""
        v = np.zeros((y.shape[0], y.shape[2]))
        s = np.zeros(y.shape, np.int8)
        for t in range(y.shape[1]):
            v = self.beta * v + y[:, t]
            fired = v > self.v_threshold
            s[:, t] = fired
            v = np.where(fired, 0.0 if self.reset == "hard" else v - self.v_threshold, v)
        return s, s

    def threshold(self, y: np.ndarray) -> None:
        return None     # the membrane v, not y, is compared with v_threshold: no threshold on y to draw
