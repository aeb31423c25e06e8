"""PyTorch SSM-SNN classifiers (Binary S4D, GSU, S4D baseline, and the new part kinds) for training.

Written from the equations in docs/semantics.md (Stan & Rhodes, arXiv 2401.00955),
not copied from the paper's code. ``state_dict()`` of ``SSMClassifier`` has
exactly the paper checkpoint's keys and shapes (``model.layers.i.``,
``encoder.0.``, ``decoder.0.output_transform.``; complex tensors as trailing
(re, im) pairs), so the simulator's importer reads our checkpoints and the
paper's the same way. The module runs in float32 for training and in
float64 (``.double()``) for exactness checks.

The new archs (``NEW_ARCHS``: ``lif_s4d``, ``sigma_delta_s4d``, ``s5``) compose
other part kinds per block (``ARCH_PARTS``: ssm, activation, mixing) and keep
the paper's key scheme wherever a tensor means the same thing; their layouts
are in docs/checkpoint-format.md ("Layouts of the new part kinds") and
``paper_layout(cfg)``, and models/own_layout.py imports them.

Layout inside the network: activations are (batch, L, H); the SSM
convolution transposes to (batch, H, L) so the FFT runs over the last axis.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("binary_s4d", "gsu", "s4d")                      # the paper's three (paper key layout)
NEW_ARCHS = ("lif_s4d", "sigma_delta_s4d", "s5")         # new part kinds (our layout, same key scheme)
ALL_ARCHS = ARCHS + NEW_ARCHS
# arch -> (ssm, activation, mixing) part kinds of every block (models/parts names)
ARCH_PARTS = {
    "binary_s4d": ("s4d", "heaviside", "glu"),
    "gsu": ("s4d", "ternary", "gsu"),
    "s4d": ("s4d", "gelu", "glu"),
    "lif_s4d": ("s4d", "lif", "glu"),                    # SpikingSSMs-style LIF spikes into a GLU
    "sigma_delta_s4d": ("s4d_real", "relu_sigma_delta", "linear"),  # Meyer et al.: real S4D, ReLU, ReLU linear
    "s5": ("s5", "relu_sigma_delta", "glu"),             # S5 MIMO SSM, ReLU, GLU
}


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "binary_s4d"      # binary_s4d | gsu | s4d (GELU baseline) | lif_s4d | sigma_delta_s4d | s5
    d_input: int = 1
    n_classes: int = 10
    d_model: int = 64             # H
    d_state: int = 64             # N (real dimensions; N/2 complex modes); s4d_real: N real modes;
                                  # s5: N/2 complex modes shared by the layer
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
    residual: bool = True         # block residual x + f(x) (sigma_delta_s4d trains without)
    lif_beta: float = 0.9         # lif_s4d: v_t = beta v_{t-1} + y_t
    lif_threshold: float = 1.0    # lif_s4d: s_t = 1[v_t > threshold]
    lif_reset: str = "soft"       # lif_s4d: soft (v -= threshold) | hard (v = 0) after a spike
    fold_norm: bool = False       # linear mixing: train with BatchNorm between activation and linear
                                  # (keys layer.fold_norm.*), folded into the linear by fold_norms()

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


class LIFSpike(torch.autograd.Function):
    """Leaky integrate-and-fire over time, as models/parts/lif.py: v_t = beta v_{t-1} + y_t (v_{-1} = 0),
    s_t = 1[v_t > thr], then v_t -= thr (soft) or v_t = 0 (hard) where s_t = 1.

    Forward is the exact recurrence (same float operations as the simulator's reference). Backward: arctan
    surrogate dS/dv at v_t - thr and the reset detached (as snnTorch), so
    dL/dv_t = dL/ds_t * surr(v_t - thr) + beta * r_t * dL/dv_{t+1}, r_t = 1 (soft) or 1 - s_t (hard), and
    dL/dy_t = dL/dv_t.
    """

    @staticmethod
    def forward(ctx, y, beta, thr, hard, alpha):
        B, L, H = y.shape
        v = y.new_zeros(B, H)
        s = torch.empty_like(y)
        vs = torch.empty_like(y)
        for t in range(L):
            v = beta * v + y[:, t]
            vs[:, t] = v
            fired = v > thr
            s[:, t] = fired.to(y.dtype)
            v = torch.where(fired, torch.zeros_like(v) if hard else v - thr, v)
        ctx.save_for_backward(vs, s)
        ctx.beta, ctx.thr, ctx.hard, ctx.alpha = beta, thr, hard, alpha
        return s

    @staticmethod
    def backward(ctx, grad):
        vs, s = ctx.saved_tensors
        a, beta = ctx.alpha, ctx.beta
        gs = grad * (a / 2) / (1 + (math.pi / 2 * a * (vs - ctx.thr)) ** 2)
        keep = beta * (1 - s) if ctx.hard else None
        out = torch.empty_like(gs)
        acc = torch.zeros_like(gs[:, 0])
        for t in range(gs.shape[1] - 1, -1, -1):
            acc = gs[:, t] + (keep[:, t] * acc if ctx.hard else beta * acc)
            out[:, t] = acc
        return out, None, None, None, None


def lif_spike(y, beta=0.9, thr=1.0, reset="soft", alpha=2.0):
    if reset not in ("soft", "hard"):
        raise ValueError(f"unknown LIF reset {reset!r}; use soft or hard")
    return LIFSpike.apply(y, float(beta), float(thr), reset == "hard", alpha)


# -------------------------------------------------------- new SSM kinds --

class SSKernelReal(nn.Module):
    """Real S4D (models/parts/s4d_real.py): A = -exp(inv_A_real) real, B and C real, N real modes per
    channel; K_c[h, l] = 2 sum_n C[c,h,n] Bb[h,n] Ab[h,n]^l. S4D-Real init A_n = -(n + 1), B = 1, C ~ N(0, 1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        H, N = cfg.d_model, cfg.d_state
        n_ssm = cfg.n_ssm or H
        if H % n_ssm:
            raise ValueError(f"n_ssm={n_ssm} must divide d_model={H}")
        channels = 2 if cfg.bidirectional else 1
        self.disc = cfg.disc
        self.n_ssm = n_ssm
        log_dt = torch.rand(H) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min)
        n = torch.arange(N, dtype=torch.float32).expand(n_ssm, N)
        self.log_dt = nn.Parameter(log_dt)
        self.inv_A_real = nn.Parameter(torch.log(n + 1).clone())
        self.B = nn.Parameter(torch.ones(n_ssm, N))
        self.C = nn.Parameter(torch.randn(channels, H, N))

    def forward(self, L: int):
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
        # powers through complex log, as the reference: Ab may be negative (bilinear with dt |A| > 2)
        cdt = torch.complex(Ab, torch.zeros_like(Ab))
        steps = torch.arange(L, device=Ab.device, dtype=Ab.dtype)
        V = torch.exp(torch.log(cdt)[..., None] * steps).real            # Ab^l, (H, N, L)
        return 2 * torch.einsum("chn,hnl->chl", self.C * Bb, V)


class S5SSM(nn.Module):
    """S5 (models/parts/s5.py): P = N/2 complex modes shared by the H channels, Lambda = -exp(inv_A_real)
    + i A_imag, dt per mode; x_t = Ab x_{t-1} + Bb u_t, y_t = Re(C x_t) + D u_t (no factor 2).

    Init: Lambda_p = -1/2 + i pi p (S4D-Lin, the diagonal of HiPPO's normal part as S5 approximates it),
    dt log-uniform per mode, B ~ CN(0, 1/H), C ~ CN(0, 1). Computed as one FFT convolution per mode."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        H, P = cfg.d_model, cfg.d_state // 2
        if cfg.bidirectional:
            raise ValueError("s5 is unidirectional here (models/parts/s5.py)")
        if cfg.n_ssm not in (None, 1):
            raise ValueError("s5 has one state per layer; n_ssm does not apply")
        self.disc = cfg.disc
        log_dt = torch.rand(P) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min)
        self.log_dt = nn.Parameter(log_dt)
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
        ssm = ARCH_PARTS[cfg.arch][0]
        self.kernel = SSKernelReal(cfg) if ssm == "s4d_real" else S5SSM(cfg) if ssm == "s5" else SSKernelDiag(cfg)

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
        mixing = ARCH_PARTS[cfg.arch][2] if cfg.arch in ARCH_PARTS else None
        if mixing == "glu" and cfg.arch != "gsu":
            self.output_linear = nn.Sequential(nn.Linear(H, 2 * H), nn.GLU(dim=-1))
        elif mixing == "linear":           # W a + b, then ReLU; He init keeps the scale through ReLU layers
            lin = nn.Linear(H, H)
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            nn.init.zeros_(lin.bias)
            self.output_linear = nn.Sequential(lin, nn.ReLU())
            if cfg.fold_norm:
                self.fold_norm = nn.BatchNorm1d(H)
        elif cfg.fold_norm:
            raise ValueError("fold_norm applies to the linear mixing only")
        elif cfg.arch == "gsu":
            self.GSU = nn.Parameter(torch.randn(H, H) / math.sqrt(H))
            self.GSU_bias = nn.Parameter(torch.zeros(H))
            self.norm = nn.LayerNorm(H)
        else:
            raise ValueError(f"unknown arch {cfg.arch!r}; use one of {ARCHS}")

    def ssm(self, u):
        """y[t] = sum_{s<=t} K_0[t-s] u[s] (+ sum_{s>t} K_1[s-t-1] u[s]) + D u[t]; u (B, L, H)."""
        L = u.shape[1]
        if ARCH_PARTS[self.cfg.arch][0] == "s5":
            return self.kernel.kernel(u) + u * self.D[0]
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
        act = ARCH_PARTS[cfg.arch][1]
        if act == "heaviside":
            a = spike(y, cfg.surrogate_alpha)
        elif act == "lif":
            a = lif_spike(y, cfg.lif_beta, cfg.lif_threshold, cfg.lif_reset, cfg.surrogate_alpha)
        elif act == "relu_sigma_delta":      # sigma-delta with threshold 0 sends exactly ReLU(y)
            a = F.relu(y)
        else:
            a = F.gelu(y)
        if cfg.fold_norm:                     # BN(a) in training; an affine map folded away afterwards
            return self.output_linear(self.dropout(self.fold_norm(a.transpose(1, 2)).transpose(1, 2))), a
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
        self.residual = cfg.residual
        self.layer = SSMLayer(cfg)
        self.norm = Normalization(cfg.d_model, cfg.norm)

    def forward(self, x):
        if self.prenorm:                   # x + f(Norm(x))
            out, a = self.layer(self.norm(x))
            return (x + out if self.residual else out), a
        out, a = self.layer(x)             # Norm(x + f(x))
        return self.norm(x + out if self.residual else out), a


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
        if cfg.arch not in ALL_ARCHS:
            raise ValueError(f"unknown arch {cfg.arch!r}; use one of {ALL_ARCHS}")
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


def fold_norms(model: SSMClassifier) -> SSMClassifier:
    """The same network in eval mode without the fold_norm BatchNorms: Linear(BN(a)) = W (s a + t) + b with
    s = weight / sqrt(running_var + eps), t = bias - running_mean s, becomes W' a + b' with W' = W diag(s),
    b' = b + W t. Returns a new model (cfg.fold_norm False) whose state_dict is the plain layout."""
    cfg = model.cfg
    folded = SSMClassifier(ModelConfig(**{**cfg.to_dict(), "fold_norm": False})).to(model.encoder[0].weight.dtype)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items() if ".layer.fold_norm." not in k}
    with torch.no_grad():
        for i, block in enumerate(model.model.layers):
            bn, lin = block.layer.fold_norm, block.layer.output_linear[0]
            s = (bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps))
            t = bn.bias.double() - bn.running_mean.double() * s
            p = f"model.layers.{i}.layer.output_linear.0."
            sd[p + "weight"] = (lin.weight.double() * s[None, :]).to(lin.weight.dtype)
            sd[p + "bias"] = (lin.bias.double() + lin.weight.double() @ t).to(lin.bias.dtype)
    folded.load_state_dict(sd, strict=True)
    return folded.eval()


def paper_layout(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Expected state_dict keys and shapes of the paper checkpoint (table in docs/semantics.md); for the new
    archs, of our layout in the same key scheme (docs/checkpoint-format.md, "Layouts of the new part kinds")."""
    H, N2, n_ssm = cfg.d_model, cfg.d_state // 2, cfg.n_ssm or cfg.d_model
    out = {}
    ssm, _, mixing = ARCH_PARTS[cfg.arch]
    dirs = 2 if cfg.bidirectional else 1
    for i in range(cfg.n_layers):
        p = f"model.layers.{i}."
        k = p + "layer.kernel.kernel."
        if ssm == "s4d":
            out[k + "log_dt"] = (H,)
            out[k + "inv_A_real"] = (n_ssm, N2)
            out[k + "A_imag"] = (n_ssm, N2)
            out[k + "B"] = (n_ssm, N2, 2)
            out[k + "C"] = (dirs, H, N2, 2)
        elif ssm == "s4d_real":            # N real modes per channel, no A_imag, B and C real
            out[k + "log_dt"] = (H,)
            out[k + "inv_A_real"] = (n_ssm, cfg.d_state)
            out[k + "B"] = (n_ssm, cfg.d_state)
            out[k + "C"] = (dirs, H, cfg.d_state)
        else:                              # s5: P = N/2 complex modes per layer
            out[k + "log_dt"] = (N2,)
            out[k + "inv_A_real"] = (N2,)
            out[k + "A_imag"] = (N2,)
            out[k + "B"] = (N2, H, 2)
            out[k + "C"] = (H, N2, 2)
        out[p + "layer.D"] = (1, H)
        if mixing == "linear":
            out[p + "layer.output_linear.0.weight"] = (H, H)
            out[p + "layer.output_linear.0.bias"] = (H,)
            if cfg.fold_norm:              # training only: fold_norms() removes these
                out.update(_norm_keys(p + "layer.fold_norm.", ModelConfig(d_model=H, norm="batch")))
        elif cfg.arch == "gsu":
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
