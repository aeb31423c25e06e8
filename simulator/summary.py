"""Readable summaries of networks for the console."""
from __future__ import annotations

import re

from models.spec import Network

# C0 and C1 control characters and DEL: ESC starts ANSI sequences that would drive the user's terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value) -> str:
    """str(value) with every control character shown as an escape (\\x1b), never sent raw."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value))


def _parts(block) -> str:
    """A block's parts in data-flow order, e.g. 'batch norm, s4d -> heaviside -> glu, residual'."""
    chain = " -> ".join(p.kind for role, p in block.parts().items() if role != "norm")
    norm = f"{block.norm.kind} norm, " if block.norm is not None else ""
    return norm + chain + (", residual" if block.residual else ", no residual")


def describe(net: Network, source: str = "") -> str:
    rows = [
        ("layer kind", net.kind),
        ("layers", net.n_layers),
        ("H (channels)", net.H),
        ("N (state dims)", net.N),
        ("parts", "; ".join(dict.fromkeys(_parts(b) for b in net.blocks))),
        ("n_ssm", net.n_ssm),
        ("directions", "bidirectional" if net.directions == 2 else "unidirectional"),
        ("discretisation", net.disc),
        ("norm", f"{net.norm_kind}, {'prenorm (+ final norm)' if net.prenorm else 'postnorm'}"),
        ("encoder", f"{net.encoder.kind}, d_input={net.d_input}" if net.encoder.kind == "linear"
         else f"embedding, vocabulary={net.d_input}"),
        ("decoder", f"{net.decoder.mode}, classes={net.classes}"),
        ("parameters", f"{net.parameter_count:,}"),
    ]
    meta = net.metadata if isinstance(net.metadata, dict) else {}  # a file may record `null`: nothing to show
    for key in ("scenario", "test_accuracy", "source_file"):
        if key in meta:
            rows.append((key.replace("_", " "), meta[key]))
    width = max(len(k) for k, _ in rows)
    head = f"{printable(source)}\n" if source else ""
    return head + "\n".join(f"  {k:<{width}}  {printable(v)}" for k, v in rows)
