"""What a part contributes to the fused kernel (simulator/fused/pieces.py, fixed_pieces.py say which part gives
which): its line of generated code and how its arrays are bound."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


def _none(r, st, work, shape):
    return {}


@dataclass(frozen=True)
class Piece:
    call: str                                 # generated code (one or more lines)
    bind: Callable = _none                    # (runner, state, work (B, 3) int64, (B, H)) -> {name: value}
    sent: str = ""                            # activations: 'spikes' (int8) or 'graded' (run dtype)
    work: Callable = field(default=lambda w: w)   # SSMs: the kernel's (B, 3) counts as the runner's count() takes them
    needs_y: bool = False                     # mixing: its count() reads the SSM output
    defs: str = ""                            # module-level source the call needs (a kernel written for it)


