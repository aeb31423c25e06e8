"""Resumable results: every finished shard of samples is written atomically, so a killed run loses at most
the samples in flight and never leaves a damaged file.

Layout of an output directory while a run is under way:

    OUT/results.partial/manifest.json        what is being computed (checkpoint and input fingerprints, ...)
    OUT/results.partial/shard-00000032.h5    samples [32, 48): logits, per-sample counts, spike events

A shard file appears only complete (written to a temporary name, then renamed), so its existence marks its
samples complete. When every sample is done the shards merge into OUT/results.h5 (again atomically).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np

from models.errors import InputError
from simulator.recording import RunResult, SpikeEvents

PARTIAL = "results.partial"


def fingerprint(*arrays_or_files) -> str:
    h = hashlib.sha256()
    for a in arrays_or_files:
        if isinstance(a, (str, Path)) and Path(a).is_file():
            h.update(Path(a).read_bytes())
        else:
            a = np.ascontiguousarray(a)
            h.update(str((a.dtype, a.shape)).encode())
            h.update(a.tobytes())
    return h.hexdigest()[:16]


class ShardStore:
    def __init__(self, out_dir: str | Path, manifest: dict, resume: bool):
        self.out = Path(out_dir)
        self.dir = self.out / PARTIAL
        path = self.dir / "manifest.json"
        if self.dir.exists():
            if not resume:
                raise InputError(f"{self.dir}: an interrupted run is stored here; continue it with --resume, or "
                                 "delete that folder to start again")
            try:
                old = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                old = None
            if old != manifest:
                diff = sorted(k for k in manifest if old is None or old.get(k) != manifest[k])
                raise InputError(f"{self.dir}: the interrupted run computed something else (differs in: "
                                 f"{', '.join(diff)}); resume with the same checkpoint, input and options, or delete "
                                 "that folder")
        else:
            self.dir.mkdir(parents=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
            os.replace(tmp, path)
        for stale in self.dir.glob("*.tmp"):
            stale.unlink()  # a shard being written when the run died: its samples are recomputed

    def done_starts(self) -> dict[int, Path]:
        return {int(p.stem.split("-")[1]): p for p in self.dir.glob("shard-*.h5")}

    def write(self, start: int, result: RunResult) -> None:
        final = self.dir / f"shard-{start:08d}.h5"
        tmp = self.dir / f"shard-{start:08d}.h5.tmp"
        with h5py.File(tmp, "w") as f:
            f.attrs["start"] = start
            f.attrs["timesteps"] = result.timesteps
            f.attrs["channels"] = result.channels
            f.attrs["wall_time_s"] = result.wall_time_s
            f["logits"] = result.logits
            for layer, fields in result.counts.items():
                for k, v in fields.items():
                    f[f"counts/{layer}/{k}"] = v
            for i, ev in enumerate(result.spikes):
                for name in ("sample", "t", "neuron", "value"):
                    f[f"spikes/{i}/{name}"] = getattr(ev, name)
            f.attrs["n_layers"] = len(result.spikes)
        os.replace(tmp, final)

    @staticmethod
    def read(path: Path) -> RunResult:
        with h5py.File(path, "r") as f:
            counts = {layer: {k: f[f"counts/{layer}/{k}"][()] for k in f[f"counts/{layer}"]} for layer in f["counts"]}
            spikes = [SpikeEvents(*(f[f"spikes/{i}/{n}"][()] for n in ("sample", "t", "neuron", "value")))
                      for i in range(int(f.attrs["n_layers"]))]
            return RunResult(logits=f["logits"][()], spikes=spikes, counts=counts,
                             timesteps=int(f.attrs["timesteps"]), channels=int(f.attrs["channels"]),
                             wall_time_s=float(f.attrs["wall_time_s"]))

    def finish(self, merged: RunResult, labels) -> Path:
        """Write OUT/results.h5 atomically and drop the shards."""
        final = self.out / "results.h5"
        tmp = self.out / "results.h5.tmp"
        with h5py.File(tmp, "w") as f:
            f["logits"] = merged.logits
            f["predictions"] = merged.predictions
            f["complete"] = np.ones(merged.samples, np.bool_)
            if labels is not None:
                f["labels"] = labels
            for layer, fields in merged.counts.items():
                for k, v in fields.items():
                    f[f"counts_per_sample/{layer}/{k}"] = v
        os.replace(tmp, final)
        shutil.rmtree(self.dir)
        return final
