"""Named networks as part recipes: the paper's three layer families, the new part kinds' recipes, and the
name of a loaded network.

A preset is the (activation, mixing) pair every block of the paper's networks uses; the SSM is S4D and the
norm, placement and sizes come from the checkpoint. The importer and the command line's --kind speak in
these names; everything else reads the parts.

RECIPES are the networks trained with the new part kinds (scenarios/torch_model.py's NEW_ARCHS, imported
by models/own_layout.py): the SSM kind too, and the defaults of what a state_dict cannot tell (residual,
activation settings), which a model card's `config` may override.
"""
from __future__ import annotations

PRESETS = {
    "binary_s4d": ("heaviside", "glu"),   # Binary S4D: spikes 1[y > 0], then Linear H -> 2H and GLU
    "gsu": ("ternary", "gsu"),            # the Gated Spiking Unit
    "s4d": ("gelu", "glu"),               # the non-spiking S4D baseline (GELU)
}
NAMES = tuple(PRESETS)

RECIPES = {
    # SpikingSSMs-style: S4D -> LIF spikes (beta, threshold, reset) -> Linear H -> 2H and GLU; BatchNorm
    # postnorm and residual, as Binary S4D
    "lif_s4d": dict(ssm="s4d", activation="lif", mixing="glu", residual=True,
                    activation_settings=dict(beta=0.9, v_threshold=1.0, reset="soft")),
    # Meyer et al.'s Loihi 2 network: real S4D -> ReLU sent as sigma-delta messages (threshold 0 = exact
    # ReLU) -> ReLU(W a + b); no norm, no residual
    "sigma_delta_s4d": dict(ssm="s4d_real", activation="relu_sigma_delta", mixing="linear", residual=False,
                            activation_settings=dict(delta_threshold=0.0), mixing_settings=dict(relu=True)),
    # S5: one MIMO state of P complex modes per layer -> ReLU (sigma-delta, threshold 0) -> GLU; BatchNorm
    # postnorm and residual
    "s5": dict(ssm="s5", activation="relu_sigma_delta", mixing="glu", residual=True,
               activation_settings=dict(delta_threshold=0.0)),
}
ARCHS = NAMES + tuple(RECIPES)   # every layer kind a model card's `arch` may name


def name_of(blocks) -> str:
    """The preset or recipe every block follows, or the blocks' parts spelled out (e.g. 'heaviside+glu, gelu+glu')."""
    pairs = [(b.activation.kind, b.mixing.kind) for b in blocks]
    for name, pair in PRESETS.items():
        if pairs and all(p == pair for p in pairs) and all(b.ssm.kind == "s4d" for b in blocks):
            return name
    triples = [(b.ssm.kind, a, m) for b, (a, m) in zip(blocks, pairs)]
    for name, r in RECIPES.items():
        if triples and all(t == (r["ssm"], r["activation"], r["mixing"]) for t in triples):
            return name
    return ", ".join(dict.fromkeys(f"{s}+{a}+{m}" for s, a, m in triples))
