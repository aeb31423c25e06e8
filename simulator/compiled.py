"""One compiled representation of a loaded network: the encoder's arrays in the run dtype and, per block,
the runners of its parts (simulator/parts/), ready for the engine's walker.

`dtype` is 'float64', 'float32', or a simulator.fixed_point.FixedPoint (a precision and its calibrated
ranges): then the runners are the parts' fixed-point forms and every tensor between parts is int64
(simulator/compiled_fixed.py)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import InputError
from models.spec import Network
from simulator.parts import BlockRunners, Context, block_runners, runner

DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass
class CompiledNetwork:
    net: Network
    dtype: type
    layers: list[BlockRunners]
    final_norm: object | None     # runner of the prenorm networks' final norm
    enc_rows: np.ndarray | None   # linear encoder as (d_input, H) rows
    enc_bias: np.ndarray | None
    enc_fan_out: np.ndarray | None
    embedding: np.ndarray | None = None   # embedding encoder's table in the run dtype
    fixed: object | None = None           # fixed point: simulator.compiled_fixed.FixedIO (input, encoder, output)

    @property
    def H(self) -> int:
        return self.net.H

    def prepare_input(self, x: np.ndarray) -> np.ndarray:
        """The encoder's input in the run arithmetic (fixed point: quantised to the message width)."""
        if self.fixed is not None:
            return self.fixed.quantise_input(x)
        return np.ascontiguousarray(x, dtype=self.dtype)

    def finish_encoder(self, u: np.ndarray, c) -> np.ndarray:
        """Fixed point: the encoder's integer sums committed as messages (saturations counted by c)."""
        return u if self.fixed is None else self.fixed.commit_encoder(u, c)

    def y_scale(self, li: int) -> float:
        """What one unit of block li's SSM output y is worth (1.0 in float; 2^-f_y in fixed point)."""
        sc = self.layers[li].scales
        return 1.0 if sc is None else 2.0 ** -sc.f_y

    @property
    def out_scale(self) -> float:
        """What one unit of the last block's output is worth (1.0 in float; 2^-f in fixed point)."""
        return 1.0 if self.fixed is None else self.fixed.out_scale


def compile_network(net: Network, dtype="float64") -> CompiledNetwork:
    if not isinstance(dtype, str):
        from simulator.compiled_fixed import compile_fixed
        return CompiledNetwork(net=net, dtype=np.int64, **compile_fixed(net, dtype))
    if dtype not in DTYPES:
        raise InputError(f"dtype: expected one of {', '.join(DTYPES)}, found {dtype!r}")
    f = DTYPES[dtype]
    layers = [block_runners(block, f, net.disc) for block in net.blocks]
    final = None if net.final_norm is None else runner(net.final_norm, Context(dtype=f, disc=net.disc))
    if net.encoder.kind == "linear":
        enc_rows = np.ascontiguousarray(net.encoder.weight.T, dtype=f)
        enc = dict(enc_rows=enc_rows, enc_bias=np.ascontiguousarray(net.encoder.bias, dtype=f),
                   enc_fan_out=np.count_nonzero(enc_rows, axis=1).astype(np.int64))
    else:
        enc = dict(enc_rows=None, enc_bias=None, enc_fan_out=None, embedding=net.encoder.weight)
    return CompiledNetwork(net=net, dtype=f, layers=layers, final_norm=final, **enc)
