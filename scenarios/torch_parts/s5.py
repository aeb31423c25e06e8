"""s5 SSM (models/parts/s5.py): one MIMO diagonal state of P = N/2 complex modes shared by the layer."""
from __future__ import annotations

import math

import torch
from torch import nn

from scenarios.torch_parts.conv import log_uniform_dt
from scenarios.torch_parts.registry import register


class S5SSM(nn.Module):
    """Lambda = -exp(inv_A_real) + i A_imag, dt per mode; x_t = Ab x_{t-1} + Bb u_t, y_t = Re(C x_t)
    (no factor 2; the D term is added by the part).

    Init: Lambda_p = -1/2 + i pi p (S4D-Lin, the diagonal of HiPPO's normal part as S5 approximates it),
    dt log-uniform per mode, B ~ CN(0, 1/H), C ~ CN(0, 1). Computed as one FFT convolution per mode."""

    def __init__(self, cfg):
        super().__init__()
        H, P = cfg.d_model, cfg.d_state // 2
        if cfg.bidirectional:
            raise ValueError("s5 is unidirectional here (models/parts/s5.py)")
        if cfg.n_ssm not in (None, 1):
            raise ValueError("s5 has one state per layer; n_ssm does not apply")
        self.disc = cfg.disc
        self.log_dt = nn.Parameter(log_uniform_dt(P, cfg))
        self.inv_A_real = nn.Parameter(torch.full((P,), math.log(0.5)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(P, dtype=torch.float32))
        self.B = nn.Parameter(torch.view_as_real(torch.randn(P, H, dtype=torch.cfloat) / math.sqrt(H)).clone())
        self.C = nn.Parameter(torch.view_as_real(torch.randn(H, P, dtype=torch.cfloat)).clone())

    def discrete(self):
        lam = torch.complex(-torch.exp(self.inv_A_real), self.A_imag)
        dt = torch.exp(self.log_dt)
        B = torch.view_as_complex(self.B)
        if self.disc == "bilinear":
            inv = 1 / (1 - dt * lam / 2)
            return (1 + dt * lam / 2) * inv, (dt * inv)[:, None] * B
        if self.disc == "zoh":
            ab = torch.exp(dt * lam)
            return ab, ((ab - 1) / lam)[:, None] * B
        raise ValueError(f"unknown discretisation {self.disc!r}")

    def forward(self, u):
        """u (B, L, H) -> y (B, L, H) without the D term."""
        L = u.shape[1]
        Ab, Bb = self.discrete()
        bu = torch.complex(u, torch.zeros_like(u)) @ Bb.T                  # (B, L, P)
        steps = torch.arange(L, device=u.device, dtype=u.dtype)
        V = torch.exp(torch.log(Ab)[:, None] * steps)                       # (P, L)
        n = 2 * L
        x = torch.fft.ifft(torch.fft.fft(bu, n=n, dim=1) * torch.fft.fft(V.T, n=n, dim=0), n=n, dim=1)[:, :L]
        return (x @ torch.view_as_complex(self.C).T).real


@register("ssm", "s5")
class S5(nn.Module):
    """Kernel held as ``kernel`` (keys ``layer.kernel.kernel.*``); D on the layer (``layer.D``)."""

    def __init__(self, cfg):
        super().__init__()
        self.kernel = S5SSM(cfg)

    def forward(self, u, D):
        return self.kernel(u) + u * D[0]
