"""Range checks of the newer parts' settings (None when in range, else why not), as models.limits's are."""
from __future__ import annotations

import math


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fraction_problem(value) -> str | None:
    """A decay factor in [0, 1] (1: no leak; 0: no memory)."""
    if not _real(value) or not (0.0 <= value <= 1.0):
        return f"expected a finite number in [0, 1], found {value!r}"
    return None


def positive_problem(value) -> str | None:
    if not _real(value) or not value > 0.0:
        return f"expected a finite number > 0, found {value!r}"
    return None


def non_negative_problem(value) -> str | None:
    if not _real(value) or not value >= 0.0:
        return f"expected a finite number >= 0, found {value!r}"
    return None


def bool_problem(value) -> str | None:
    if not isinstance(value, bool):
        return f"expected true or false, found {value!r}"
    return None


def choice_problem(allowed: tuple[str, ...]):
    def problem(value) -> str | None:
        if value not in allowed:
            return f"expected one of {', '.join(allowed)}, found {value!r}"
        return None
    return problem
