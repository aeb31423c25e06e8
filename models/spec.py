"""The network as data: small frozen dataclasses, validated once when loaded.

Notation (docs/semantics.md): H channels, N real state dimensions (N/2 complex modes), L steps.
Every array is float64 (complex128 for B and C); the loaders convert on the way in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models import limits, presets
from models.errors import CheckpointError
from models.parts import GLU, GSU, BatchNorm, LayerNorm, Part, S4D

DISCRETISATIONS = ("bilinear", "zoh")
ENCODER_KINDS = ("linear", "embedding")
DECODER_MODES = ("pool", "last")

# The part classes of the paper's layers, under the names the rest of the code has always used.
SSM = S4D
GLUMixing = GLU
GSUMixing = GSU
Norm = BatchNorm | LayerNorm


@dataclass(frozen=True, eq=False)
class Block:
    """[norm] -> ssm -> activation -> mixing -> [residual]; the norm sits before the SSM (prenorm networks)
    or after the residual sum (postnorm)."""

    ssm: Part
    activation: Part
    mixing: Part
    norm: Part | None = None
    residual: bool = True

    def parts(self) -> dict[str, Part]:
        """The block's parts by role, in data-flow order (absent norm left out)."""
        found = {"norm": self.norm, "ssm": self.ssm, "activation": self.activation, "mixing": self.mixing}
        return {role: part for role, part in found.items() if part is not None}

    @property
    def spiking(self) -> bool:
        return self.activation.MESSAGE != "graded"


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
    disc: str
    prenorm: bool
    encoder: Encoder
    blocks: tuple[Block, ...]
    final_norm: Norm | None
    decoder: Decoder
    metadata: dict = field(default_factory=dict)

    # ---- shape facts -------------------------------------------------------------
    @property
    def kind(self) -> str:
        """The preset name (binary_s4d, gsu, s4d) when every block follows one, else the parts spelled out."""
        return presets.name_of(self.blocks)

    @property
    def spiking(self) -> bool:
        """Some block emits spikes (the S4D baseline does not)."""
        return any(b.spiking for b in self.blocks)

    @property
    def H(self) -> int:
        return int(self.decoder.weight.shape[-1])

    @property
    def N(self) -> int:
        """State size of the first block's SSM, as it defines it (S4D: per channel; S5: per layer)."""
        return int(self.blocks[0].ssm.state_size)

    @property
    def n_ssm(self) -> int:
        return int(self.blocks[0].ssm.n_ssm)

    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    @property
    def directions(self) -> int:
        return int(self.blocks[0].ssm.directions)

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
            for role, part in block.parts().items():
                out.update({f"blocks/{i}/{role}/{name}": a for name, a in part.arrays().items()})
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


def _norm_arrays(prefix: str, norm: Part) -> dict[str, np.ndarray]:
    return {f"{prefix}/{name}": a for name, a in norm.arrays().items()}


# ---- validation ------------------------------------------------------------------------

def validate(net: Network) -> Network:
    """Check options, shapes, finiteness and stability; raise CheckpointError naming the array.

    Messages name arrays by canonical path; loaders re-word them with the file and its own key names.
    """
    _check_choice("disc", net.disc, DISCRETISATIONS)
    _check_choice("encoder kind", net.encoder.kind, ENCODER_KINDS)
    _check_choice("decoder mode", net.decoder.mode, DECODER_MODES)
    if not net.blocks:
        raise CheckpointError("the network has no layers (expected at least one block)")
    H = net.H
    _check_io_shapes(net, H)
    for i, block in enumerate(net.blocks):
        for role, part in block.parts().items():
            part.check(H, f"blocks/{i}/{role}")
    if net.final_norm is not None:
        net.final_norm.check(H, "final_norm")
    if net.prenorm and net.final_norm is None and any(b.norm is not None for b in net.blocks):
        raise CheckpointError("final_norm: prenorm networks with block norms need a final norm (found none)")
    if not net.prenorm and net.final_norm is not None:
        raise CheckpointError("final_norm: only prenorm networks have a final norm (this one is postnorm)")
    complex_paths = {f"blocks/{i}/{role}/{name}" for i, b in enumerate(net.blocks)
                     for role, part in b.parts().items() for name in part.COMPLEX}
    for path, a in net.arrays().items():
        want = np.complex128 if path in complex_paths else np.float64
        if a.dtype != want:
            raise CheckpointError(f"{path}: expected dtype {np.dtype(want).name}, found {a.dtype}")
        if not np.all(np.isfinite(a)):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise CheckpointError(f"{path}: {bad} of {a.size} values are NaN or Inf")
        big = np.abs(a) > limits.MAX_ABS_WEIGHT
        if np.any(big):
            raise CheckpointError(f"{path}: {int(big.sum())} of {a.size} values exceed the cap "
                                  f"|w| <= {limits.MAX_ABS_WEIGHT:g} (largest {np.abs(a).max():g})")
        if path.endswith("running_var") and np.any(a < 0):
            raise CheckpointError(f"{path}: BatchNorm running variance must be >= 0, found min {a.min():g}")
    for i, block in enumerate(net.blocks):
        block.ssm.check_stable(net.disc, where=f"blocks/{i}/ssm")   # each SSM kind knows its own dynamics
    return net


def _check_io_shapes(net: Network, H: int) -> None:
    """Encoder and decoder against H (the parts check themselves)."""
    enc = net.encoder
    want = {"encoder/weight": (H, enc.weight.shape[-1]) if enc.kind == "linear" else (enc.weight.shape[0], H),
            "decoder/weight": (net.decoder.weight.shape[0], H), "decoder/bias": (net.decoder.weight.shape[0],)}
    if enc.kind == "linear":
        want["encoder/bias"] = (H,)
    found = {"encoder/weight": enc.weight, "encoder/bias": enc.bias,
             "decoder/weight": net.decoder.weight, "decoder/bias": net.decoder.bias}
    for path, shape in want.items():
        a = found[path]
        if not isinstance(a, np.ndarray) or a.ndim != len(shape) or a.shape != shape or 0 in shape:
            raise CheckpointError(f"{path}: expected shape {shape}, found {getattr(a, 'shape', type(a).__name__)}")


def _check_choice(what: str, value, allowed) -> None:
    if value not in allowed:
        raise CheckpointError(f"{what}: expected one of {', '.join(allowed)}, found {value!r}")
