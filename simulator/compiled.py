"""One compiled representation of a loaded network: contiguous arrays in the run dtype, ready for the kernels."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.discretize import discretize
from models.errors import InputError
from models.spec import GSUMixing, Network, Norm

DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass
class CompiledLayer:
    kind: str
    a_re: np.ndarray
    a_im: np.ndarray
    b_re: np.ndarray
    b_im: np.ndarray
    c_re: np.ndarray   # (directions, H, N/2)
    c_im: np.ndarray
    d: np.ndarray
    w_rows: np.ndarray       # (H, out): row i is what input i adds (GLU: W.T; GSU: the GSU matrix as is)
    bias: np.ndarray
    fan_out: np.ndarray      # (H,) nonzero weights per input row (effective synaptic fan-out)
    norm: Norm | None
    gsu: GSUMixing | None = None
    wt_rows: np.ndarray | None = None    # GSU ternary gate weights (H, H)
    nz_index: np.ndarray | None = None   # sparse form of wt_rows for the event engine
    nz_sign: np.ndarray | None = None
    nz_count: np.ndarray | None = None

    @property
    def directions(self) -> int:
        return self.c_re.shape[0]


@dataclass
class CompiledNetwork:
    net: Network
    dtype: type
    layers: list[CompiledLayer]
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

    def arr(a):
        return np.ascontiguousarray(a, dtype=f)

    layers = []
    for block in net.blocks:
        d = discretize(block.ssm, net.disc)
        m = block.mixing
        if isinstance(m, GSUMixing):
            w_rows, wt = arr(m.weight), m.ternary_weight()
            nz_count = np.count_nonzero(wt, axis=1).astype(np.int64)
            nz_index = np.zeros((wt.shape[0], max(1, nz_count.max())), np.int64)
            nz_sign = np.zeros_like(nz_index, dtype=np.int8)
            for i in range(wt.shape[0]):
                cols = np.nonzero(wt[i])[0]
                nz_index[i, :cols.size] = cols
                nz_sign[i, :cols.size] = wt[i, cols]
            extra = dict(gsu=m, wt_rows=arr(wt), nz_index=nz_index, nz_sign=nz_sign, nz_count=nz_count)
        else:
            w_rows, extra = arr(m.weight.T), {}
        layers.append(CompiledLayer(
            kind=net.kind, a_re=arr(d.Ab.real), a_im=arr(d.Ab.imag), b_re=arr(d.Bb.real), b_im=arr(d.Bb.imag),
            c_re=arr(d.C.real), c_im=arr(d.C.imag), d=arr(d.D), w_rows=w_rows, bias=arr(m.bias),
            fan_out=np.count_nonzero(w_rows, axis=1).astype(np.int64), norm=block.norm, **extra))
    if net.encoder.kind == "linear":
        enc_rows = arr(net.encoder.weight.T)
        enc = dict(enc_rows=enc_rows, enc_bias=arr(net.encoder.bias),
                   enc_fan_out=np.count_nonzero(enc_rows, axis=1).astype(np.int64))
    else:
        enc = dict(enc_rows=None, enc_bias=None, enc_fan_out=None)
    return CompiledNetwork(net=net, dtype=f, layers=layers, **enc)
