"""Operation counts per layer and per sample (definitions: docs/operation-counts.md).

Counts describe the network's activity, not the engine: both engines call this same code on the same
activity, so they report identical numbers. The dense engine does more work than the counts say; the
counts are what an event-driven chip would do.
"""
from __future__ import annotations

import numpy as np

from simulator.parts import changed

FIELDS = ("mode_updates", "real_mode_updates", "dense_mode_updates", "channel_updates", "spikes", "spike_acs",
          "messages", "graded_macs", "graded_acs", "sigmoid", "gelu", "multiply", "norm_elements", "norm_reductions",
          "max_reductions", "residual_adds", "dense_macs", "saturations")
# Not an operation: values that did not fit their width in a fixed-point run (0 in float). Reported in the
# summary's precision section, left out of the counts document that energy/ reads.
NOT_OPERATIONS = ("saturations",)


class Counter:
    def __init__(self, cn, batch: int):
        self.cn, self.batch = cn, batch
        names = ["encoder"] + [f"layer{i}" for i in range(len(cn.layers))] + ["decoder"]
        self.counts = {n: {f: np.zeros(batch, np.int64) for f in FIELDS} for n in names}

    def _add(self, name: str, field: str, value) -> None:
        self.counts[name][field] += np.asarray(value, dtype=np.int64)

    def adder(self, name: str):
        """add(field, value): what a part runner reports its counts through."""
        return lambda field, value: self._add(name, field, value)

    def encoder_linear(self, x: np.ndarray, x_prev: np.ndarray) -> None:
        """Call before the encoder kernel updates x_prev. x: (B, Lc, d_input)."""
        moved = changed(x, x_prev)
        self._add("encoder", "messages", moved.sum(axis=(1, 2)))
        self._add("encoder", "graded_macs", (moved * self.cn.enc_fan_out).sum(axis=(1, 2)))
        self._add("encoder", "dense_macs", x.shape[1] * self.cn.enc_rows.size)

    def encoder_tokens(self, tokens: np.ndarray, prev: np.ndarray) -> None:
        """An embedding sends a token only when it changes; a lookup, no arithmetic."""
        self._add("encoder", "messages", changed(tokens, prev).sum(axis=1))

    def decoder(self, Lc: int) -> None:
        net, H = self.cn.net, self.cn.H
        if net.decoder.mode == "pool":
            self._add("decoder", "residual_adds", Lc * H)
        if self.cn.final_norm is not None:
            self.cn.final_norm.count(self.adder("decoder"), Lc * H)

    def per_sample(self) -> dict[str, dict[str, np.ndarray]]:
        """Counts so far, with the output Linear read once per sample (H messages x classes MACs)."""
        out = {n: {f: v.copy() for f, v in fields.items()} for n, fields in self.counts.items()}
        net = self.cn.net
        dec = out["decoder"]
        dec["messages"] += net.H
        dec["graded_macs"] += int(np.count_nonzero(net.decoder.weight))
        dec["dense_macs"] += net.decoder.weight.size
        return out


def totals(per_sample: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, int]]:
    """Per-layer totals over samples, as plain ints (JSON-ready)."""
    return {layer: {f: int(v.sum()) for f, v in fields.items()} for layer, fields in per_sample.items()}


def counts_report(net, result, compiled=None, precision=None) -> dict:
    """The counts document that energy/ reads (schema: docs/operation-counts.md): per layer the counted
    primitives, the sizes mapping needs, and the parts' hardware needs as facts (no layer-kind names).
    A fixed-point run (precision: its FixedPoint) adds the width of the messages its layers send
    (needs['message_bits'])."""
    from simulator.compiled import compile_network
    cn = compiled or compile_network(net)
    H = net.H
    tot = {layer: {f: v for f, v in fields.items() if f not in NOT_OPERATIONS}
           for layer, fields in totals(result.counts).items()}
    layers = [{"name": "encoder", "kind": net.encoder.kind, "neurons": H, "modes": 0,
               "synapses": int(net.encoder.weight.size) if net.encoder.kind == "linear" else 0,
               "fan_out": H if net.encoder.kind == "linear" else 0, "needs": {}, "counts": tot["encoder"]}]
    for i, (block, run) in enumerate(zip(net.blocks, cn.layers)):
        needs = {}
        for part in block.parts().values():
            for key, value in part.needs().items():
                needs[key] = sorted(set(needs.get(key, [])) | set(value)) if isinstance(value, list) else value
        if precision is not None:
            needs["message_bits"] = precision.precision.message_bits
        layers.append({"name": f"layer{i}", "kind": "ssm", "neurons": H, "modes": run.ssm.modes_per_layer(H),
                       "synapses": run.mixing.synapses, "fan_out": run.mixing.width, "needs": needs,
                       "counts": tot[f"layer{i}"]})
    layers.append({"name": "decoder", "kind": net.decoder.mode, "neurons": net.classes, "modes": 0,
                   "synapses": int(net.decoder.weight.size), "fan_out": net.classes, "needs": {},
                   "counts": tot["decoder"]})
    return {
        "n_samples": result.samples, "timesteps": result.timesteps,
        "network": {"kind": net.kind, "n_layers": net.n_layers, "H": H, "N": net.N, "directions": net.directions,
                    "d_input": net.d_input, "classes": net.classes, "encoder": net.encoder.kind,
                    "norm": net.norm_kind, "prenorm": net.prenorm, "parameter_count": net.parameter_count,
                    "footprint_bytes": net.footprint_bytes},
        "layers": layers,
    }
