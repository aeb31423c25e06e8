"""The reference forward pass: the training-time "parallel" form, in numpy float64.

The SSM runs as an FFT convolution with K_c[h, l] = 2 Re(sum_n C[c,h,n] Bb[h,n] Ab[h,n]^l), which is how
the paper's code computes it; every engine is held to this.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from models.discretize import DiscreteSSM, discretize
from models.errors import InputError
from models.spec import GSUMixing, Network, Norm


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


def ssm_kernels(d: DiscreteSSM, L: int) -> np.ndarray:
    """K with shape (directions, H, L)."""
    powers = np.exp(np.log(d.Ab)[..., None] * np.arange(L))  # (H, N/2, L)
    return 2.0 * np.einsum("chn,hnl->chl", d.C * d.Bb[None], powers).real


def ssm_fft(d: DiscreteSSM, u: np.ndarray) -> np.ndarray:
    """y[b, t, h] for input u (B, L, H): causal convolution, plus the strictly-future backward term."""
    L = u.shape[1]
    K = ssm_kernels(d, L)
    n = 2 * L  # zero padding to 2L: linear, not circular, convolution
    uf = np.fft.rfft(u, n=n, axis=1)                        # (B, n/2+1, H)
    y = np.fft.irfft(uf * np.fft.rfft(K[0].T, n=n, axis=0), n=n, axis=1)[:, :L]
    if K.shape[0] == 2:
        # Backward direction: y[t] += sum_{s>t} K1[s-t-1] u[s]. On reversed time that is a causal
        # convolution with K1 delayed by one step.
        k1 = np.zeros((L, K.shape[1]))
        k1[1:] = K[1].T[: L - 1]
        ur = np.fft.rfft(u[:, ::-1], n=n, axis=1)
        y = y + np.fft.irfft(ur * np.fft.rfft(k1, n=n, axis=0), n=n, axis=1)[:, :L][:, ::-1]
    return y + d.D * u


def apply_norm(norm: Norm | None, x: np.ndarray) -> np.ndarray:
    if norm is None:
        return x
    if norm.kind == "batch":
        return (x - norm.running_mean) / np.sqrt(norm.running_var + norm.eps) * norm.weight + norm.bias
    return layer_norm(x, norm.weight, norm.bias, norm.eps)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, PyTorch's default."""
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def glu(z: np.ndarray) -> np.ndarray:
    H = z.shape[-1] // 2
    return z[..., :H] * sigmoid(z[..., H:])


def gsu_spikes(y: np.ndarray, ratio: float) -> np.ndarray:
    """Ternary spikes with a per-(sample, step) threshold delta = ratio * max_h |y|."""
    delta = ratio * np.max(np.abs(y), axis=-1, keepdims=True)
    return ((y - delta > 0).astype(np.int8) - (-y - delta > 0).astype(np.int8))


def gsu(m: GSUMixing, y: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    P = spikes.astype(np.float64) @ m.weight + m.bias
    g = y @ m.ternary_weight()
    return gelu(layer_norm(P * g, m.norm_weight, m.norm_bias, m.norm_eps))


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
    """Logits and, per layer, pre-spike values, spikes and block outputs."""
    h = encode(net, x)
    records = []
    for block in net.blocks:
        d = discretize(block.ssm, net.disc)
        z = apply_norm(block.norm, h) if net.prenorm else h
        y = ssm_fft(d, z)
        if net.kind == "binary_s4d":
            spikes = (y > 0).astype(np.int8)
            out = glu(spikes @ block.mixing.weight.T + block.mixing.bias)
        elif net.kind == "s4d":
            spikes = np.zeros((0,), np.int8)
            out = glu(gelu(y) @ block.mixing.weight.T + block.mixing.bias)
        else:
            spikes = gsu_spikes(y, block.mixing.spike_ratio)
            out = gsu(block.mixing, y, spikes)
        h = h + out
        if not net.prenorm:
            h = apply_norm(block.norm, h)
        records.append(LayerRecord(pre=y, spikes=spikes, out=h))
    if net.prenorm:
        h = apply_norm(net.final_norm, h)
    pooled = h.mean(axis=1) if net.decoder.mode == "pool" else h[:, -1]
    logits = pooled @ net.decoder.weight.T + net.decoder.bias
    return ReferenceResult(logits=logits, layers=records)
