"""NeuroBench 2.3's metrics from our counts, under NeuroBench's own result keys (docs/operation-counts.md).

NeuroBench reports each metric under its class name; SynapticOperations is a dict of three fields.
"""
from __future__ import annotations

import numpy as np


def neurobench_metrics(net, result, labels=None) -> dict:
    n = max(1, result.samples)
    tot = {f: sum(int(layer[f].sum()) for layer in result.counts.values())
           for f in next(iter(result.counts.values()))}
    spiking_slots = result.samples * result.timesteps * result.channels * sum(b.spiking for b in net.blocks)
    spikes = sum(result.spike_totals())
    matrices = [net.decoder.weight] + ([net.encoder.weight] if net.encoder.kind == "linear" else [])
    for b in net.blocks:
        matrices += b.mixing.synapse_matrices()
    weights = sum(m.size for m in matrices)
    zeros = sum(m.size - np.count_nonzero(m) for m in matrices)
    metrics = {
        "SynapticOperations": {"Effective_MACs": tot["graded_macs"] / n,
                               "Effective_ACs": (tot["spike_acs"] + tot["graded_acs"]) / n,
                               "Dense": tot["dense_macs"] / n},
        "ActivationSparsity": (1.0 - spikes / spiking_slots) if spiking_slots else 0.0,
        "MembraneUpdates": (tot["mode_updates"] + tot["real_mode_updates"] + tot["channel_updates"]) / n,
        "ParameterCount": net.parameter_count,
        "Footprint": net.footprint_bytes,
        "ConnectionSparsity": zeros / weights,
    }
    if labels is not None:
        metrics["ClassificationAccuracy"] = float(np.mean(result.predictions == np.asarray(labels)))
    return metrics
