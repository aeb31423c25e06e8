"""--init-from: start training from one of our state_dicts (weights_only, strict, clear errors)."""
from __future__ import annotations

from pathlib import Path

import torch


class InitMismatch(ValueError):
    """The state_dict does not fit the model being trained: names the file and the keys."""


def _fold_keys(name: str) -> bool:
    return ".layer.fold_norm." in name


def check_fits(sd: dict, model, path) -> None:
    """Every key of the exported layout present with its shape, nothing else (strict), or InitMismatch.

    With cfg.fold_norm the training-only BatchNorms are not in a shipped (folded) file; they are
    rebuilt by unfold() instead, so they are the only keys allowed to be missing."""
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()
            if not (model.cfg.fold_norm and _fold_keys(k))}
    if model.cfg.fold_norm and any(_fold_keys(k) for k in sd):
        want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(want) - set(sd))
    unexpected = sorted(set(sd) - set(want))
    shapes = sorted(f"{k}: file {tuple(sd[k].shape)}, model {want[k]}" for k in set(want) & set(sd)
                    if tuple(sd[k].shape) != want[k])
    if missing or unexpected or shapes:
        parts = [f"{label} ({len(v)}): {', '.join(v[:4])}{' ...' if len(v) > 4 else ''}"
                 for label, v in (("missing keys", missing), ("unexpected keys", unexpected),
                                  ("shape mismatches", shapes)) if v]
        raise InitMismatch(f"--init-from {path}: does not fit --arch {model.cfg.arch} with these sizes; "
                           + "; ".join(parts))


def load_into(model, path, x_stats=None) -> None:
    """Load PATH (torch.load weights_only=True) into model, strictly; see check_fits.

    x_stats (B, L, d_input) tensor: training inputs to rebuild the fold_norm BatchNorms from, when the
    file is a folded network and the model trains with --fold-norm."""
    path = Path(path)
    try:
        sd = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:                      # noqa: BLE001 - any unreadable file gets one message
        raise InitMismatch(f"--init-from {path}: cannot be read as a state_dict ({type(e).__name__}: {e})") from e
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise InitMismatch(f"--init-from {path}: not a state_dict of tensors")
    check_fits(sd, model, path)
    folded = model.cfg.fold_norm and not any(_fold_keys(k) for k in sd)
    with torch.no_grad():
        model.load_state_dict(sd, strict=not folded)
    if folded:
        if x_stats is None:
            raise InitMismatch(f"--init-from {path}: a folded network needs inputs to rebuild --fold-norm")
        unfold(model, x_stats)


def unfold(model, x) -> None:
    """Rebuild each fold_norm BatchNorm from the statistics (m, v) of its input a on x: weight 1, bias 0,
    running (m, v), and the linear after it takes the scale, W' = W diag(sqrt(v + eps)), b' = b + W m.
    In eval mode W' BN(a) + b' = W a + b exactly (up to rounding); in training about so. The BN's own
    parameters start at their usual scale, so the optimiser's first steps do not blow up small ones.
    fold_norms() afterwards folds the trained BN back into the linear."""
    layers = [b.layer for b in model.model.layers]
    seen = {}
    hooks = [lay.fold_norm.register_forward_pre_hook(lambda m, inp, i=i: seen.__setitem__(i, inp[0]))
             for i, lay in enumerate(layers)]
    with torch.no_grad():
        for lay in layers:                      # identity first, so each BN sees what the file computes
            bn = lay.fold_norm
            bn.reset_running_stats()
            bn.weight.fill_(1.0)
            bn.weight.mul_(torch.sqrt(bn.running_var + bn.eps))
            bn.bias.zero_()
        was = model.training
        model.eval()
        model(x)
        model.train(was)
        for i, lay in enumerate(layers):
            bn, lin = lay.fold_norm, lay.output_linear[0]
            a = seen[i]                          # (B, H, L)
            m = a.mean(dim=(0, 2))
            v = a.var(dim=(0, 2), unbiased=False)
            bn.running_mean.copy_(m)
            bn.running_var.copy_(v)
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            lin.bias.add_(lin.weight @ m)
            lin.weight.mul_(torch.sqrt(v + bn.eps)[None, :])
    for h in hooks:
        h.remove()
