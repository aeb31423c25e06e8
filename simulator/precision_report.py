"""The cost of an arithmetic: a fixed-point run against float64 on the same inputs, batch by batch (memory
stays flat): accuracy, prediction agreement, spike agreement per layer, the first divergence, saturations."""
from __future__ import annotations

import numpy as np

from models.spec import Network
from simulator.compiled import compile_network
from simulator.engine import run
from simulator.fixed_point import FixedPoint


def _dense(ev, B: int, L: int, H: int, offset: int) -> np.ndarray:
    a = np.zeros((B, L, H), np.int8)
    a[ev.sample - offset, ev.t, ev.neuron] = ev.value
    return a


def precision_section(net: Network, x: np.ndarray, labels, fp: FixedPoint, engine: str = "event",
                      batch_size: int = 16) -> dict:
    """The summary's `precision` section: `fp` (calibrated) against float64 on x."""
    cf, cx = compile_network(net, "float64"), compile_network(net, fp)
    n, n_layers = len(x), len(net.blocks)
    agree = 0
    correct = {"float64": 0, fp.name: 0}
    differ = np.zeros(n_layers, np.int64)
    slots = np.zeros(n_layers, np.int64)
    first = None
    sats: dict[str, int] = {}
    max_logit = 0.0
    for s in range(0, n, batch_size):
        xb = x[s:s + batch_size]
        rf = run(net, xb, engine=engine, compiled=cf, sample_offset=s, batch_size=batch_size)
        rx = run(net, xb, engine=engine, compiled=cx, sample_offset=s, batch_size=batch_size)
        agree += int(np.sum(rf.predictions == rx.predictions))
        max_logit = max(max_logit, float(np.max(np.abs(rf.logits - rx.logits))))
        if labels is not None:
            yb = np.asarray(labels[s:s + batch_size])
            correct["float64"] += int(np.sum(rf.predictions == yb))
            correct[fp.name] += int(np.sum(rx.predictions == yb))
        for name, fields in rx.counts.items():
            sats[name] = sats.get(name, 0) + int(fields["saturations"].sum())
        B, L = len(xb), rf.timesteps
        for li in range(n_layers):
            if not net.blocks[li].spiking:
                continue
            a = _dense(rf.spikes[li], B, L, net.H, s)
            b = _dense(rx.spikes[li], B, L, net.H, s)
            d = a != b
            differ[li] += int(d.sum())
            slots[li] += d.size
            if d.any():
                bi, ti, _ = np.nonzero(d)
                k = np.lexsort((ti, bi))[0]
                cand = (s + int(bi[k]), int(ti[k]), li)      # (sample, step, layer): earliest sample, step, layer
                if first is None or cand < first:
                    first = cand
    section = {
        "precision": fp.precision.as_dict(),
        "calibration": dict(fp.calibration),
        "samples": n,
        "prediction_agreement_with_float64": agree / n if n else None,
        "max_logit_difference": max_logit,
        "spike_agreement": [None if not net.blocks[li].spiking else 1.0 - differ[li] / slots[li]
                            for li in range(n_layers)],
        "spikes_differing": [None if not net.blocks[li].spiking else int(differ[li]) for li in range(n_layers)],
        "first_divergence": None if first is None else {"layer": first[2], "sample": first[0], "step": first[1]},
        "saturations": sats,
    }
    if labels is not None:
        section["accuracy"] = correct[fp.name] / n
        section["accuracy_float64"] = correct["float64"] / n
    return section
