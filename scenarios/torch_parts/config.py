"""ModelConfig: the sizes and settings every part module is built from."""
from __future__ import annotations

from dataclasses import asdict, dataclass


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
