"""The fused driver: one compiled kernel per network composition runs whole samples through every layer.

Each thread takes a run of samples (simulator/fused/threads.py) and walks each through the encoder, every block's
parts and the decoder's running sum, TB steps at a time, so a block's rows stay in L1 between parts. The
kernel is generated from the parts' pieces (simulator/fused/pieces.py): its source depends only on the
composition (which part kinds, in which order, and the sizes of the kernels written for it:
simulator/fused/fixed_shapes.py), never on weights, and is written once to the cache folder of this version of
the kernels (simulator/jit_cache.py) so that Numba's on-disk cache serves later runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import jit_cache
from simulator.fixed_point import MODES, limits
from simulator.fused import pieces
from simulator.fused.threads import in_threads

TB = 32   # steps per time block (benchmarks/fused.py --tb measures the choice)


@dataclass(frozen=True)
class LayerPlan:
    before: pieces.Piece | None      # prenorm
    ssm: pieces.Piece
    activation: pieces.Piece
    mixing: pieces.Piece
    after: pieces.Piece              # residual and postnorm

    def roles(self):
        return (("pre", self.before), ("ssm", self.ssm), ("act", self.activation), ("mix", self.mixing),
                ("post", self.after))


@dataclass
class FusedDriver:
    layers: list[LayerPlan]
    final: pieces.Piece | None       # the prenorm networks' final norm
    kernel: object                   # the compiled drive function

    @property
    def spiking(self) -> list[bool]:
        return [p.activation.sent == "spikes" for p in self.layers]


def plan(cn) -> tuple[list[LayerPlan], pieces.Piece | None] | None:
    """The pieces of every layer (and the final norm), or None when some part has none: bidirectional
    SSMs, for one, need whole sequences and run on the walker."""
    prenorm = cn.net.prenorm
    out = []
    for layer in cn.layers:
        before = pieces.before_piece(layer.norm) if prenorm and layer.norm is not None else None
        ssm = pieces.ssm_piece(layer.ssm)
        act = pieces.activation_piece(layer.activation)
        mix = None if act is None else pieces.mixing_piece(layer.mixing, act.sent)
        after = pieces.after_piece(layer.norm, layer.residual, prenorm, layer.scales)
        if None in (ssm, act, mix, after) or (prenorm and layer.norm is not None and before is None):
            return None
        out.append(LayerPlan(before, ssm, act, mix, after))
    final = None
    if cn.final_norm is not None:
        final = pieces.before_piece(cn.final_norm)
        if final is None:
            return None
    return out, final


def source(layers: list[LayerPlan], final: pieces.Piece | None, tokens: bool, fixed: bool = False) -> str:
    """The drive() function's source for this composition (fixed: the linear encoder's sum is committed)."""
    args = ["x", "ev", "like", "acc", "last", "zwidth", "nmax"]
    args += ["emb"] if tokens else ["enc_rows", "enc_bias", "x_held", "u_held"]
    commit = fixed and not tokens
    if commit:
        args += ["enc_k", "enc_mode", "enc_lo", "enc_hi", "enc_sat", "enc_sats"]
    body = []
    for i, lp in enumerate(layers):
        u = "u" if lp.before is not None else "h"
        for role, piece in lp.roles():
            if piece is None:
                continue
            p = f"L{i}_{role}_"
            args += [p + name for name in _names(piece.call)]
            body += piece.call.format(p=p, u=u).splitlines()
            if role == "act":
                body.append(f"blocks.keep({'spk' if piece.sent == 'spikes' else 'snt'}, n, b, t0, K{i})")
            if role == "mix" and piece.needs_y:
                body.insert(len(body) - 1, f"blocks.keep(y, n, b, t0, Y{i})")
    out = "h"
    if final is not None:
        args += [f"F_{name}" for name in _names(final.call)]
        body += final.call.format(p="F_", u="u").splitlines()
        out = "u"
    args += [f"K{i}" for i in range(len(layers))] + [f"Y{i}" for i in range(len(layers))]
    enc = ("blocks.encode_tokens(x, b, t0, n, emb, h)" if tokens else
           "kernels.graded_block(x[b, t0:t0 + n], n, enc_rows, enc_bias, x_held[b], u_held[b], ev, h)\n"
           "if not ev:   # the dense engine keeps the last input as the held value too, as the walker's\n"
           "    for i in range(x.shape[2]):\n        x_held[b, i] = x[b, t0 + n - 1, i]")
    if commit:     # as FixedIO.commit_encoder
        enc += "\nfixed_point.commit_rows(h, n, enc_k, enc_mode, enc_lo, enc_hi, enc_sat, h, enc_sats, b)"
    lines = enc.splitlines() + body + [f"blocks.pool({out}, n, b, acc, last)"]
    inner = "\n".join("            " + line for line in lines)
    pieces_used = [p for lp in layers for _, p in lp.roles() if p is not None] + ([final] if final else [])
    defs = "".join(f"\n\n{d}" for d in dict.fromkeys(p.defs for p in pieces_used if p.defs))
    return f'''"""Generated by simulator/fused/driver.py for one network composition; do not edit."""
import numpy as np
from numba import njit

from simulator import fixed_point, kernels  # noqa: F401
from simulator.fused import blocks
from simulator.parts import fixed_activation, fixed_mixing, fixed_norm, fixed_ssm  # noqa: F401
from simulator.kernels import ternary_gate_dense_block, ternary_gate_event_block  # noqa: F401
from simulator.parts.activation import gelu_block, ternary_block  # noqa: F401
from simulator.parts.lif import lif_block  # noqa: F401
from simulator.parts.linear import relu_block  # noqa: F401
from simulator.parts.norm import affine_block, layer_norm_block  # noqa: F401
from simulator.parts.s4d_real import real_block  # noqa: F401
from simulator.parts.s5 import s5_block  # noqa: F401
from simulator.parts.sigma_delta import sigma_delta_block  # noqa: F401{defs}


@njit(cache=True, nogil=True)
def drive(lo, hi, {", ".join(args)}):
    L = x.shape[1]
    H = like.shape[0]
    for b in range(lo, hi):
        h = np.empty(({TB}, H), like.dtype)
        u = np.empty(({TB}, H), like.dtype)
        y = np.empty(({TB}, H), like.dtype)
        o = np.empty(({TB}, H), like.dtype)
        q = np.empty(({TB}, H), like.dtype)
        g = np.empty(({TB}, H), like.dtype)
        snt = np.empty(({TB}, H), like.dtype)
        spk3 = np.empty((1, {TB}, H), np.int8)
        spk = spk3[0]
        zb = np.empty(({TB}, zwidth), like.dtype)
        pscr = np.empty(nmax, like.dtype)
        for t0 in range(0, L, {TB}):
            n = min({TB}, L - t0)
{inner}
'''


def _names(call: str) -> list[str]:
    """The {p}-prefixed names a piece's call uses, in order of first use."""
    out = []
    for part in call.split("{p}")[1:]:
        name = ""
        for ch in part:
            if not (ch.isalnum() or ch == "_"):
                break
            name += ch
        if name not in out:
            out.append(name)
    return out


def load_kernel(src: str):
    """The drive function of generated source (simulator/jit_cache.py writes it once and imports it)."""
    return jit_cache.load_generated("fused", src).drive


def driver_for(cn) -> FusedDriver | None:
    planned = plan(cn)
    if planned is None:
        return None
    layers, final = planned
    src = source(layers, final, tokens=cn.enc_rows is None, fixed=cn.fixed is not None)
    return FusedDriver(layers, final, load_kernel(src))


def feed(fd: FusedDriver, cn, state, x: np.ndarray, event: bool):
    """Run one chunk x through the fused kernel. Returns per layer the sent values (B, Lc, H) (int8 spikes or
    graded values), the SSM's work as its count() takes it, the SSM outputs where a count needs them (else
    None), the last step's hidden values (B, H), and the fixed-point linear encoder's saturations (B,) (else
    None)."""
    B, Lc = x.shape[0], x.shape[1]
    H, f = cn.H, cn.dtype
    works = [np.zeros((B, 4), np.int64) for _ in cn.layers]   # the SSM's 3 counts; fixed point: saturations
    records = [np.empty((B, Lc, H), np.int8 if s else f) for s in fd.spiking]
    ys = [np.empty((B, Lc, H) if lp.mixing.needs_y else (1, 1, 1), f) for lp in fd.layers]
    args = []
    for li, (layer, lp) in enumerate(zip(cn.layers, fd.layers)):
        runners = dict(pre=layer.norm, ssm=layer.ssm, act=layer.activation, mix=layer.mixing, post=layer.norm)
        states = dict(ssm=state.ssm[li], act=state.activation[li], mix=state.mixing[li])
        for role, piece in lp.roles():
            if piece is not None:
                bound = piece.bind(runners[role], states.get(role), works[li], (B, H))
                args += [bound[name] for name in _names(piece.call)]
    if fd.final is not None:
        bound = fd.final.bind(cn.final_norm, None, None, (B, H))
        args += [bound[name] for name in _names(fd.final.call)]
    zwidth = max(getattr(layer.mixing, "width", H) for layer in cn.layers)
    nmax = max(getattr(layer.ssm, "modes", 1) for layer in cn.layers)
    last = np.zeros((B, H), np.float64)
    enc_sats = None
    if cn.enc_rows is None:
        enc = [np.ascontiguousarray(cn.embedding if cn.fixed is not None else cn.net.encoder.weight, dtype=f)]
    else:
        enc = [cn.enc_rows, cn.enc_bias, state.x_held, state.u_held]
        if cn.fixed is not None:
            io, p = cn.fixed, cn.fixed.fp.precision
            lo, hi = limits(p.message_bits)
            enc_sats = np.zeros(B, np.int64)
            enc += [io.f_x + io.f_w - io.f_u, MODES[p.rounding], lo, hi, p.saturate, enc_sats]
    in_threads(fd.kernel, B, (x, event, np.empty(H, f), state.pool, last, zwidth, nmax, *enc, *args, *records, *ys))
    work = [lp.ssm.work(w) for lp, w in zip(fd.layers, works)]
    return records, work, [y if lp.mixing.needs_y else None for lp, y in zip(fd.layers, ys)], last, enc_sats
