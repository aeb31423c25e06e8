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

Each part kind's PyTorch module is in scenarios/torch_parts/<kind>.py, registered by
its models/parts name; a block here is [norm] -> ssm -> activation -> mixing ->
[residual], composed from ARCH_PARTS. The parts sit under the names the layouts
give them (``layer.kernel``, ``layer.output_linear``, the GSU's tensors on the
layer itself), so the keys are the same as before the split.

Layout inside the network: activations are (batch, L, H); the SSM
convolution transposes to (batch, H, L) so the FFT runs over the last axis.
"""
from __future__ import annotations

import torch
from torch import nn

from scenarios.torch_parts import build
from scenarios.torch_parts.config import ModelConfig
# the part modules' pieces, importable from here as before the split
from scenarios.torch_parts.gsu import ternary_weight  # noqa: F401
from scenarios.torch_parts.lif import LIFSpike, lif_spike  # noqa: F401
from scenarios.torch_parts.s4d import SSKernelDiag  # noqa: F401
from scenarios.torch_parts.s4d_real import SSKernelReal  # noqa: F401
from scenarios.torch_parts.s5 import S5SSM  # noqa: F401
from scenarios.torch_parts.surrogate import ATanSpike, spike  # noqa: F401
from scenarios.torch_parts.ternary import ternary_spike  # noqa: F401

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


# ---------------------------------------------------------------- blocks --

class SSMLayer(nn.Module):
    """ssm -> activation -> mixing of one block, each a part module (scenarios/torch_parts) chosen by
    ARCH_PARTS. Returns (out, activation): spikes for the SNNs, graded values otherwise."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.arch not in ARCH_PARTS:
            raise ValueError(f"unknown arch {cfg.arch!r}; use one of {ALL_ARCHS}")
        ssm, act, mixing = ARCH_PARTS[cfg.arch]
        if cfg.fold_norm and mixing != "linear":
            raise ValueError("fold_norm applies to the linear mixing only")
        H = cfg.d_model
        self.cfg = cfg
        # construction order = the random draws' order before the split (same init for the same seed)
        self.kernel = build("ssm", ssm, cfg)          # keys layer.kernel.kernel.*
        self.D = nn.Parameter(torch.randn(1, H))       # the SSM's skip term, on the layer as in the paper
        self.dropout = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.activation = build("activation", act, cfg)
        part = build("mixing", mixing, cfg)
        if part.MOUNT:
            self.add_module(part.MOUNT, part)
        else:                                           # adopt its tensors under their own names (GSU)
            for name, p in part.named_parameters(recurse=False):
                self.register_parameter(name, p)
            for name, m in part.named_children():
                self.add_module(name, m)
        self.__dict__["mixing"] = part                  # not a child: its keys are the ones above
        if cfg.fold_norm:                               # BN(a) while training, folded away by fold_norms()
            self.fold_norm = nn.BatchNorm1d(H)

    def ssm(self, u):
        """y = the SSM part's output for u (B, L, H), D u included."""
        return self.kernel(u, self.D)

    def forward(self, u):
        y = self.ssm(u)
        a = self.activation(y)
        m = self.fold_norm(a.transpose(1, 2)).transpose(1, 2) if self.cfg.fold_norm else a
        return self.mixing(self.dropout(m), y), a


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.prenorm = cfg.prenorm
        self.residual = cfg.residual
        self.layer = SSMLayer(cfg)
        self.norm = build("norm", cfg.norm, cfg)

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
            self.norm = build("norm", cfg.norm, cfg)


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
