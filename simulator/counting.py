"""Operation counts per layer and per sample (definitions: docs/operation-counts.md).

Counts describe the network's activity, not the engine: both engines call this same code on the same
activity, so they report identical numbers. The dense engine does more work than the counts say; the
counts are what an event-driven chip would do.
"""
from __future__ import annotations

import numpy as np

FIELDS = ("mode_updates", "dense_mode_updates", "channel_updates", "spikes", "spike_acs", "messages",
          "graded_macs", "graded_acs", "sigmoid", "gelu", "multiply", "norm_elements", "norm_reductions",
          "max_reductions", "residual_adds", "dense_macs")


def _changed(a: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """Mask of values that differ from the previous step's (sigma-delta with zero threshold)."""
    before = np.concatenate([prev[:, None], a[:, :-1]], axis=1)
    return a != before


class Counter:
    def __init__(self, cn, batch: int):
        self.cn, self.batch = cn, batch
        names = ["encoder"] + [f"layer{i}" for i in range(len(cn.layers))] + ["decoder"]
        self.counts = {n: {f: np.zeros(batch, np.int64) for f in FIELDS} for n in names}

    def _add(self, name: str, field: str, value) -> None:
        self.counts[name][field] += np.asarray(value, dtype=np.int64)

    def encoder_linear(self, x: np.ndarray, x_prev: np.ndarray) -> None:
        """Call before the encoder kernel updates x_prev. x: (B, Lc, d_input)."""
        changed = _changed(x, x_prev)
        self._add("encoder", "messages", changed.sum(axis=(1, 2)))
        self._add("encoder", "graded_macs", (changed * self.cn.enc_fan_out).sum(axis=(1, 2)))
        self._add("encoder", "dense_macs", x.shape[1] * self.cn.enc_rows.size)

    def encoder_tokens(self, tokens: np.ndarray, prev: np.ndarray) -> None:
        """An embedding sends a token only when it changes; a lookup, no arithmetic."""
        self._add("encoder", "messages", _changed(tokens, prev).sum(axis=1))

    def layer(self, li: int, layer, Lc: int, fwd: np.ndarray, bwd: np.ndarray, spikes, act, act_prev) -> None:
        name, H = f"layer{li}", self.cn.H
        n2 = layer.a_re.shape[1]
        c = lambda f, v: self._add(name, f, v)  # noqa: E731
        slots = Lc * H
        c("mode_updates", fwd[:, 0] + bwd[:, 0])
        c("dense_mode_updates", slots * n2 * layer.directions)
        c("channel_updates", fwd[:, 1])
        # Input drive Bb*u of each mode is recomputed when the channel's input value changes.
        c("messages", fwd[:, 2])
        c("graded_macs", fwd[:, 2] * n2)
        c("residual_adds", slots)
        norm = layer.norm
        if norm is not None:
            c("norm_elements", slots)
            if norm.kind == "layer":
                c("norm_reductions", slots)
        out_width = layer.w_rows.shape[1]
        if layer.kind == "gsu":
            per_input = np.count_nonzero(spikes, axis=1)          # (B, H) spikes of each input
            c("spikes", per_input.sum(axis=1))
            c("spike_acs", per_input @ layer.fan_out)
            changed = _changed(act, act_prev)
            c("messages", changed.sum(axis=(1, 2)))
            c("graded_acs", (changed * layer.nz_count).sum(axis=(1, 2)))
            for f in ("gelu", "multiply", "norm_elements", "norm_reductions", "max_reductions"):
                c(f, slots)
            c("dense_macs", Lc * 2 * H * H)
        else:
            if layer.kind == "binary_s4d":
                per_input = np.count_nonzero(spikes, axis=1)      # (B, H) spikes of each input
                c("spikes", per_input.sum(axis=1))
                c("spike_acs", per_input @ layer.fan_out)
            else:
                changed = _changed(act, act_prev)
                c("gelu", slots)
                c("messages", changed.sum(axis=(1, 2)))
                c("graded_macs", (changed * layer.fan_out).sum(axis=(1, 2)))
            c("sigmoid", slots)
            c("multiply", slots)
            c("dense_macs", Lc * out_width * H)

    def decoder(self, Lc: int) -> None:
        net, H = self.cn.net, self.cn.H
        if net.decoder.mode == "pool":
            self._add("decoder", "residual_adds", Lc * H)
        if net.final_norm is not None:
            self._add("decoder", "norm_elements", Lc * H)
            if net.final_norm.kind == "layer":
                self._add("decoder", "norm_reductions", Lc * H)

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


def counts_report(net, result) -> dict:
    """The counts document that energy/ reads (schema: docs/operation-counts.md)."""
    H, n2 = net.H, net.N // 2
    tot = totals(result.counts)
    mixing_width = H if net.kind == "gsu" else 2 * H
    layers = [{"name": "encoder", "kind": net.encoder.kind, "neurons": H, "modes": 0,
               "synapses": int(net.encoder.weight.size) if net.encoder.kind == "linear" else 0,
               "fan_out": H if net.encoder.kind == "linear" else 0, "counts": tot["encoder"]}]
    for i in range(net.n_layers):
        synapses = H * mixing_width + (H * H if net.kind == "gsu" else 0)
        layers.append({"name": f"layer{i}", "kind": net.kind, "neurons": H, "modes": H * n2,
                       "synapses": synapses, "fan_out": mixing_width, "counts": tot[f"layer{i}"]})
    layers.append({"name": "decoder", "kind": net.decoder.mode, "neurons": net.classes, "modes": 0,
                   "synapses": int(net.decoder.weight.size), "fan_out": net.classes, "counts": tot["decoder"]})
    return {
        "n_samples": result.samples, "timesteps": result.timesteps,
        "network": {"kind": net.kind, "n_layers": net.n_layers, "H": H, "N": net.N, "directions": net.directions,
                    "d_input": net.d_input, "classes": net.classes, "encoder": net.encoder.kind,
                    "norm": net.norm_kind, "prenorm": net.prenorm, "parameter_count": net.parameter_count,
                    "footprint_bytes": net.footprint_bytes},
        "layers": layers,
    }
