"""Fixed point's promise, checked on given inputs: the event and dense engines compute the same bits."""
from __future__ import annotations

import numpy as np

from simulator.compiled import compile_network
from simulator.engine import run


def engines_agree(net, x, fp, batch_size: int = 16) -> list[str]:
    """What differs between the event and dense engines in fixed point `fp` on x (empty: nothing)."""
    cn = compile_network(net, fp)
    e = run(net, x, engine="event", compiled=cn, batch_size=batch_size, record_pre=True)
    d = run(net, x, engine="dense", compiled=cn, batch_size=batch_size, record_pre=True)
    problems = []
    if not np.array_equal(e.logits, d.logits):
        problems.append("logits differ")
    for i, (a, b) in enumerate(zip(e.spikes, d.spikes)):
        if not all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("sample", "t", "neuron", "value")):
            problems.append(f"layer {i}: spikes differ")
    for i, (a, b) in enumerate(zip(e.pre, d.pre)):
        if not np.array_equal(a, b):
            problems.append(f"layer {i}: y (messages to the activation) differ")
    for group in e.counts:
        for field in e.counts[group]:
            if not np.array_equal(e.counts[group][field], d.counts[group][field]):
                problems.append(f"{group}: count {field} differs")
    return problems
