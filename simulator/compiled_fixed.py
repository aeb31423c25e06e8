"""Compile a network for a fixed-point run: the calibrated ranges become fractional bits per tensor, each part
gets its fixed-point runner (simulator/parts/fixed_*.py), and the encoder's input, weights and output and the
decoder's input scale are set here. The walker (simulator/engine.py) is the same as for float."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.errors import InputError
from models.spec import Network
from simulator.fixed_point import (BlockScales, FixedPoint, commit_tensor, frac_for, message_exponents, quantise,
                                   weight_frac)
from simulator.parts import Context, block_runners, runner
from simulator.parts.base import runner_class


@dataclass
class FixedIO:
    """The encoder in integers (input at f_x, weights at f_w, sum at f_x + f_w, output at f_u) and the scale
    of the last block's output, which the float64 decoder reads (its sums of integers are exact)."""

    fp: FixedPoint
    f_x: int
    f_w: int
    f_u: int
    out_scale: float

    def quantise_input(self, x: np.ndarray) -> np.ndarray:
        p = self.fp.precision
        return quantise(x, self.f_x, p.rounding, p.message_bits)

    def commit_encoder(self, u: np.ndarray, c) -> np.ndarray:
        p = self.fp.precision
        out, sats = commit_tensor(u, self.f_x + self.f_w - self.f_u, p, p.message_bits)
        c("saturations", sats)
        return out


def block_scales(fp: FixedPoint, net: Network, li: int) -> BlockScales:
    p = fp.precision
    F = lambda name: frac_for(fp.range(name), p.message_bits)  # noqa: E731
    block = net.blocks[li]
    prefix = f"{li}."
    internal = {k[len(prefix):]: v for k, v in fp.ranges if k.startswith(prefix) and k.count(".") >= 2}
    f_in = F(f"h{li}")
    f_z = F(f"{li}.z") if (net.prenorm and block.norm is not None) else f_in
    bs = BlockScales(p, f_in=f_in, f_z=f_z, f_y=F(f"{li}.y"), f_sent=F(f"{li}.sent"), f_out=F(f"{li}.out"),
                     f_next=F(f"h{li + 1}"), internal=internal)
    # Messages that may carry a per-channel exponent (the activation says so) into a mixing that reads graded
    # inputs through rows: equalise the rows' ranges with power-of-two exponents (exact in float).
    act, mix = runner_class(block.activation, "fixed"), runner_class(block.mixing, "fixed")
    if getattr(act, "MESSAGE_EXPONENTS", False) and hasattr(mix, "input_rows"):
        bs.sent_exp = message_exponents(mix.input_rows(block.mixing), p.message_bits // 2)
    return bs


def compile_fixed(net: Network, fp: FixedPoint) -> dict:
    """The fields of a fixed-point CompiledNetwork (simulator/compiled.py builds it)."""
    if not isinstance(fp, FixedPoint):
        raise InputError(f"dtype: expected float64, float32 or a calibrated fixed-point precision, found {fp!r}")
    p = fp.precision
    if p.message_bits < 2:
        raise InputError(f"--precision {p.name}: its messages are {p.message_bits} bit (spikes without payload), "
                         "but every network here sends graded values between parts (the encoder's output, the "
                         "SSM's y): not executable at this arithmetic; use a chip with graded messages (loihi2) "
                         "or w8s24")
    layers = [block_runners(block, np.int64, net.disc, block_scales(fp, net, li))
              for li, block in enumerate(net.blocks)]
    n = len(net.blocks)
    F = lambda name: frac_for(fp.range(name), p.message_bits)  # noqa: E731
    f_last = F(f"h{n}")
    final = None
    if net.final_norm is not None:
        f_fin = F("final")
        scales = BlockScales(p, f_in=f_last, f_z=f_fin, f_y=f_fin, f_sent=f_fin, f_out=f_fin, f_next=f_fin,
                             internal={})
        final = runner(net.final_norm, Context(dtype=np.int64, disc=net.disc, fixed=scales))
        f_last = f_fin
    out_scale = math.ldexp(1.0, -f_last)
    f_u = F("h0")
    if net.encoder.kind == "linear":
        rows = net.encoder.weight.T
        f_x = frac_for(fp.range("x"), p.message_bits)
        f_w = weight_frac(rows, p.weight_bits)
        enc_rows = quantise(rows, f_w, p.weight_rounding, p.weight_bits)
        enc = dict(enc_rows=enc_rows, enc_bias=quantise(net.encoder.bias, f_x + f_w, p.weight_rounding),
                   enc_fan_out=np.count_nonzero(enc_rows, axis=1).astype(np.int64))
    else:
        f_x, f_w = 0, 0
        enc = dict(enc_rows=None, enc_bias=None, enc_fan_out=None,
                   embedding=quantise(net.encoder.weight, f_u, p.weight_rounding, p.message_bits))
    io = FixedIO(fp, f_x, f_w, f_u, out_scale)
    return dict(layers=layers, final_norm=final, fixed=io, **enc)
