"""The network as data: small frozen dataclasses, validated once when loaded.

Notation (docs/semantics.md): H channels, N real state dimensions (N/2 complex modes), L steps.
Every array is float64 (complex128 for B and C); the loaders convert on the way in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models import limits
from models.errors import CheckpointError

LAYER_KINDS = ("binary_s4d", "gsu", "s4d")
DISCRETISATIONS = ("bilinear", "zoh")
NORM_KINDS = ("batch", "layer")
ENCODER_KINDS = ("linear", "embedding")
DECODER_MODES = ("pool", "last")


@dataclass(frozen=True, eq=False)
class SSM:
    """Continuous diagonal SSM of one layer; channel h uses parameter row h mod n_ssm."""

    log_dt: np.ndarray      # (H,)
    inv_A_real: np.ndarray  # (n_ssm, N/2): Re(A) = -exp(inv_A_real)
    A_imag: np.ndarray      # (n_ssm, N/2)
    B: np.ndarray           # (n_ssm, N/2) complex
    C: np.ndarray           # (directions, H, N/2) complex
    D: np.ndarray           # (H,)

    @property
    def A(self) -> np.ndarray:
        return -np.exp(self.inv_A_real) + 1j * self.A_imag


@dataclass(frozen=True, eq=False)
class Norm:
    """BatchNorm (eval mode, running statistics) or LayerNorm over channels."""

    kind: str
    weight: np.ndarray
    bias: np.ndarray
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None
    num_batches_tracked: int | None = None  # kept only so export reproduces the source tensors
    eps: float = 1e-5


@dataclass(frozen=True, eq=False)
class GLUMixing:
    """Linear H -> 2H then GLU: out = z[:H] * sigmoid(z[H:])."""

    weight: np.ndarray  # (2H, H)
    bias: np.ndarray    # (2H,)


@dataclass(frozen=True, eq=False)
class GSUMixing:
    """The Gated Spiking Unit (docs/semantics.md): ternary spikes, ternary-weight gate, LayerNorm, GELU."""

    weight: np.ndarray       # (H, H): P = s @ weight + bias
    bias: np.ndarray         # (H,)
    norm_weight: np.ndarray  # (H,) inner LayerNorm
    norm_bias: np.ndarray    # (H,)
    norm_eps: float = 1e-5
    spike_ratio: float = 0.15   # delta = ratio * max_h |y|
    weight_ratio: float = 0.15  # dW = ratio * max |weight|

    def ternary_weight(self) -> np.ndarray:
        """Wt = 1[W - dW > 0] - 1[-W - dW > 0], used by the gate g = y @ Wt."""
        dw = self.weight_ratio * np.max(np.abs(self.weight))
        return (self.weight - dw > 0).astype(np.float64) - (-self.weight - dw > 0).astype(np.float64)


@dataclass(frozen=True, eq=False)
class Block:
    ssm: SSM
    mixing: GLUMixing | GSUMixing
    norm: Norm | None


@dataclass(frozen=True, eq=False)
class Encoder:
    kind: str              # 'linear': u = x @ weight.T + bias; 'embedding': u = weight[token]
    weight: np.ndarray     # (H, d_input) or (vocab, H)
    bias: np.ndarray | None


@dataclass(frozen=True, eq=False)
class Decoder:
    mode: str              # 'pool' (mean over time) or 'last'
    weight: np.ndarray     # (classes, H)
    bias: np.ndarray       # (classes,)


@dataclass(frozen=True, eq=False)
class Network:
    kind: str
    disc: str
    prenorm: bool
    encoder: Encoder
    blocks: tuple[Block, ...]
    final_norm: Norm | None
    decoder: Decoder
    metadata: dict = field(default_factory=dict)

    # ---- shape facts -------------------------------------------------------------
    @property
    def H(self) -> int:
        return int(self.blocks[0].ssm.log_dt.shape[0])

    @property
    def N(self) -> int:
        return 2 * int(self.blocks[0].ssm.inv_A_real.shape[1])

    @property
    def n_ssm(self) -> int:
        return int(self.blocks[0].ssm.inv_A_real.shape[0])

    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    @property
    def directions(self) -> int:
        return int(self.blocks[0].ssm.C.shape[0])

    @property
    def d_input(self) -> int:
        """Input channels (linear encoder) or vocabulary size (embedding)."""
        w = self.encoder.weight
        return int(w.shape[1] if self.encoder.kind == "linear" else w.shape[0])

    @property
    def classes(self) -> int:
        return int(self.decoder.weight.shape[0])

    @property
    def norm_kind(self) -> str:
        norm = self.blocks[0].norm
        return "none" if norm is None else norm.kind

    def arrays(self) -> dict[str, np.ndarray]:
        """Every parameter array by its canonical path (also the HDF5 dataset path)."""
        out: dict[str, np.ndarray] = {"encoder/weight": self.encoder.weight}
        if self.encoder.bias is not None:
            out["encoder/bias"] = self.encoder.bias
        for i, block in enumerate(self.blocks):
            p = f"blocks/{i}"
            s = block.ssm
            for name in ("log_dt", "inv_A_real", "A_imag", "B", "C", "D"):
                out[f"{p}/ssm/{name}"] = getattr(s, name)
            m = block.mixing
            out[f"{p}/mixing/weight"] = m.weight
            out[f"{p}/mixing/bias"] = m.bias
            if isinstance(m, GSUMixing):
                out[f"{p}/mixing/norm_weight"] = m.norm_weight
                out[f"{p}/mixing/norm_bias"] = m.norm_bias
            if block.norm is not None:
                out.update(_norm_arrays(f"{p}/norm", block.norm))
        if self.final_norm is not None:
            out.update(_norm_arrays("final_norm", self.final_norm))
        out["decoder/weight"] = self.decoder.weight
        out["decoder/bias"] = self.decoder.bias
        return out

    @property
    def parameter_count(self) -> int:
        """Trainable real parameters (complex entries count twice; BatchNorm statistics excluded)."""
        total = 0
        for path, a in self.arrays().items():
            if path.endswith(("running_mean", "running_var")):
                continue
            total += a.size * (2 if np.iscomplexobj(a) else 1)
        return int(total)

    @property
    def footprint_bytes(self) -> int:
        """Bytes of all parameters and buffers as stored in float32 (NeuroBench's Footprint)."""
        return int(sum(a.size * (2 if np.iscomplexobj(a) else 1) * 4 for a in self.arrays().values()))


def _norm_arrays(prefix: str, norm: Norm) -> dict[str, np.ndarray]:
    out = {f"{prefix}/weight": norm.weight, f"{prefix}/bias": norm.bias}
    if norm.kind == "batch":
        out[f"{prefix}/running_mean"] = norm.running_mean
        out[f"{prefix}/running_var"] = norm.running_var
    return out


# ---- validation ------------------------------------------------------------------------

def expected_shapes(net: Network) -> dict[str, tuple[int, ...]]:
    """The shape each canonical array must have, given the network's H, N, n_ssm, ..."""
    H, n2, n_ssm, dirs = net.H, net.N // 2, net.n_ssm, net.directions
    enc = net.encoder
    shapes: dict[str, tuple[int, ...]] = {}
    if enc.kind == "linear":
        shapes["encoder/weight"] = (H, enc.weight.shape[1] if enc.weight.ndim == 2 else -1)
        shapes["encoder/bias"] = (H,)
    else:
        shapes["encoder/weight"] = (enc.weight.shape[0] if enc.weight.ndim == 2 else -1, H)
    for i, block in enumerate(net.blocks):
        p = f"blocks/{i}"
        shapes.update({
            f"{p}/ssm/log_dt": (H,), f"{p}/ssm/inv_A_real": (n_ssm, n2), f"{p}/ssm/A_imag": (n_ssm, n2),
            f"{p}/ssm/B": (n_ssm, n2), f"{p}/ssm/C": (dirs, H, n2), f"{p}/ssm/D": (H,),
        })
        if isinstance(block.mixing, GSUMixing):
            shapes.update({f"{p}/mixing/weight": (H, H), f"{p}/mixing/bias": (H,),
                           f"{p}/mixing/norm_weight": (H,), f"{p}/mixing/norm_bias": (H,)})
        else:
            shapes.update({f"{p}/mixing/weight": (2 * H, H), f"{p}/mixing/bias": (2 * H,)})
        if block.norm is not None:
            shapes.update({k: (H,) for k in _norm_arrays(f"{p}/norm", block.norm)})
    if net.final_norm is not None:
        shapes.update({k: (H,) for k in _norm_arrays("final_norm", net.final_norm)})
    shapes["decoder/weight"] = (net.classes, H)
    shapes["decoder/bias"] = (net.classes,)
    return shapes


def validate(net: Network) -> Network:
    """Check options, shapes, finiteness and stability; raise CheckpointError naming the array.

    Messages name arrays by canonical path; loaders re-word them with the file and its own key names.
    """
    _check_choice("kind", net.kind, LAYER_KINDS)
    _check_choice("disc", net.disc, DISCRETISATIONS)
    _check_choice("encoder kind", net.encoder.kind, ENCODER_KINDS)
    _check_choice("decoder mode", net.decoder.mode, DECODER_MODES)
    _check_scalars(net)
    if not net.blocks:
        raise CheckpointError("the network has no layers (expected at least one block)")
    for i, block in enumerate(net.blocks):
        gsu = isinstance(block.mixing, GSUMixing)
        if gsu != (net.kind == "gsu"):
            raise CheckpointError(f"blocks/{i}/mixing: layer kind is {net.kind!r} but the block has "
                                  f"{'GSU' if gsu else 'GLU'} mixing weights")
    norms = {None if block.norm is None else block.norm.kind for block in net.blocks}
    if len(norms) > 1:
        raise CheckpointError(f"blocks: mixed norm kinds {sorted(map(str, norms))}; expected one kind for all blocks")
    if net.prenorm != (net.final_norm is not None) and net.norm_kind != "none":
        raise CheckpointError("final_norm: prenorm networks need a final norm and postnorm networks must not have one "
                              f"(prenorm={net.prenorm}, final norm {'present' if net.final_norm else 'absent'})")
    arrays = net.arrays()
    for path, shape in expected_shapes(net).items():
        a = arrays.get(path)
        if a is None:
            raise CheckpointError(f"{path}: missing (expected shape {shape})")
        if not isinstance(a, np.ndarray) or a.shape != shape or -1 in shape:
            raise CheckpointError(f"{path}: expected shape {shape}, found {getattr(a, 'shape', type(a).__name__)}")
        want = np.complex128 if path.endswith(("ssm/B", "ssm/C")) else np.float64
        if a.dtype != want:
            raise CheckpointError(f"{path}: expected dtype {np.dtype(want).name}, found {a.dtype}")
        if not np.all(np.isfinite(a)):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise CheckpointError(f"{path}: {bad} of {a.size} values are NaN or Inf")
        big = np.abs(a) > limits.MAX_ABS_WEIGHT
        if np.any(big):
            raise CheckpointError(f"{path}: {int(big.sum())} of {a.size} values exceed the cap "
                                  f"|w| <= {limits.MAX_ABS_WEIGHT:g} (largest {np.abs(a).max():g})")
    for path, a in arrays.items():
        if path.endswith("running_var") and np.any(a < 0):
            raise CheckpointError(f"{path}: BatchNorm running variance must be >= 0, found min {a.min():g}")
    from models.discretize import check_stable  # local import: discretize imports this module
    for i, block in enumerate(net.blocks):
        check_stable(block.ssm, net.disc, where=f"blocks/{i}/ssm")
    return net


def _check_scalars(net: Network) -> None:
    """The scalar settings, against the ranges of models.limits."""
    norms = [(f"blocks/{i}/norm", b.norm) for i, b in enumerate(net.blocks)] + [("final_norm", net.final_norm)]
    for where, norm in norms:
        if norm is None:
            continue
        _check_choice(f"{where} kind", norm.kind, NORM_KINDS)
        _check_scalar(where, "eps", norm.eps, limits.eps_problem)
        if norm.num_batches_tracked is not None:
            _check_scalar(where, "num_batches_tracked", norm.num_batches_tracked, limits.batches_tracked_problem)
    for i, block in enumerate(net.blocks):
        m = block.mixing
        if isinstance(m, GSUMixing):
            _check_scalar(f"blocks/{i}/mixing", "norm_eps", m.norm_eps, limits.eps_problem)
            for name in ("spike_ratio", "weight_ratio"):
                _check_scalar(f"blocks/{i}/mixing", name, getattr(m, name), limits.ratio_problem)


def _check_scalar(where: str, name: str, value, problem) -> None:
    why = problem(value)
    if why:
        raise CheckpointError(f"{where}: {name}: {why}")


def _check_choice(what: str, value, allowed) -> None:
    if value not in allowed:
        raise CheckpointError(f"{what}: expected one of {', '.join(allowed)}, found {value!r}")
