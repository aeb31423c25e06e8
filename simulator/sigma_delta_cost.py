"""What a sigma-delta threshold costs: predictions and logits against threshold 0 (exact ReLU), and the
messages it saves. For networks with relu_sigma_delta activations (models/parts/sigma_delta.py)."""
from __future__ import annotations

import dataclasses

import numpy as np

from models.errors import InputError
from models.parts import ReLUSigmaDelta
from models.spec import Network
from simulator.engine import run


def with_delta_threshold(net: Network, threshold: float) -> Network:
    """The same network with every relu_sigma_delta activation's delta_threshold set to `threshold`."""
    blocks = tuple(dataclasses.replace(b, activation=dataclasses.replace(b.activation, delta_threshold=threshold))
                   if isinstance(b.activation, ReLUSigmaDelta) else b for b in net.blocks)
    if blocks == net.blocks or not any(isinstance(b.activation, ReLUSigmaDelta) for b in net.blocks):
        raise InputError("the network has no relu_sigma_delta activation: no threshold to vary")
    return dataclasses.replace(net, blocks=blocks)


def threshold_cost(net: Network, x: np.ndarray, thresholds, engine: str = "event") -> list[dict]:
    """One row per threshold: share of predictions equal to threshold 0's, largest logit change, and the
    graded messages sent by the blocks (all layers) against threshold 0's."""
    def outcome(t):
        r = run(with_delta_threshold(net, float(t)), x, engine=engine)
        sent = sum(int(v["messages"].sum()) for name, v in r.counts.items() if name.startswith("layer"))
        return r, sent

    base, base_sent = outcome(0.0)
    rows = []
    for t in thresholds:
        r, sent = outcome(t)
        rows.append({"threshold": float(t),
                     "agreement": float(np.mean(r.predictions == base.predictions)),
                     "max_logit_change": float(np.max(np.abs(r.logits - base.logits))),
                     "messages": sent, "messages_at_0": base_sent})
    return rows
