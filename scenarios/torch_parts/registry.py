"""Part kind name -> PyTorch module class, per role (the names of models/parts)."""
from __future__ import annotations

PARTS: dict[tuple[str, str], type] = {}


def register(role: str, kind: str):
    def deco(cls):
        cls.role, cls.kind = role, kind
        PARTS[(role, kind)] = cls
        return cls
    return deco


def build(role: str, kind: str, cfg):
    """A new module of the registered part kind, sized and set from cfg (a ModelConfig)."""
    try:
        cls = PARTS[(role, kind)]
    except KeyError:
        known = sorted(k for r, k in PARTS if r == role)
        raise ValueError(f"unknown {role} part {kind!r}; known: {', '.join(known)}") from None
    return cls(cfg)
