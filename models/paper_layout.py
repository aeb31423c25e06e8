"""The paper code's state_dict layout (docs/checkpoint-format.md) <-> Network, on plain numpy arrays.

Shapes determine layer family (GLU vs GSU), H, N, n_layers, n_ssm, directions, norm kind, prenorm,
classes and d_input. They cannot tell the discretisation, the decoder mode, nor Binary S4D from the
S4D (GELU) baseline, whose layouts are identical: those come from the caller, and a GLU-layout
state_dict whose kind nobody states is refused rather than guessed.

Scalars the paper's layout has no key for (GSU thresholds, norm eps) are written by export under the
reserved prefix `simulator.` only when they differ from the paper code's constants, so a default
network exports exactly the paper's keys and any other one round-trips.
"""
from __future__ import annotations

import re

import numpy as np

from models import limits, presets
from models.errors import CheckpointError
from models.parts import GLU, GSU, S4D, part_class
from models.spec import Block, Decoder, Encoder, Network, validate

KERNEL = "layer.kernel.kernel."
LAYER_RE = re.compile(r"^model\.layers\.(\d+)\.")
SCALAR_PREFIX = "simulator."
PAPER_RATIO = 0.15  # the paper code's GSU thresholds (spikes and ternary weights)
PAPER_EPS = 1e-5    # its LayerNorm/BatchNorm eps


def scalar_keys(net: Network) -> dict[str, tuple[object, str, float]]:
    """Reserved key -> (object holding the scalar, attribute, paper default), for every scalar of net."""
    keys = {}
    for i, block in enumerate(net.blocks):
        if isinstance(block.mixing, GSU):
            g = f"{SCALAR_PREFIX}layers.{i}.gsu."
            keys[g + "spike_ratio"] = (block.activation, "ratio", PAPER_RATIO)
            keys[g + "weight_ratio"] = (block.mixing, "weight_ratio", PAPER_RATIO)
            keys[g + "norm_eps"] = (block.mixing, "norm_eps", PAPER_EPS)
        if block.norm is not None:
            keys[f"{SCALAR_PREFIX}layers.{i}.norm.eps"] = (block.norm, "eps", PAPER_EPS)
    if net.final_norm is not None:
        keys[f"{SCALAR_PREFIX}final_norm.eps"] = (net.final_norm, "eps", PAPER_EPS)
    return keys


def block_keys(i: int) -> dict[str, str]:
    """Canonical path -> paper key, for block i (every key a block may have)."""
    p, c = f"model.layers.{i}.", f"blocks/{i}/"
    keys = {c + "ssm/" + n: p + KERNEL + n for n in ("log_dt", "inv_A_real", "A_imag", "B", "C")}
    keys[c + "ssm/D"] = p + "layer.D"
    keys[c + "mixing/weight"] = p + "layer.output_linear.0.weight"
    keys[c + "mixing/bias"] = p + "layer.output_linear.0.bias"
    keys.update(_norm_keys(c + "norm/", p + "norm.norm."))
    return keys


def gsu_keys(i: int) -> dict[str, str]:
    p, c = f"model.layers.{i}.layer.", f"blocks/{i}/mixing/"
    return {c + "weight": p + "GSU", c + "bias": p + "GSU_bias",
            c + "norm_weight": p + "norm.weight", c + "norm_bias": p + "norm.bias"}


def _norm_keys(canon: str, paper: str) -> dict[str, str]:
    names = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    return {canon + n: paper + n for n in names}


def canonical_to_paper(net: Network) -> dict[str, str]:
    keys = {"encoder/weight": "encoder.0.weight", "encoder/bias": "encoder.0.bias",
            "decoder/weight": "decoder.0.output_transform.weight",
            "decoder/bias": "decoder.0.output_transform.bias"}
    keys.update(_norm_keys("final_norm/", "model.norm.norm."))
    for i, block in enumerate(net.blocks):
        keys.update(block_keys(i))
        if isinstance(block.mixing, GSU):
            keys.update(gsu_keys(i))
    return keys


def _strip_lightning(sd: dict) -> dict:
    """A Lightning .ckpt nests the weights under 'state_dict'; a bare torch.save(...) does not."""
    if "state_dict" in sd and isinstance(sd["state_dict"], dict):
        return sd["state_dict"]
    return sd


def network_from_state_dict(sd: dict[str, np.ndarray], *, source: str, disc: str = "bilinear",
                            decoder: str = "pool", kind: str | None = None, kind_source: str = "--kind",
                            gsu_threshold: float | None = None, metadata: dict | None = None) -> Network:
    """Build and validate a Network from a paper-layout state_dict of numpy arrays.

    kind: None means 'from the keys', which only works for GSU; kind_source says where a given kind came
    from (for messages). gsu_threshold: both GSU ratios as a model card states them (else the paper's).
    """
    sd = _strip_lightning(sd)
    used: set[str] = set()

    def take(key: str, shape: tuple | None = None, required: bool = True):
        if key not in sd:
            if required:
                near = _near_keys(key, sd)
                raise CheckpointError(f"{source}: missing key {key!r}" + (f" (similar keys present: {near})" if near else ""))
            return None
        used.add(key)
        a = _as_float(sd[key], source, key)
        if shape is not None and a.shape != tuple(shape):
            raise CheckpointError(f"{source}: key {key!r}: expected shape {tuple(shape)}, found {a.shape}")
        if not np.all(np.isfinite(a)):
            raise CheckpointError(f"{source}: key {key!r}: {int(a.size - np.isfinite(a).sum())} of {a.size} values are NaN or Inf")
        return a

    def scalar(key: str, default: float, problem) -> float:
        if key not in sd:
            return default
        used.add(key)
        a = np.asarray(sd[key])
        if a.size != 1 or a.dtype.kind != "f":
            raise CheckpointError(f"{source}: key {key!r}: expected one floating-point number, found {a.dtype} "
                                  f"array of shape {a.shape}")
        value = float(a.reshape(-1)[0])
        why = problem(value)
        if why is None and default != value and key.endswith("_ratio") and gsu_threshold is not None:
            why = f"the model card says gsu_threshold = {gsu_threshold!r}; expected the same, found {value!r}"
        if why:
            raise CheckpointError(f"{source}: key {key!r}: {why}")
        return value

    layer_ids = sorted({int(m.group(1)) for k in sd for m in [LAYER_RE.match(k)] if m})
    if not layer_ids:
        raise CheckpointError(f"{source}: no keys 'model.layers.<i>.…' found: not a checkpoint in the paper's layout "
                              f"(first keys: {list(sd)[:5]})")
    if layer_ids != list(range(len(layer_ids))):
        raise CheckpointError(f"{source}: layer indices must be 0..{len(layer_ids) - 1}, found {layer_ids}")

    first = "model.layers.0." + KERNEL
    log_dt = take(first + "log_dt")
    inv = take(first + "inv_A_real")
    C0 = take(first + "C")
    if log_dt.ndim != 1 or inv.ndim != 2 or C0.ndim != 4 or C0.shape[0] not in (1, 2):
        raise CheckpointError(f"{source}: layer 0 kernel: expected log_dt (H), inv_A_real (n_ssm, N/2), "
                              f"C (1 or 2, H, N/2, 2); found {log_dt.shape}, {inv.shape}, {C0.shape}")
    H, (n_ssm, n2), dirs = log_dt.shape[0], inv.shape, C0.shape[0]
    if min(H, n_ssm, n2) < 1:
        raise CheckpointError(f"{source}: layer 0 kernel: expected H, n_ssm and N/2 >= 1, found log_dt {log_dt.shape}, "
                              f"inv_A_real {inv.shape}")
    if H % n_ssm:
        raise CheckpointError(f"{source}: n_ssm = {n_ssm} (rows of inv_A_real) must divide H = {H}")
    is_gsu = "model.layers.0.layer.GSU" in sd
    if kind is not None and kind not in presets.PRESETS:
        raise CheckpointError(f"{source}: kind {kind!r} (from {kind_source}) is not one of the paper's layouts "
                              f"({', '.join(presets.PRESETS)}); the other recipes are read in our layout "
                              "(models/own_layout.py)")
    kind_unknown = kind is None and not is_gsu  # refused once the rest is checked (its error comes first)
    if kind is None:
        kind, kind_source = ("gsu", "the GSU keys") if is_gsu else ("binary_s4d", "")
    if (kind == "gsu") != is_gsu:
        raise CheckpointError(f"{source}: kind {kind} (from {kind_source}) does not fit the keys: expected "
                              f"{'GSU' if kind == 'gsu' else 'output_linear'} weights, found "
                              f"{'GSU weights' if is_gsu else 'no GSU weights (output_linear layout)'}")
    ratio = PAPER_RATIO if gsu_threshold is None else gsu_threshold
    p0 = "model.layers.0.norm.norm."
    norm_kind = ("batch" if p0 + "running_mean" in sd else "layer") if p0 + "weight" in sd else "none"
    prenorm = "model.norm.norm.weight" in sd

    def norm(prefix: str, eps_key: str):
        if norm_kind == "none":
            return None
        kw = dict(weight=take(prefix + "weight", (H,)), bias=take(prefix + "bias", (H,)),
                  eps=scalar(eps_key, PAPER_EPS, limits.eps_problem))
        if norm_kind == "batch":
            kw.update(running_mean=take(prefix + "running_mean", (H,)), running_var=take(prefix + "running_var", (H,)))
            kw["num_batches_tracked"] = batches_tracked(sd, prefix + "num_batches_tracked", source, used)
        return part_class("norm", norm_kind, f"{source}: key {prefix + 'weight'!r}")(**kw)

    activation_kind = presets.PRESETS[kind][0] if kind in presets.PRESETS else None
    blocks = []
    for i in layer_ids:
        p = f"model.layers.{i}."
        k = p + KERNEL
        ssm = S4D(log_dt=take(k + "log_dt", (H,)), inv_A_real=take(k + "inv_A_real", (n_ssm, n2)),
                  A_imag=take(k + "A_imag", (n_ssm, n2)), B=_complex(take(k + "B", (n_ssm, n2, 2))),
                  C=_complex(take(k + "C", (dirs, H, n2, 2))), D=take(p + "layer.D", (1, H))[0])
        if kind == "gsu":
            q = p + "layer."
            g = f"{SCALAR_PREFIX}layers.{i}.gsu."
            mixing = GSU(weight=take(q + "GSU", (H, H)), bias=take(q + "GSU_bias", (H,)),
                         norm_weight=take(q + "norm.weight", (H,)), norm_bias=take(q + "norm.bias", (H,)),
                         norm_eps=scalar(g + "norm_eps", PAPER_EPS, limits.eps_problem),
                         weight_ratio=scalar(g + "weight_ratio", ratio, limits.ratio_problem))
            activation = part_class("activation", activation_kind, source)(
                ratio=scalar(g + "spike_ratio", ratio, limits.ratio_problem))
        else:
            q = p + "layer.output_linear.0."
            mixing = GLU(weight=take(q + "weight", (2 * H, H)), bias=take(q + "bias", (2 * H,)))
            # an unknown kind is refused after the layout checks below; build a placeholder until then
            activation = part_class("activation", activation_kind or "heaviside", source)()
        blocks.append(Block(ssm=ssm, activation=activation, mixing=mixing,
                            norm=norm(p + "norm.norm.", f"{SCALAR_PREFIX}layers.{i}.norm.eps")))

    encoder, dec = encoder_and_decoder(sd, take, H, decoder, source)
    final = norm("model.norm.norm.", f"{SCALAR_PREFIX}final_norm.eps") if prenorm else None

    extra = sorted(set(sd) - used)
    if extra:
        raise CheckpointError(f"{source}: unexpected keys {extra[:8]}{' …' if len(extra) > 8 else ''}: "
                              "misspelled, or not a checkpoint of the paper's layout")
    dtypes = sorted({str(np.asarray(sd[k]).dtype) for k in used
                     if not k.endswith("num_batches_tracked") and not k.startswith(SCALAR_PREFIX)})
    meta = {"source_file": str(source), "source_dtype": dtypes[0] if len(dtypes) == 1 else "float64"}
    meta.update(metadata or {})
    net = Network(disc=disc, prenorm=prenorm, encoder=encoder, blocks=tuple(blocks),
                  final_norm=final, decoder=dec, metadata=meta)
    net = validate_named(net, source, {c: f"key {p!r}" for c, p in canonical_to_paper(net).items()})
    if kind_unknown:
        raise CheckpointError(f"{source}: layer kind unknown: Binary S4D and the S4D (GELU) baseline have the same "
                              "keys (found output_linear weights, no GSU) and no model card or hyper-parameters "
                              "say which; expected --kind binary_s4d or --kind s4d")
    return net


def encoder_and_decoder(sd: dict, take, H: int, decoder: str, source: str) -> tuple[Encoder, Decoder]:
    """The encoder (linear with a bias, or an embedding) and the decoder's output Linear, shapes checked:
    the keys every layout of ours and the paper's share."""
    w = take("encoder.0.weight")
    if "encoder.0.bias" in sd:
        if w.ndim != 2 or w.shape[0] != H:
            raise CheckpointError(f"{source}: key 'encoder.0.weight': expected shape ({H}, d_input), found {w.shape}")
        encoder = Encoder("linear", w, take("encoder.0.bias", (H,)))
    else:
        if w.ndim != 2 or w.shape[1] != H:
            raise CheckpointError(f"{source}: key 'encoder.0.weight' (embedding, no bias): expected shape (vocab, {H}), "
                                  f"found {w.shape}")
        encoder = Encoder("embedding", w, None)
    dw = take("decoder.0.output_transform.weight")
    if dw.ndim != 2 or dw.shape[1] != H:
        raise CheckpointError(f"{source}: key 'decoder.0.output_transform.weight': expected shape (classes, {H}), "
                              f"found {dw.shape}")
    return encoder, Decoder(decoder, dw, take("decoder.0.output_transform.bias", (dw.shape[0],)))


def batches_tracked(sd: dict, key: str, source: str, used: set) -> int | None:
    """A BatchNorm's num_batches_tracked counter (kept only for export), checked; None when absent."""
    if key not in sd:
        return None
    used.add(key)
    nbt = np.asarray(sd[key])
    if nbt.size != 1 or nbt.dtype.kind not in "iu":
        raise CheckpointError(f"{source}: key {key!r}: expected one integer, found {nbt.dtype} array of shape "
                              f"{nbt.shape}")
    value = int(nbt.reshape(-1)[0])
    why = limits.batches_tracked_problem(value)
    if why:
        raise CheckpointError(f"{source}: key {key!r}: {why}")
    return value


def validate_named(net: Network, source: str, labels: dict[str, str]) -> Network:
    """validate(), with messages re-worded to name the file and its own keys or datasets."""
    try:
        return validate(net)
    except CheckpointError as e:
        msg = str(e)
        for canon in sorted(labels, key=len, reverse=True):
            if msg.startswith(canon):
                msg = labels[canon] + msg[len(canon):]
                break
        else:
            m = re.match(r"blocks/(\d+)/ssm", msg)
            if m:
                msg = f"layer {m.group(1)} SSM ({labels.get(f'blocks/{m.group(1)}/ssm/log_dt', '')}, …)" + msg[m.end():]
        raise CheckpointError(f"{source}: {msg}") from None


def state_dict_from_network(net: Network, dtype: str | None = None) -> dict[str, np.ndarray]:
    """The paper-layout state_dict (numpy), in the source dtype recorded at import unless told otherwise."""
    if net.kind not in presets.PRESETS:
        raise CheckpointError(f"export: the paper's layout holds {', '.join(presets.NAMES)} networks; this one is "
                              f"{net.kind}")
    dtype = np.dtype(dtype or net.metadata.get("source_dtype", "float64"))
    names = canonical_to_paper(net)
    out: dict[str, np.ndarray] = {}
    for path, a in net.arrays().items():
        if np.iscomplexobj(a):
            a = np.stack([a.real, a.imag], axis=-1)
        if path.endswith("ssm/D"):
            a = a[None, :]
        out[names[path]] = a.astype(dtype)
    for path, n in _batches_tracked(net):
        out[names[path]] = np.asarray(n, dtype=np.int64)
    for key, (obj, attr, default) in scalar_keys(net).items():
        if getattr(obj, attr) != default:  # the paper code hard-codes the default; anything else needs a key
            out[key] = np.asarray(getattr(obj, attr), dtype=np.float64)
    return out


def _batches_tracked(net: Network):
    norms = [(f"blocks/{i}/norm/", b.norm) for i, b in enumerate(net.blocks)] + [("final_norm/", net.final_norm)]
    for prefix, norm in norms:
        if getattr(norm, "num_batches_tracked", None) is not None:
            yield prefix + "num_batches_tracked", norm.num_batches_tracked


def _complex(a: np.ndarray) -> np.ndarray:
    return a[..., 0] + 1j * a[..., 1]


def _as_float(a, source: str, key: str) -> np.ndarray:
    a = np.asarray(a)
    if not (np.issubdtype(a.dtype, np.floating)):
        raise CheckpointError(f"{source}: key {key!r}: expected a floating-point tensor, found dtype {a.dtype}")
    return a.astype(np.float64)


def _near_keys(key: str, sd: dict) -> list[str]:
    import difflib
    return difflib.get_close_matches(key, [str(k) for k in sd], n=3, cutoff=0.85)
