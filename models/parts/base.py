"""What every part kind provides (models/parts/__init__.py explains the seam)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np

from models.errors import CheckpointError

# A setting's type name and its range check (None when in range, else why not): models.limits holds them.
Setting = tuple[str, Callable[[object], "str | None"]]


@dataclass(frozen=True, eq=False)
class Part:
    role: ClassVar[str]
    kind: ClassVar[str]
    ARRAYS: ClassVar[tuple[str, ...]] = ()         # parameter arrays, by name
    COMPLEX: ClassVar[tuple[str, ...]] = ()        # those that are complex (stored with a trailing re/im axis)
    SETTINGS: ClassVar[dict[str, Setting]] = {}    # scalar settings
    OPTIONAL: ClassVar[tuple[str, ...]] = ()       # settings that may be absent (None)
    # What the part asks of hardware, as facts energy/ reads instead of kind names: "state" (complex or
    # real), "message" (binary, ternary or graded), "norm" (affine or normalise), and the lists
    # "elementwise" (nonlinear and product operations by name) and "reductions" (across channels).
    NEEDS: ClassVar[dict] = {}

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.ARRAYS}

    def settings(self) -> dict:
        return {name: getattr(self, name) for name in self.SETTINGS if getattr(self, name) is not None}

    @classmethod
    def shapes(cls, H: int, declared: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        """The shape each array must have in a network of H channels. `declared` holds the shapes found
        (in a file or in memory), from which a part reads its own free sizes (modes, groups, ...)."""
        return {name: (H,) for name in cls.ARRAYS}

    def check(self, H: int, where: str) -> None:
        """Settings in range and arrays of the right shape (finiteness is checked network-wide)."""
        for name, (_, problem) in self.SETTINGS.items():
            value = getattr(self, name)
            if value is None and name in self.OPTIONAL:
                continue
            why = problem(value)
            if why:
                raise CheckpointError(f"{where}: {name}: {why}")
        arrays = self.arrays()
        declared = {n: getattr(a, "shape", ()) for n, a in arrays.items()}
        for name, shape in self.shapes(H, declared).items():
            a = arrays[name]
            if not isinstance(a, np.ndarray) or a.shape != shape:
                raise CheckpointError(f"{where}/{name}: expected shape {shape}, found "
                                      f"{getattr(a, 'shape', type(a).__name__)}")

    def needs(self) -> dict:
        return dict(self.NEEDS)
