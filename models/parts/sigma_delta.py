"""ReLU with sigma-delta messages, the S4D activation run on Loihi 2."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from models.parts.base import Part
from models.parts.registry import register
from models.parts.ranges import non_negative_problem


@register
@dataclass(frozen=True, eq=False)
class ReLUSigmaDelta(Part):
    """a = ReLU(y), sent as sigma-delta messages (Lava's SigmaS4dDelta; Meyer et al., arXiv 2409.15022).

    Per channel the sender remembers the last value it sent, m (m_{-1} = 0). At step t it sends a_t when
    a_t != m and |a_t - m| >= delta_threshold, and then m <- a_t. The receiver holds the last value it got,
    so what the mixing computes with (`sent`, (B, L, H)) is m_t. With delta_threshold 0 every change is
    sent and m_t = ReLU(y_t) exactly; above 0 small changes are withheld and the block approximates ReLU
    (simulator/sigma_delta_cost.py measures what that costs in predictions).

    The threshold setting is named delta_threshold because `threshold(y)` is the activation's plotting method.
    """

    role = "activation"
    kind = "relu_sigma_delta"
    MESSAGE: ClassVar[str] = "graded"
    SETTINGS = {"delta_threshold": ("float", non_negative_problem)}
    NEEDS = {"message": "graded", "elementwise": ["relu"]}

    delta_threshold: float = 0.0

    def forward(self, y: np.ndarray):
        """Sequential in time (what is held depends on what was sent), vectorised over samples and channels."""
        a = np.where(y > 0, y, 0.0)
        held = np.zeros((y.shape[0], y.shape[2]))
        sent = np.empty_like(a)
        for t in range(y.shape[1]):
            d = a[:, t] - held
            send = (d != 0) & (np.abs(d) >= self.delta_threshold)
            held = np.where(send, a[:, t], held)
            sent[:, t] = held
        return sent, None

    def threshold(self, y: np.ndarray) -> None:
        return None     # graded: no spike threshold
