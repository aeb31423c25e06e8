"""Named networks as part recipes: the paper's three layer families, and the name of a loaded network.

A preset is the (activation, mixing) pair every block of the paper's networks uses; the SSM is S4D and the
norm, placement and sizes come from the checkpoint. The importer and the command line's --kind speak in
these names; everything else reads the parts.
"""
from __future__ import annotations

PRESETS = {
    "binary_s4d": ("heaviside", "glu"),   # Binary S4D: spikes 1[y > 0], then Linear H -> 2H and GLU
    "gsu": ("ternary", "gsu"),            # the Gated Spiking Unit
    "s4d": ("gelu", "glu"),               # the non-spiking S4D baseline (GELU)
}
NAMES = tuple(PRESETS)


def name_of(blocks) -> str:
    """The preset every block follows, or the blocks' parts spelled out (e.g. 'heaviside+glu, gelu+glu')."""
    pairs = [(b.activation.kind, b.mixing.kind) for b in blocks]
    for name, pair in PRESETS.items():
        if pairs and all(p == pair for p in pairs) and all(b.ssm.kind == "s4d" for b in blocks):
            return name
    return ", ".join(dict.fromkeys(f"{b.ssm.kind}+{a}+{m}" for b, (a, m) in zip(blocks, pairs)))
