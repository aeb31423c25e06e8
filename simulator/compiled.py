"""One compiled representation of a loaded network: the encoder's arrays in the run dtype and, per block,
the runners of its parts (simulator/parts/), ready for the engine's walker."""
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

    @property
    def H(self) -> int:
        return self.net.H


def compile_network(net: Network, dtype: str = "float64") -> CompiledNetwork:
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
        enc = dict(enc_rows=None, enc_bias=None, enc_fan_out=None)
    return CompiledNetwork(net=net, dtype=f, layers=layers, final_norm=final, **enc)
