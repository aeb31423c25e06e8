"""The validation workloads, built in our tool from the public descriptions of measured networks.

Each is a network of the described sizes with random weights (seeded), run by our event engine on random
input of the described shape; what the measurement depends on that a description does not fix (weights,
input statistics, hence activity) is a stated assumption here, and the counts say what activity resulted.
energy.validation prices the counts; this module only composes models and simulator (energy never
imports them).
"""
from __future__ import annotations

import numpy as np

from models.parts import GLU, S5, Linear, ReLUSigmaDelta, S4DReal
from models.spec import Block, Decoder, Encoder, Network, validate
from simulator.counting import counts_report
from simulator.engine import run


def _s4d_real(rng, H, N):
    return S4DReal(log_dt=np.log(rng.uniform(1e-3, 1e-1, H)), inv_A_real=np.log(rng.uniform(0.1, 1.0, (H, N))),
                   B=rng.normal(size=(H, N)), C=rng.normal(size=(1, H, N)) / N, D=rng.normal(size=H))


def _s5(rng, H, P, sparsity):
    B = (rng.normal(size=(P, H)) + 1j * rng.normal(size=(P, H))) / np.sqrt(H)
    C = (rng.normal(size=(H, P)) + 1j * rng.normal(size=(H, P))) / np.sqrt(P)
    B[rng.random((P, H)) < sparsity] = 0.0
    C[rng.random((H, P)) < sparsity] = 0.0
    return S5(log_dt=np.log(rng.uniform(1e-3, 1e-1, P)), inv_A_real=np.log(rng.uniform(0.1, 1.0, P)),
              A_imag=3.0 * rng.normal(size=P), B=B, C=C, D=rng.normal(size=H))


def _linear(rng, H, sparsity=0.0, relu=True):
    w = rng.normal(size=(H, H)) / np.sqrt(H)
    w[rng.random((H, H)) < sparsity] = 0.0
    return Linear(weight=w, bias=0.1 * rng.normal(size=H), relu=relu)


def _glu_half(rng, H, sparsity=0.0):
    """S5's "half1" gate, out = x * sigmoid(W x + b), as our GLU (z = [I; W] x + [0; b]): the identity half
    is the pass-through of x to the gate (one synaptic event per changed input); pruning reaches W only."""
    w = rng.normal(size=(H, H)) / np.sqrt(H)
    w[rng.random((H, H)) < sparsity] = 0.0
    return GLU(weight=np.vstack([np.eye(H), w]), bias=np.concatenate([np.zeros(H), 0.1 * rng.normal(size=H)]))


def build(spec: dict, seed: int = 0) -> Network:
    """A network of the sizes in ``spec`` (energy.validation.WORKLOADS)."""
    rng = np.random.default_rng(seed)
    H, d_in = spec["H"], spec["d_input"]
    blocks = []
    for _ in range(spec["n_layers"]):
        ssm = (_s5(rng, H, spec["P"], spec.get("sparsity", 0.0)) if spec["ssm"] == "s5"
               else _s4d_real(rng, H, spec["N"]))
        mixing = (_glu_half(rng, H, spec.get("sparsity", 0.0)) if spec.get("mixing") == "glu_half"
                  else _linear(rng, H, spec.get("sparsity", 0.0)))
        blocks.append(Block(ssm=ssm, activation=ReLUSigmaDelta(spec.get("delta_threshold", 0.0)),
                            mixing=mixing, norm=None, residual=spec.get("residual", False)))
    enc_w = rng.normal(size=(H, d_in)) / np.sqrt(d_in)
    enc = Encoder("linear", enc_w, 0.1 * rng.normal(size=H))
    dec_w = rng.normal(size=(spec["classes"], H)) / np.sqrt(H)
    if spec.get("sparsity", 0.0):   # pruning reaches every weight matrix, the encoder's and decoder's too
        enc_w[rng.random(enc_w.shape) < spec["sparsity"]] = 0.0
        dec_w[rng.random(dec_w.shape) < spec["sparsity"]] = 0.0
    dec = Decoder("last", dec_w, np.zeros(spec["classes"]))
    return validate(Network(disc="zoh", prenorm=False, encoder=enc, blocks=tuple(blocks), final_norm=None,
                            decoder=dec))


def workload_counts(spec: dict, steps: int, samples: int = 1, seed: int = 0) -> dict:
    """Counts of the workload on ``samples`` random inputs of ``steps`` tokens (uniform [0, 1) values,
    as normalised pixels or spectrogram magnitudes)."""
    net = build(spec, seed)
    x = np.random.default_rng(seed + 1).uniform(0.0, 1.0, size=(samples, steps, spec["d_input"]))
    return counts_report(net, run(net, x, engine="event"))


def all_counts(workloads: dict, reduced: bool = False) -> dict:
    """Counts of every workload; ``reduced``: a few steps and one sample (for tests)."""
    return {name: workload_counts(spec, 16 if reduced else spec["steps"]) for name, spec in workloads.items()}
