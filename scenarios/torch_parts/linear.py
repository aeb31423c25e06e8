"""linear mixing (relu): ReLU(W a + b), H -> H, as Meyer et al.'s sigma-delta network."""
from __future__ import annotations

from torch import nn

from scenarios.torch_parts.registry import register


@register("mixing", "linear")
class LinearMixing(nn.Sequential):
    MOUNT = "output_linear"          # keys layer.output_linear.0.*, the paper's scheme

    def __init__(self, cfg):
        H = cfg.d_model
        lin = nn.Linear(H, H)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")   # He init keeps the scale through ReLUs
        nn.init.zeros_(lin.bias)
        super().__init__(lin, nn.ReLU())

    def forward(self, a, y=None):
        return super().forward(a)
