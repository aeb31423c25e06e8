"""The causal (or bidirectional) FFT convolution of a kernel with the input, plus the skip term D u:
shared by the SSM kinds that produce a per-channel kernel (s4d, s4d_real)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def fft_conv(u, k, D, bidirectional):
    """y[t] = sum_{s<=t} K_0[t-s] u[s] (+ sum_{s>t} K_1[s-t-1] u[s]) + D u[t]; u (B, L, H), k (c, H, L)."""
    L = u.shape[1]
    if bidirectional:
        # backward kernel sits reversed at the end of a length-2L circular kernel:
        # index 2L-1-j holds K_1[j], which the circular conv applies to u[t+1+j]
        k = F.pad(k[0], (0, L)) + F.pad(k[1].flip(-1), (L, 0))
    else:
        k = k[0]
    uT = u.transpose(1, 2)                                      # (B, H, L)
    y = torch.fft.irfft(torch.fft.rfft(uT, n=2 * L) * torch.fft.rfft(k, n=2 * L), n=2 * L)[..., :L]
    y = y + uT * D[0][:, None]
    return y.transpose(1, 2)                                    # (B, L, H)


def log_uniform_dt(n, cfg):
    """log dt uniform in [log dt_min, log dt_max], n values."""
    return torch.rand(n) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min)
