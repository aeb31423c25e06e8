"""Part kinds by role and name: the one place a kind string turns into a class."""
from __future__ import annotations

from models.errors import CheckpointError

ROLES = ("norm", "ssm", "activation", "mixing")
_KINDS: dict[str, dict[str, type]] = {role: {} for role in ROLES}


def register(cls: type) -> type:
    """Class decorator: make `cls` loadable under (cls.role, cls.kind)."""
    if cls.kind in _KINDS[cls.role]:
        raise ValueError(f"{cls.role} kind {cls.kind!r} is registered twice")
    _KINDS[cls.role][cls.kind] = cls
    return cls


def kinds(role: str) -> tuple[str, ...]:
    return tuple(_KINDS[role])


def part_class(role: str, kind, where: str) -> type:
    """The class of a part kind; an unknown kind is refused naming where it was found and the known kinds."""
    found = _KINDS[role].get(kind) if isinstance(kind, str) else None
    if found is None:
        raise CheckpointError(f"{where}: {role} kind {kind!r} is not known; expected one of {', '.join(kinds(role))}")
    return found
