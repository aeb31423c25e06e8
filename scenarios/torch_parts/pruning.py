"""--prune: magnitude pruning of the S5 parts' B and C with a fixed mask kept through fine-tuning.

A complex entry is kept or pruned whole (real and imaginary part together), by its modulus, because
the simulator counts an S5 part's B and C by non-zero complex entries (simulator/parts/s5.py)."""
from __future__ import annotations

import torch

PRUNED = ("layer.kernel.kernel.B", "layer.kernel.kernel.C")   # S5 input and output matrices


def targets(model) -> dict[str, torch.nn.Parameter]:
    """The S5 B and C parameters, by state_dict name; empty for other archs."""
    if model.cfg.arch != "s5":
        return {}
    return {n: p for n, p in model.named_parameters() if n.endswith(PRUNED)}


def make_masks(model, fraction: float) -> dict[str, torch.Tensor]:
    """Per tensor, zero the round(fraction x entries) complex entries of smallest modulus (ties: lowest index).

    Returns name -> mask (shape of the complex entries, trailing axis 1) and applies it."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"--prune: expected a fraction in [0, 1), found {fraction}")
    params = targets(model)
    if not params:
        raise ValueError(f"--prune applies to the S5 part's B and C; --arch {model.cfg.arch} has none")
    masks = {}
    for name, p in params.items():
        mod = p.detach().double().pow(2).sum(-1).flatten()       # |z|^2 per complex entry
        k = int(round(fraction * mod.numel()))
        order = torch.argsort(mod, stable=True)
        keep = torch.ones_like(mod)
        keep[order[:k]] = 0.0
        masks[name] = keep.reshape(p.shape[:-1] + (1,)).to(p.dtype)
    apply(model, masks)
    return masks


def apply(model, masks) -> None:
    """Multiply the pruned weights by their masks (after every optimiser step: Adam's momentum would
    otherwise move them off zero)."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, m in masks.items():
            params[name].mul_(m)
            params[name].masked_fill_(params[name] == 0, 0.0)    # -0.0 -> +0.0, a clean zero on export


def sparsity(model) -> dict[str, float]:
    """Fraction of zero complex entries per pruned tensor, by state_dict name."""
    out = {}
    for name, p in targets(model).items():
        z = (p.detach() == 0).all(-1)
        out[name] = round(float(z.float().mean()), 4)
    return out
