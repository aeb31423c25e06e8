"""s4d_real SSM (models/parts/s4d_real.py): N real modes per channel, as an FFT convolution."""
from __future__ import annotations

import torch
from torch import nn

from scenarios.torch_parts.conv import fft_conv, log_uniform_dt
from scenarios.torch_parts.registry import register


class SSKernelReal(nn.Module):
    """A = -exp(inv_A_real) real, B and C real; K_c[h, l] = 2 sum_n C[c,h,n] Bb[h,n] Ab[h,n]^l.
    S4D-Real init A_n = -(n + 1), B = 1, C ~ N(0, 1)."""

    def __init__(self, cfg):
        super().__init__()
        H, N = cfg.d_model, cfg.d_state
        n_ssm = cfg.n_ssm or H
        if H % n_ssm:
            raise ValueError(f"n_ssm={n_ssm} must divide d_model={H}")
        channels = 2 if cfg.bidirectional else 1
        self.disc = cfg.disc
        self.n_ssm = n_ssm
        log_dt = log_uniform_dt(H, cfg)
        n = torch.arange(N, dtype=torch.float32).expand(n_ssm, N)
        self.log_dt = nn.Parameter(log_dt)
        self.inv_A_real = nn.Parameter(torch.log(n + 1).clone())
        self.B = nn.Parameter(torch.ones(n_ssm, N))
        self.C = nn.Parameter(torch.randn(channels, H, N))

    def discrete(self):
        """(Ab, Bb) real (H, N), row h taken from parameter row h % n_ssm."""
        H = self.log_dt.shape[0]
        rows = torch.arange(H, device=self.log_dt.device) % self.n_ssm
        A = -torch.exp(self.inv_A_real)[rows]
        B = self.B[rows]
        dt = torch.exp(self.log_dt)[:, None]
        dtA = dt * A
        if self.disc == "bilinear":
            Ab, Bb = (1 + dtA / 2) / (1 - dtA / 2), B * dt / (1 - dtA / 2)
        elif self.disc == "zoh":
            Ab, Bb = torch.exp(dtA), B * (torch.exp(dtA) - 1) / A
        else:
            raise ValueError(f"unknown discretisation {self.disc!r}")
        return Ab, Bb

    def forward(self, L: int):
        Ab, Bb = self.discrete()
        # powers through complex log, as the reference: Ab may be negative (bilinear with dt |A| > 2)
        cdt = torch.complex(Ab, torch.zeros_like(Ab))
        steps = torch.arange(L, device=Ab.device, dtype=Ab.dtype)
        V = torch.exp(torch.log(cdt)[..., None] * steps).real            # Ab^l, (H, N, L)
        return 2 * torch.einsum("chn,hnl->chl", self.C * Bb, V)


@register("ssm", "s4d_real")
class S4DReal(nn.Module):
    """Kernel held as ``kernel`` (keys ``layer.kernel.kernel.*``); D on the layer (``layer.D``)."""

    def __init__(self, cfg):
        super().__init__()
        self.bidirectional = cfg.bidirectional
        self.kernel = SSKernelReal(cfg)

    def forward(self, u, D):
        return fft_conv(u, self.kernel(u.shape[1]), D, self.bidirectional)
