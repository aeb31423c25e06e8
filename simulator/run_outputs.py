"""The final files of `run --out DIR`, in an order that a kill at any moment can resume from:

results.h5, spikes.h5 (streamed shard by shard from results.partial), counts.json, and summary.json last.
Each appears atomically; the shards are deleted only after summary.json exists, so until then a resumed run
merges again from verified shards instead of recomputing them.
"""
from __future__ import annotations

import h5py
import numpy as np

from simulator.output_files import atomic_path, write_json_atomic
from simulator.results_store import ShardError, ShardStore
from simulator.run_folder import RunFolder
from simulator.spike_file import SpikeFileWriter


def write_results_h5(path, result, labels) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f["logits"] = result.logits
        f["predictions"] = result.predictions
        f["complete"] = np.ones(result.samples, np.bool_)
        if labels is not None:
            f["labels"] = labels
        for layer, fields in result.counts.items():
            for k, v in fields.items():
                f[f"counts_per_sample/{layer}/{k}"] = v


def write_spikes_from_shards(path, store: ShardStore, result, shard_size: int) -> None:
    """Append each shard's events in sample order; one shard in memory at a time."""
    n = result.samples
    expected = {s: min(shard_size, n - s) for s in range(0, n, shard_size)}
    shards = store.trusted(expected)
    missing = sorted(set(expected) - set(shards))
    if missing:
        raise ShardError(f"{store.dir}: shards starting at {missing[:5]} vanished or changed during the run; "
                         "run again with --resume to recompute them")
    with atomic_path(path) as tmp:
        n_layers = sum(1 for k in result.counts if k.startswith("layer"))
        writer = SpikeFileWriter(tmp, n, result.timesteps, result.channels, n_layers)
        try:
            for start in sorted(shards):
                writer.append(ShardStore.read(shards[start], expected[start], spikes=True).spikes)
            writer.close()
        except BaseException:
            writer.abort()
            raise


def write_run_outputs(folder: RunFolder, store: ShardStore, result, labels, summary: dict, counts: dict,
                      spikes: bool, shard_size: int) -> list[str]:
    out = folder.path
    write_results_h5(out / "results.h5", result, labels)
    written = ["results.h5"]
    if spikes:
        write_spikes_from_shards(out / "spikes.h5", store, result, shard_size)
        written.append("spikes.h5")
    write_json_atomic(out / "counts.json", counts)
    write_json_atomic(out / "summary.json", summary)  # last: its presence means the run finished
    folder.drop_partial()
    return ["summary.json", "counts.json", *written]
