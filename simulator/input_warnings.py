"""Inputs that run but deserve a word: values far outside any training range, labels no class can match."""
from __future__ import annotations

import sys

import numpy as np

BLOCK = 256  # samples checked at a time
LARGE = 1e6  # trained inputs are O(1); beyond this the state and logits can overflow to inf or NaN


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def warn_unusual(x, labels, net, input_name: str, labels_name: str) -> list[str]:
    said = []
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating) and x.size:
        big, largest = 0, 0.0
        for i in range(0, len(x), BLOCK):  # block by block: no temporary the size of the input
            a = np.abs(x[i:i + BLOCK])
            big += int(np.count_nonzero(a > LARGE))
            largest = max(largest, float(np.nanmax(a)) if a.size else 0.0)
        if big:
            said.append(f"{input_name}: {big} input values have magnitude above {LARGE:g} (largest "
                        f"{largest:.3g}); logits may overflow to inf/NaN (written as null)")
    if labels is not None and labels.size:
        bad = int(np.count_nonzero((labels < 0) | (labels >= net.classes)))
        if bad:
            said.append(f"{labels_name}: {bad} labels lie outside the classes 0..{net.classes - 1}; those samples "
                        "count as wrong")
    for msg in said:
        _warn(msg)
    return said
