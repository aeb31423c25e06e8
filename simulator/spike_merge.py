"""Spike events merged into the final spikes.h5 while the run goes on, so disk holds them about once.

Spike events barely compress below their entropy, so keeping every shard's events until a merge at the end
would need twice the final size on disk. Instead each shard's spike file is appended, in sample order, to
results.partial/spikes.merging.h5 as soon as it is next in line, and then deleted. A commit record
(spikes.merging.json, replaced atomically after every append) lists each merged shard with its event counts
and the sha256 of its events. On resume the merged file is checked against that record: datasets longer than
committed (an append cut off by a kill) are cut back; a file that cannot be read or does not match is
reported and dropped, and the shards it held are computed again. Nothing unverified is kept.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import h5py
import numpy as np

from models.errors import SimulatorError
from simulator.output_files import atomic_path, ensure_free_space, is_write_failure, write_failure
from simulator.spike_file import FIELDS, SpikeFileWriter

HEADROOM = 1 << 20  # bytes beyond the data: HDF5 metadata of an append
MERGING = "spikes.merging.h5"
RECORD = "spikes.merging.json"


def _events_sha(events) -> str:
    h = hashlib.sha256()
    for ev in events:
        for name in FIELDS:
            h.update(np.ascontiguousarray(getattr(ev, name)).tobytes())
    return h.hexdigest()


class SpikeMerger:
    def __init__(self, folder: Path):
        self.dir = Path(folder)
        self.path = self.dir / MERGING
        self.record_path = self.dir / RECORD
        self.merged: list[dict] = []   # [{"start", "samples", "lengths": [per layer], "sha256"}] in order
        self.shape: dict | None = None  # samples, timesteps, channels, n_layers of the whole run
        self._file: h5py.File | None = None

    # ---- recovery -----------------------------------------------------------------------------------
    def recover(self, final: Path | None = None) -> list[int]:
        """Check what a previous process merged; returns the starts of shards whose spikes are safe in it."""
        if not self.record_path.exists():
            self._drop("")
            return []
        try:
            rec = json.loads(self.record_path.read_text())
            self.merged, self.shape = list(rec["merged"]), dict(rec["shape"])
            path = self.path if self.path.exists() or final is None or not final.exists() else final
            self._verify(path, cut_back=path == self.path)
        except (OSError, ValueError, KeyError, TypeError) as e:
            starts = [m["start"] for m in self.merged] if isinstance(self.merged, list) else []
            print(f"warning: {self.path}: merged spikes not trusted ({' '.join(str(e).split())[:200]}); the "
                  f"{len(starts)} shards they hold will be computed again", file=sys.stderr, flush=True)
            self._drop("")
            return []
        return [m["start"] for m in self.merged]

    def _verify(self, path: Path, cut_back: bool) -> None:
        with h5py.File(path, "r+" if cut_back else "r") as f:
            for i in range(self.shape["n_layers"]):
                want = sum(m["lengths"][i] for m in self.merged)
                for name in FIELDS:
                    d = f[f"layer{i}/{name}"]
                    if d.shape[0] < want:
                        raise ValueError(f"layer{i}/{name} holds {d.shape[0]} events, {want} were committed")
                    if d.shape[0] > want and cut_back:
                        d.resize((want,))  # an append cut off by a kill: not committed, not kept
            offsets = [0] * self.shape["n_layers"]
            for m in self.merged:
                events = []
                for i, n in enumerate(m["lengths"]):
                    o = offsets[i]
                    events.append(_Slice({name: f[f"layer{i}/{name}"][o:o + n] for name in FIELDS}))
                    offsets[i] += n
                if _events_sha(events) != m["sha256"]:
                    raise ValueError(f"the events of the shard starting at {m['start']} do not match their sha256")

    def check_again(self, start: int, events) -> None:
        """A merged shard computed again (its logits/counts file was lost) must give the events merged."""
        sha = next(m["sha256"] for m in self.merged if m["start"] == start)
        if _events_sha(events) != sha:
            raise SimulatorError(f"{self.path}: shard {start} recomputed gives other spikes than those merged; "
                                 "pass --force to start the run again")

    def _drop(self, _why: str) -> None:
        self.close()
        self.merged, self.shape = [], None
        self.path.unlink(missing_ok=True)
        self.record_path.unlink(missing_ok=True)

    # ---- appending ----------------------------------------------------------------------------------
    @property
    def next_start(self) -> int:
        return self.merged[-1]["start"] + self.merged[-1]["samples"] if self.merged else 0

    def append(self, start: int, events, samples: int, shape: dict, size_hint: int = 0) -> None:
        """Append the next shard's events (start must be next_start), then commit. size_hint: the bytes the
        events take compressed (their spike file's size)."""
        ensure_free_space(self.path, 2 * size_hint + HEADROOM)
        if start != self.next_start:
            raise SimulatorError(f"{self.path}: spike merge out of order (expected shard {self.next_start}, got "
                                 f"{start}); pass --force to start the run again")
        try:
            self._append(start, events, samples, shape)
        except BaseException as e:
            self.close()  # an append cut off here is cut back on resume, as after a kill
            if is_write_failure(e):
                raise write_failure(self.path, e) from None
            raise

    def _append(self, start: int, events, samples: int, shape: dict) -> None:
        if self._file is None:
            if not self.merged:
                self.shape = dict(shape)
                SpikeFileWriter(self.path, shape["samples"], shape["timesteps"], shape["channels"],
                                shape["n_layers"]).f.close()
            self._file = h5py.File(self.path, "r+")
        lengths = []
        for i, ev in enumerate(events):
            n = len(ev)
            lengths.append(n)
            for name in FIELDS:
                d = self._file[f"layer{i}/{name}"]
                d.resize((d.shape[0] + n,))
                if n:
                    d[-n:] = getattr(ev, name)
        # Closed after every append: the file on disk is then complete (a flush leaves more to chance), and
        # HDF5's caches, which otherwise grow with every chunk written, are released.
        f, self._file = self._file, None
        f.close()
        self.merged.append({"start": start, "samples": samples, "lengths": lengths, "sha256": _events_sha(events)})
        with atomic_path(self.record_path) as tmp:
            tmp.write_text(json.dumps({"shape": self.shape, "merged": self.merged}))

    def finish(self, final: Path, spikes_per_sample: list[np.ndarray]) -> None:
        """Add per-sample spike counts and move the merged file into place (a rename: no copy)."""
        self.close()
        if not self.path.exists() and final.exists():
            return  # moved by a process killed just after: recover() verified it
        ensure_free_space(self.path, sum(c.nbytes for c in spikes_per_sample) * 2 + HEADROOM)
        with h5py.File(self.path, "r+") as f:
            for i, counts in enumerate(spikes_per_sample):
                if "spikes_per_sample" in f[f"layer{i}"]:
                    del f[f"layer{i}/spikes_per_sample"]
                f[f"layer{i}/spikes_per_sample"] = counts
        os.replace(self.path, final)

    def close(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            try:
                f.close()
            except (RuntimeError, OSError):
                pass  # closing after a failed write fails again: what was committed is on disk already


class _Slice:
    """Events read back from the merged file, shaped like SpikeEvents for hashing."""

    def __init__(self, arrays: dict):
        self.__dict__.update(arrays)
