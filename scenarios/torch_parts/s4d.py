"""s4d SSM: N/2 complex diagonal modes per channel, as a causal (or bidirectional) FFT convolution."""
from __future__ import annotations

import math

import torch
from torch import nn

from scenarios.torch_parts.conv import fft_conv, log_uniform_dt
from scenarios.torch_parts.registry import register


class SSKernelDiag(nn.Module):
    """Diagonal SSM kernel K_c[h, l] = 2 Re(sum_n C[c,h,n] Bb[h,n] Ab[h,n]^l)."""

    def __init__(self, cfg):
        super().__init__()
        H, N2 = cfg.d_model, cfg.d_state // 2
        n_ssm = cfg.n_ssm or H
        if H % n_ssm:
            raise ValueError(f"n_ssm={n_ssm} must divide d_model={H}")
        channels = 2 if cfg.bidirectional else 1
        self.disc = cfg.disc
        self.n_ssm = n_ssm
        log_dt = log_uniform_dt(H, cfg)                         # one per channel
        n = torch.arange(N2, dtype=torch.float32).expand(n_ssm, N2)
        if cfg.init == "lin":        # S4D-Lin: A = -1/2 + i pi n
            imag = math.pi * n
        elif cfg.init == "inv":      # S4D-Inv: A = -1/2 + i N/pi (N/(2n+1) - 1)
            N = cfg.d_state
            imag = N / math.pi * (N / (2 * n + 1) - 1)
        else:
            raise ValueError(f"unknown init {cfg.init!r}; use 'inv' or 'lin'")
        B = torch.ones(n_ssm, N2, dtype=torch.cfloat)
        C = torch.randn(channels, H, N2, dtype=torch.cfloat)   # unit complex variance
        C = C * B[torch.arange(H) % n_ssm]                      # C initialised as C*B, as in S4D
        self.log_dt = nn.Parameter(log_dt)
        self.inv_A_real = nn.Parameter(torch.full((n_ssm, N2), math.log(0.5)))
        self.A_imag = nn.Parameter(imag.clone())
        self.B = nn.Parameter(torch.view_as_real(B).clone())
        self.C = nn.Parameter(torch.view_as_real(C).clone())

    def discrete(self):
        """(Ab, Bb) complex (H, N/2), row h taken from parameter row h % n_ssm."""
        H = self.log_dt.shape[0]
        rows = torch.arange(H, device=self.log_dt.device) % self.n_ssm
        A = torch.complex(-torch.exp(self.inv_A_real), self.A_imag)[rows]
        B = torch.view_as_complex(self.B)[rows]
        dt = torch.exp(self.log_dt)[:, None]
        dtA = dt * A
        if self.disc == "bilinear":
            Ab = (1 + dtA / 2) / (1 - dtA / 2)
            Bb = B * dt / (1 - dtA / 2)
        elif self.disc == "zoh":
            Ab = torch.exp(dtA)
            Bb = B * (Ab - 1) / A
        else:
            raise ValueError(f"unknown discretisation {self.disc!r}")
        return Ab, Bb

    def forward(self, L: int):
        Ab, Bb = self.discrete()
        CB = torch.view_as_complex(self.C) * Bb                  # (c, H, N/2)
        steps = torch.arange(L, device=Ab.device, dtype=self.log_dt.dtype)
        V = torch.exp(torch.log(Ab)[..., None] * steps)           # Ab^l, (H, N/2, L)
        return 2 * torch.einsum("chn,hnl->chl", CB, V).real       # (c, H, L)


@register("ssm", "s4d")
class S4D(nn.Module):
    """Holds the kernel as ``kernel`` so parameter names read ``layer.kernel.kernel.*`` as in the paper;
    D (the skip term) stays on the layer, where the paper's layout has it (``layer.D``)."""

    def __init__(self, cfg):
        super().__init__()
        self.bidirectional = cfg.bidirectional
        self.kernel = SSKernelDiag(cfg)

    def forward(self, u, D):
        return fft_conv(u, self.kernel(u.shape[1]), D, self.bidirectional)
