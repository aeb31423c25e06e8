"""The final files of `run --out DIR`, in an order that a kill at any moment can resume from:

results.h5, spikes.h5 (merged during the run by simulator.spike_merge, moved into place), counts.json, and
summary.json last. Each appears atomically; the shards are deleted only after summary.json exists, so until
then a resumed run finishes from verified shards instead of recomputing them.
"""
from __future__ import annotations

import numpy as np

from simulator.output_files import h5_image, write_bytes_atomic, write_json_atomic
from simulator.results_store import ShardStore
from simulator.run_folder import RunFolder


def write_results_h5(path, result, labels) -> None:
    write_bytes_atomic(path, h5_image(lambda f: _fill_results(f, result, labels)))


def _fill_results(f, result, labels) -> None:
    f["logits"] = result.logits
    f["predictions"] = result.predictions
    f["complete"] = np.ones(result.samples, np.bool_)
    if labels is not None:
        f["labels"] = labels
    for layer, fields in result.counts.items():
        for k, v in fields.items():
            f[f"counts_per_sample/{layer}/{k}"] = v


def write_run_outputs(folder: RunFolder, store: ShardStore, result, labels, summary: dict, counts: dict,
                      spikes: bool) -> list[str]:
    out = folder.path
    write_results_h5(out / "results.h5", result, labels)
    written = ["results.h5"]
    if spikes:
        store.finish_spikes(out / "spikes.h5", result)
        written.append("spikes.h5")
    write_json_atomic(out / "counts.json", counts)
    write_json_atomic(out / "summary.json", summary)  # last: its presence means the run finished
    folder.drop_partial()
    return ["summary.json", "counts.json", *written]
