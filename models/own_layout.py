"""Our state_dict layouts of the new part kinds (scenarios/torch_model.py's NEW_ARCHS) -> Network.

The three recipes of models/presets.py (RECIPES) keep the paper's key scheme wherever a tensor means the
same thing (docs/checkpoint-format.md, "Layouts of the new part kinds"):

* lif_s4d: exactly Binary S4D's keys (S4D kernel, output_linear.0 of shape (2H, H), norms); the activation
  is LIF instead of the Heaviside spike.
* sigma_delta_s4d: real S4D kernel keys `layer.kernel.kernel.{log_dt (H), inv_A_real (n_ssm, N), B (n_ssm,
  N), C (directions, H, N)}` (real: no A_imag, no trailing (re, im) axis), `layer.D` (1, H), linear mixing
  `layer.output_linear.0.{weight (H, H), bias (H)}` with ReLU; no norm keys (norm keys, if present, are read
  as in the paper's layout).
* s5: S5 keys `layer.kernel.kernel.{log_dt (P), inv_A_real (P), A_imag (P), B (P, H, 2), C (H, P, 2)}`,
  `layer.D` (1, H), GLU mixing `layer.output_linear.0.{weight (2H, H), bias (2H)}`, norms as the paper's.

What keys cannot tell (the arch itself, the residual, LIF's beta, threshold and reset) comes from the model
card's `arch` and `config` (as scenarios.train writes them), else the recipe's defaults. The ReLU activations
import as relu_sigma_delta with delta_threshold 0 (exact ReLU, what was trained).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from models import presets
from models.errors import CheckpointError
from models.paper_layout import (KERNEL, LAYER_RE, PAPER_EPS, SCALAR_PREFIX, _as_float, _complex, _near_keys,
                                 _strip_lightning, batches_tracked, encoder_and_decoder,
                                 validate_named)
from models.paper_layout import network_from_state_dict as paper_network
from models.parts import part_class
from models.spec import Block, Network

ARCHS = tuple(presets.RECIPES)
# ModelConfig fields (scenarios/torch_model.py) -> LIF settings
LIF_CONFIG = {"lif_beta": "beta", "lif_threshold": "v_threshold", "lif_reset": "reset"}


def settings_from_config(arch: str, config: dict | None, source: str) -> tuple[bool, dict, dict]:
    """(residual, activation settings, mixing settings) of a recipe, a model card's `config` overriding."""
    recipe = presets.RECIPES[arch]
    config = config if isinstance(config, dict) else {}
    residual = config.get("residual", recipe["residual"])
    if not isinstance(residual, bool):
        raise CheckpointError(f"{source}: model card field 'config.residual': expected true or false, "
                              f"found {residual!r}")
    act = dict(recipe.get("activation_settings", {}))
    if recipe["activation"] == "lif":
        for field, name in LIF_CONFIG.items():
            if field in config:
                value = config[field]
                if name != "reset" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise CheckpointError(f"{source}: model card field 'config.{field}': expected a number, "
                                          f"found {value!r}")
                act[name] = float(value) if name != "reset" else value
    return residual, act, dict(recipe.get("mixing_settings", {}))


def canonical_to_keys(net: Network) -> dict[str, str]:
    """Canonical path -> our key, for messages."""
    keys = {"encoder/weight": "encoder.0.weight", "encoder/bias": "encoder.0.bias",
            "decoder/weight": "decoder.0.output_transform.weight",
            "decoder/bias": "decoder.0.output_transform.bias"}
    for n in ("weight", "bias", "running_mean", "running_var"):
        keys["final_norm/" + n] = "model.norm.norm." + n
    for i in range(len(net.blocks)):
        p, c = f"model.layers.{i}.", f"blocks/{i}/"
        keys.update({c + "ssm/" + n: p + KERNEL + n for n in ("log_dt", "inv_A_real", "A_imag", "B", "C")})
        keys[c + "ssm/D"] = p + "layer.D"
        keys[c + "mixing/weight"] = p + "layer.output_linear.0.weight"
        keys[c + "mixing/bias"] = p + "layer.output_linear.0.bias"
        for n in ("weight", "bias", "running_mean", "running_var"):
            keys[c + "norm/" + n] = p + "norm.norm." + n
    return keys


def network_from_state_dict(sd: dict[str, np.ndarray], *, source: str, arch: str, arch_source: str = "",
                            disc: str = "bilinear", decoder: str = "pool", config: dict | None = None,
                            metadata: dict | None = None) -> Network:
    """Build and validate a Network of one of the RECIPES from our state_dict layout (numpy arrays)."""
    if arch not in presets.RECIPES:
        raise CheckpointError(f"{source}: arch {arch!r} is not one of the new recipes ({', '.join(ARCHS)})")
    recipe = presets.RECIPES[arch]
    residual, act_settings, mix_settings = settings_from_config(arch, config, source)
    activation_cls = part_class("activation", recipe["activation"], source)
    meta = {"arch": arch}
    meta.update(metadata or {})

    if recipe["ssm"] == "s4d":        # lif_s4d: Binary S4D's keys; swap the activation, set the residual
        net = paper_network(sd, source=source, disc=disc, decoder=decoder, kind="binary_s4d",
                            kind_source=f"{arch_source or 'arch'} {arch!r}, which has Binary S4D's keys",
                            metadata=meta)
        blocks = tuple(dataclasses.replace(b, activation=activation_cls(**act_settings), residual=residual)
                       for b in net.blocks)
        net = dataclasses.replace(net, blocks=blocks)
        return validate_named(net, source, {c: f"key {k!r}" for c, k in canonical_to_keys(net).items()})

    sd = _strip_lightning(sd)
    used: set[str] = set()

    def take(key: str, shape: tuple | None = None):
        if key not in sd:
            near = _near_keys(key, sd)
            raise CheckpointError(f"{source}: missing key {key!r} (layout of {arch})"
                                  + (f" (similar keys present: {near})" if near else ""))
        used.add(key)
        a = _as_float(sd[key], source, key)
        if shape is not None and a.shape != tuple(shape):
            raise CheckpointError(f"{source}: key {key!r}: expected shape {tuple(shape)}, found {a.shape}")
        if not np.all(np.isfinite(a)):
            raise CheckpointError(f"{source}: key {key!r}: {int(a.size - np.isfinite(a).sum())} of {a.size} "
                                  "values are NaN or Inf")
        return a

    layer_ids = sorted({int(m.group(1)) for k in sd for m in [LAYER_RE.match(k)] if m})
    if not layer_ids or layer_ids != list(range(len(layer_ids))):
        raise CheckpointError(f"{source}: expected layers model.layers.0..n-1 (layout of {arch}), found "
                              f"indices {layer_ids}")
    D0 = take("model.layers.0.layer.D")
    if D0.ndim != 2 or D0.shape[0] != 1 or D0.shape[1] < 1:
        raise CheckpointError(f"{source}: key 'model.layers.0.layer.D': expected shape (1, H), found {D0.shape}")
    H = D0.shape[1]
    k0 = "model.layers.0." + KERNEL
    if recipe["ssm"] == "s4d_real":
        inv0, C0 = take(k0 + "inv_A_real"), take(k0 + "C")
        if inv0.ndim != 2 or C0.ndim != 3 or min(inv0.shape) < 1 or C0.shape[0] not in (1, 2):
            raise CheckpointError(f"{source}: layer 0 real S4D kernel: expected inv_A_real (n_ssm, N) and C "
                                  f"(1 or 2, H, N); found {inv0.shape}, {C0.shape}")
        (n_ssm, n), dirs = inv0.shape, C0.shape[0]
        if H % n_ssm:
            raise CheckpointError(f"{source}: n_ssm = {n_ssm} (rows of inv_A_real) must divide H = {H}")
    else:
        inv0 = take(k0 + "inv_A_real")
        if inv0.ndim != 1 or inv0.shape[0] < 1:
            raise CheckpointError(f"{source}: layer 0 S5 kernel: expected inv_A_real (P,), found {inv0.shape}")
        P = inv0.shape[0]

    p0 = "model.layers.0.norm.norm."
    norm_kind = ("batch" if p0 + "running_mean" in sd else "layer") if p0 + "weight" in sd else "none"
    prenorm = "model.norm.norm.weight" in sd

    def norm(prefix: str):
        if norm_kind == "none":
            return None
        kw = dict(weight=take(prefix + "weight", (H,)), bias=take(prefix + "bias", (H,)), eps=PAPER_EPS)
        if norm_kind == "batch":
            kw.update(running_mean=take(prefix + "running_mean", (H,)), running_var=take(prefix + "running_var", (H,)))
            kw["num_batches_tracked"] = batches_tracked(sd, prefix + "num_batches_tracked", source, used)
        return part_class("norm", norm_kind, f"{source}: key {prefix + 'weight'!r}")(**kw)

    ssm_cls = part_class("ssm", recipe["ssm"], source)
    mixing_cls = part_class("mixing", recipe["mixing"], source)
    width = 2 * H if recipe["mixing"] == "glu" else H
    blocks = []
    for i in layer_ids:
        p = f"model.layers.{i}."
        k = p + KERNEL
        D = take(p + "layer.D", (1, H))[0]
        if recipe["ssm"] == "s4d_real":
            ssm = ssm_cls(log_dt=take(k + "log_dt", (H,)), inv_A_real=take(k + "inv_A_real", (n_ssm, n)),
                          B=take(k + "B", (n_ssm, n)), C=take(k + "C", (dirs, H, n)), D=D)
        else:
            ssm = ssm_cls(log_dt=take(k + "log_dt", (P,)), inv_A_real=take(k + "inv_A_real", (P,)),
                          A_imag=take(k + "A_imag", (P,)), B=_complex(take(k + "B", (P, H, 2))),
                          C=_complex(take(k + "C", (H, P, 2))), D=D)
        q = p + "layer.output_linear.0."
        mixing = mixing_cls(weight=take(q + "weight", (width, H)), bias=take(q + "bias", (width,)), **mix_settings)
        blocks.append(Block(ssm=ssm, activation=activation_cls(**act_settings), mixing=mixing,
                            norm=norm(p + "norm.norm."), residual=residual))

    encoder, dec = encoder_and_decoder(sd, take, H, decoder, source)
    final = norm("model.norm.norm.") if prenorm else None

    extra = sorted(set(sd) - used)
    if extra:
        raise CheckpointError(f"{source}: unexpected keys {extra[:8]}{' …' if len(extra) > 8 else ''}: "
                              f"misspelled, or not a checkpoint of the {arch} layout")
    dtypes = sorted({str(np.asarray(sd[k]).dtype) for k in used
                     if not k.endswith("num_batches_tracked") and not k.startswith(SCALAR_PREFIX)})
    meta.update({"source_file": str(source), "source_dtype": dtypes[0] if len(dtypes) == 1 else "float64"})
    meta.update(metadata or {})
    net = Network(disc=disc, prenorm=prenorm, encoder=encoder, blocks=tuple(blocks), final_norm=final,
                  decoder=dec, metadata=meta)
    return validate_named(net, source, {c: f"key {k!r}" for c, k in canonical_to_keys(net).items()})
