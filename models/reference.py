"""The reference forward pass: the training-time "parallel" form, in numpy float64.

The SSM runs as an FFT convolution with K_c[h, l] = 2 Re(sum_n C[c,h,n] Bb[h,n] Ab[h,n]^l), which is how
the paper's code computes it; every engine is held to this.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import InputError
from models.parts.activation import gelu  # noqa: F401  (re-exported)
from models.parts.mixing import glu, sigmoid  # noqa: F401
from models.parts.norm import layer_norm  # noqa: F401
from models.parts.s4d import ssm_fft, ssm_kernels  # noqa: F401
from models.spec import Network


@dataclass
class LayerRecord:
    pre: np.ndarray     # (B, L, H) SSM output y, the value compared with the threshold
    spikes: np.ndarray  # (B, L, H) int8: 0/1 (binary), -1/0/1 (GSU); empty for the S4D baseline
    out: np.ndarray     # (B, L, H) block output (after residual and postnorm)


@dataclass
class ReferenceResult:
    logits: np.ndarray  # (B, classes)
    layers: list[LayerRecord]

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=-1)


def apply_norm(norm, x: np.ndarray) -> np.ndarray:
    return x if norm is None else norm.forward(x)


def encode(net: Network, x: np.ndarray) -> np.ndarray:
    """Encoder output u (B, L, H) from x (B, L, d_input) floats, or (B, L) integer tokens."""
    x = check_input(net, x)
    if net.encoder.kind == "embedding":
        return net.encoder.weight[x]
    return x @ net.encoder.weight.T + net.encoder.bias


def check_input(net: Network, x: np.ndarray) -> np.ndarray:
    """Validate an input batch against the network; returns float64 (linear) or int64 tokens (embedding)."""
    x = np.asarray(x)
    if net.encoder.kind == "embedding":
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise InputError(f"input: the embedding encoder expects integer tokens of shape (samples, L), "
                             f"found {x.dtype} array of shape {x.shape}")
        if x.size and (x.min() < 0 or x.max() >= net.d_input):
            raise InputError(f"input: tokens must lie in [0, {net.d_input}) (the vocabulary), "
                             f"found range [{x.min()}, {x.max()}]")
        return x.astype(np.int64)
    if x.ndim == 2 and net.d_input == 1:
        x = x[..., None]
    if x.ndim != 3 or x.shape[2] != net.d_input:
        raise InputError(f"input: expected shape (samples, L, {net.d_input}) for this network's linear encoder, "
                         f"found {x.shape}")
    if x.shape[1] == 0:
        raise InputError("input: sequences are empty (L = 0)")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise InputError(f"input: expected real numbers, found dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise InputError("input: contains NaN or Inf values")
    return x


def forward(net: Network, x: np.ndarray) -> ReferenceResult:
    """Logits and, per layer, pre-spike values, spikes and block outputs: the parts' forwards, in order."""
    h = encode(net, x)
    records = []
    for block in net.blocks:
        z = apply_norm(block.norm, h) if net.prenorm else h
        y = block.ssm.forward(z, net.disc)
        sent, spikes = block.activation.forward(y)
        out = block.mixing.forward(sent, y)
        h = h + out if block.residual else out
        if not net.prenorm:
            h = apply_norm(block.norm, h)
        records.append(LayerRecord(pre=y, spikes=np.zeros((0,), np.int8) if spikes is None else spikes, out=h))
    if net.prenorm:
        h = apply_norm(net.final_norm, h)
    pooled = h.mean(axis=1) if net.decoder.mode == "pool" else h[:, -1]
    logits = pooled @ net.decoder.weight.T + net.decoder.bias
    return ReferenceResult(logits=logits, layers=records)
