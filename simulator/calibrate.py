"""Calibration: the ranges (max |value|) of every tensor between parts, and of each part's internals, measured
by the float64 engine on calibration inputs (a split of the TRAINING data; never the test set). The fixed-point
runners turn ranges into power-of-two scales (simulator/fixed_point.py)."""
from __future__ import annotations

import numpy as np

from models.errors import InputError
from models.precision import Precision
from models.reference import check_input
from models.spec import Network
from simulator.compiled import compile_network
from simulator.engine import Simulation
from simulator.fixed_point import FixedPoint
from simulator.parts.base import runner_class

BATCH = 16


def calibrate(net: Network, x_cal: np.ndarray, precision: Precision, source: str = "calibration inputs",
              check: bool = True) -> FixedPoint:
    """FixedPoint for `precision` with ranges measured on x_cal; with `check`, refuse widths that the network
    overflows at every step (simulator.calibrate.check_widths)."""
    if x_cal is None or len(x_cal) == 0:
        raise InputError(f"precision {precision.name}: the calibration split ({source}) is empty: fixed point needs "
                         "calibration samples from the training data to choose its scales")
    for block in net.blocks:          # every part must have a fixed-point form before any work is done
        for part in block.parts().values():
            runner_class(part, "fixed")
    if net.final_norm is not None:
        runner_class(net.final_norm, "fixed")
    x_cal = check_input(net, x_cal)
    cn = compile_network(net, "float64")
    ranges: dict[str, float] = {}

    def keep(name: str, value: float) -> None:
        ranges[name] = max(ranges.get(name, 0.0), value)

    for start in range(0, len(x_cal), BATCH):
        xb = np.asarray(x_cal[start:start + BATCH])
        held: dict[str, np.ndarray] = {}

        def probe(li, name, a):
            a = np.asarray(a)
            m = float(np.max(np.abs(a))) if a.size else 0.0
            if li is None:
                keep("h0" if name == "h" else name, m)
                return
            if name == "h":
                keep(f"h{li}", m)
            elif name == "h_next":
                keep(f"h{li + 1}", m)
                for part in net.blocks[li].parts().values():
                    for k, v in runner_class(part, "fixed").internal_ranges(part, net.disc, held).items():
                        keep(f"{li}.{k}", v)
                held.clear()
            else:
                keep(f"{li}.{name}", m)
                held[name] = a
        Simulation(cn, xb.shape[0], "dense", probe=probe).feed(xb)
    fp = FixedPoint(precision, tuple(sorted(ranges.items())),
                    calibration={"samples": int(len(x_cal)), "source": source})
    if check:
        check_widths(net, fp, x_cal[:BATCH])
    return fp


def check_widths(net: Network, fp: FixedPoint, x: np.ndarray) -> None:
    """Refuse a precision whose widths the network overflows at every step: a layer with at least one
    saturation per time step in every calibration sample checked."""
    from simulator.engine import run
    res = run(net, x, engine="dense", dtype=fp)
    L = res.timesteps
    for name, fields in res.counts.items():
        sats = fields["saturations"]
        if len(sats) and np.all(sats >= L):
            raise InputError(f"precision {fp.name}: {name} saturates at every step on the calibration data "
                             f"(at least {int(sats.min())} saturations over {L} steps in each of {len(sats)} "
                             f"samples): its widths (state {fp.precision.state_bits}, messages "
                             f"{fp.precision.message_bits}, weights {fp.precision.weight_bits} bits) cannot hold "
                             "this network")
