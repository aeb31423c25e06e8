"""PyTorch SSM-SNN classifiers (Binary S4D, GSU, S4D baseline) for training.

Written from the equations in docs/semantics.md (Stan & Rhodes, arXiv 2401.00955),
not copied from the paper's code. ``state_dict()`` of ``SSMClassifier`` has
exactly the paper checkpoint's keys and shapes (``model.layers.i.``,
``encoder.0.``, ``decoder.0.output_transform.``; complex tensors as trailing
(re, im) pairs), so the simulator's importer reads our checkpoints and the
paper's the same way. The module runs in float32 for training and in
float64 (``.double()``) for exactness checks.

Layout inside the network: activations are (batch, L, H); the SSM
convolution transposes to (batch, H, L) so the FFT runs over the last axis.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("binary_s4d", "gsu", "s4d")


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "binary_s4d"      # binary_s4d | gsu | s4d (GELU baseline)
    d_input: int = 1
    n_classes: int = 10
    d_model: int = 64             # H
    d_state: int = 64             # N (real dimensions; N/2 complex modes)
    n_layers: int = 4
    n_ssm: int | None = None      # rows of A and B (None = H); channel h uses row h % n_ssm
    bidirectional: bool = False
    norm: str = "batch"           # batch | layer | none
    prenorm: bool = False
    init: str = "inv"             # S4D-Inv ("inv") or S4D-Lin ("lin")
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    disc: str = "bilinear"        # bilinear (the paper's runs) | zoh
    dropout: float = 0.0
    decoder: str = "pool"         # pool (mean over L) | last
    surrogate_alpha: float = 2.0  # arctan surrogate slope
    gsu_threshold: float = 0.15   # GSU: delta = 0.15 * max_h |y|, dW = 0.15 * max |GSU|

    def to_dict(self):
        return asdict(self)


# ---------------------------------------------------------------- spikes --

class ATanSpike(torch.autograd.Function):
    """Heaviside 1[x > 0] forward; arctan surrogate gradient (snnTorch ATan form)."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        return grad * (a / 2) / (1 + (math.pi / 2 * a * x) ** 2), None


def spike(x, alpha=2.0):
    return ATanSpike.apply(x, alpha)


def ternary_spike(y, frac=0.15, alpha=2.0):
    """GSU spikes 1[y - d > 0] - 1[-y - d > 0], d = frac * max_h |y| per (sample, t).

    The threshold is detached: it acts as a constant in the surrogate gradient.
    """
    d = frac * y.abs().amax(dim=-1, keepdim=True).detach()
    return spike(y - d, alpha) - spike(-y - d, alpha)


def ternary_weight(w, frac=0.15):
    """1[w - d > 0] - 1[-w - d > 0], d = frac * max |w|; straight-through gradient."""
    d = frac * w.abs().max().detach()
    wt = (w - d > 0).to(w.dtype) - (-w - d > 0).to(w.dtype)
    return w + (wt - w).detach()


# ------------------------------------------------------------------- SSM --

class SSKernelDiag(nn.Module):
    """Diagonal SSM kernel K_c[h, l] = 2 Re(sum_n C[c,h,n] Bb[h,n] Ab[h,n]^l)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        H, N2 = cfg.d_model, cfg.d_state // 2
        n_ssm = cfg.n_ssm or H
        if H % n_ssm:
            raise ValueError(f"n_ssm={n_ssm} must divide d_model={H}")
        channels = 2 if cfg.bidirectional else 1
        self.disc = cfg.disc
        self.n_ssm = n_ssm
        # dt log-uniform in [dt_min, dt_max], one per channel
        log_dt = torch.rand(H) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min)
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


class _KernelHolder(nn.Module):
    """Only there so parameter names read ``layer.kernel.kernel.*`` as in the paper."""

    def __init__(self, cfg):
        super().__init__()
        self.kernel = SSKernelDiag(cfg)

    def forward(self, L):
        return self.kernel(L)


class SSMLayer(nn.Module):
    """S4D convolution, then spikes (binary / ternary) or GELU, then mixing."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        H = cfg.d_model
        self.cfg = cfg
        self.kernel = _KernelHolder(cfg)
        self.D = nn.Parameter(torch.randn(1, H))
        self.dropout = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        if cfg.arch in ("binary_s4d", "s4d"):
            self.output_linear = nn.Sequential(nn.Linear(H, 2 * H), nn.GLU(dim=-1))
        elif cfg.arch == "gsu":
            self.GSU = nn.Parameter(torch.randn(H, H) / math.sqrt(H))
            self.GSU_bias = nn.Parameter(torch.zeros(H))
            self.norm = nn.LayerNorm(H)
        else:
            raise ValueError(f"unknown arch {cfg.arch!r}; use one of {ARCHS}")

    def ssm(self, u):
        """y[t] = sum_{s<=t} K_0[t-s] u[s] (+ sum_{s>t} K_1[s-t-1] u[s]) + D u[t]; u (B, L, H)."""
        L = u.shape[1]
        k = self.kernel(L)
        if self.cfg.bidirectional:
            # backward kernel sits reversed at the end of a length-2L circular kernel:
            # index 2L-1-j holds K_1[j], which the circular conv applies to u[t+1+j]
            k = F.pad(k[0], (0, L)) + F.pad(k[1].flip(-1), (L, 0))
        else:
            k = k[0]
        uT = u.transpose(1, 2)                                      # (B, H, L)
        y = torch.fft.irfft(torch.fft.rfft(uT, n=2 * L) * torch.fft.rfft(k, n=2 * L), n=2 * L)[..., :L]
        y = y + uT * self.D[0][:, None]
        return y.transpose(1, 2)                                    # (B, L, H)

    def forward(self, u):
        """Return (out (B, L, H), activation (B, L, H)): spikes for the SNNs, GELU output for S4D."""
        y = self.ssm(u)
        cfg = self.cfg
        if cfg.arch == "gsu":
            s = ternary_spike(y, cfg.gsu_threshold, cfg.surrogate_alpha)
            P = self.dropout(s) @ self.GSU + self.GSU_bias            # row vector times W
            g = y @ ternary_weight(self.GSU, cfg.gsu_threshold)      # gate from real-valued y
            return F.gelu(self.norm(P * g)), s
        a = spike(y, cfg.surrogate_alpha) if cfg.arch == "binary_s4d" else F.gelu(y)
        return self.output_linear(self.dropout(a)), a


# ---------------------------------------------------------------- blocks --

class Normalization(nn.Module):
    """BatchNorm1d over channels, LayerNorm over H, or nothing; input (B, L, H)."""

    def __init__(self, H, kind):
        super().__init__()
        self.kind = kind
        if kind == "batch":
            self.norm = nn.BatchNorm1d(H)
        elif kind == "layer":
            self.norm = nn.LayerNorm(H)
        elif kind == "none":
            self.norm = nn.Identity()
        else:
            raise ValueError(f"unknown norm {kind!r}; use batch, layer or none")

    def forward(self, x):
        if self.kind == "batch":
            return self.norm(x.transpose(1, 2)).transpose(1, 2)
        return self.norm(x)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.prenorm = cfg.prenorm
        self.layer = SSMLayer(cfg)
        self.norm = Normalization(cfg.d_model, cfg.norm)

    def forward(self, x):
        if self.prenorm:                   # x + f(Norm(x))
            out, a = self.layer(self.norm(x))
            return x + out, a
        out, a = self.layer(x)             # Norm(x + f(x))
        return self.norm(x + out), a


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        if cfg.prenorm:                    # final norm only for prenorm models
            self.norm = Normalization(cfg.d_model, cfg.norm)


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.mode = cfg.decoder
        if self.mode not in ("pool", "last"):
            raise ValueError(f"unknown decoder {self.mode!r}; use pool or last")
        self.output_transform = nn.Linear(cfg.d_model, cfg.n_classes)

    def forward(self, x):
        x = x.mean(dim=1) if self.mode == "pool" else x[:, -1]
        return self.output_transform(x)


class SSMClassifier(nn.Module):
    """encoder (Linear d_input -> H) -> blocks -> [final norm] -> decoder."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.arch not in ARCHS:
            raise ValueError(f"unknown arch {cfg.arch!r}; use one of {ARCHS}")
        self.cfg = cfg
        self.encoder = nn.Sequential(nn.Linear(cfg.d_input, cfg.d_model))
        self.model = Backbone(cfg)
        self.decoder = nn.ModuleList([Decoder(cfg)])

    def forward(self, x, return_activity=False):
        """x (B, L, d_input) -> logits (B, classes) [, list of per-layer activations (B, L, H)]."""
        x = self.encoder(x)
        acts = []
        for block in self.model.layers:
            x, a = block(x)
            acts.append(a)
        if self.cfg.prenorm:
            x = self.model.norm(x)
        logits = self.decoder[0](x)
        return (logits, acts) if return_activity else logits


def paper_layout(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Expected state_dict keys and shapes of the paper checkpoint (table in docs/semantics.md)."""
    H, N2, n_ssm = cfg.d_model, cfg.d_state // 2, cfg.n_ssm or cfg.d_model
    out = {}
    for i in range(cfg.n_layers):
        p = f"model.layers.{i}."
        k = p + "layer.kernel.kernel."
        out[k + "log_dt"] = (H,)
        out[k + "inv_A_real"] = (n_ssm, N2)
        out[k + "A_imag"] = (n_ssm, N2)
        out[k + "B"] = (n_ssm, N2, 2)
        out[k + "C"] = (2 if cfg.bidirectional else 1, H, N2, 2)
        out[p + "layer.D"] = (1, H)
        if cfg.arch == "gsu":
            out[p + "layer.GSU"] = (H, H)
            out[p + "layer.GSU_bias"] = (H,)
            out[p + "layer.norm.weight"] = (H,)
            out[p + "layer.norm.bias"] = (H,)
        else:
            out[p + "layer.output_linear.0.weight"] = (2 * H, H)
            out[p + "layer.output_linear.0.bias"] = (2 * H,)
        out.update(_norm_keys(p + "norm.norm.", cfg))
    if cfg.prenorm:
        out.update(_norm_keys("model.norm.norm.", cfg))
    out["encoder.0.weight"] = (H, cfg.d_input)
    out["encoder.0.bias"] = (H,)
    out["decoder.0.output_transform.weight"] = (cfg.n_classes, H)
    out["decoder.0.output_transform.bias"] = (cfg.n_classes,)
    return out


def _norm_keys(prefix, cfg):
    H = cfg.d_model
    if cfg.norm == "none":
        return {}
    keys = {prefix + "weight": (H,), prefix + "bias": (H,)}
    if cfg.norm == "batch":
        keys.update({prefix + "running_mean": (H,), prefix + "running_var": (H,),
                     prefix + "num_batches_tracked": ()})
    return keys
