"""Resumable results: every finished shard of samples is written atomically under a name that holds the
sha256 of its content, so a killed run loses at most the samples in flight, and a shard that was damaged,
truncated or altered afterwards is noticed, reported and recomputed, never trusted.

Layout of an output directory while a run is under way:

    OUT/results.partial/manifest.json                   what is being computed (simulator.run_manifest)
    OUT/results.partial/shard-00000032-<sha256>.h5      samples [32, 48): logits, per-sample counts, spikes

A manifest that differs from the run asked for refuses --resume: a stored run is never mixed with another.
The shards are merged into the final files by simulator.run_outputs.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import h5py
import numpy as np

from models.errors import InputError, SimulatorError
from simulator.fingerprint import file_sha256
from simulator.output_files import atomic_path, h5_image, remove_stale_tmp, write_bytes_atomic
from simulator.recording import RunResult, SpikeEvents, SpikeMasks
from simulator.run_folder import PARTIAL
from simulator.spike_merge import SpikeMerger

SHARD_NAME = re.compile(r"^(shard|spikes)-(\d{8})-([0-9a-f]{64})\.h5$")
SPIKE_FIELDS = ("sample", "t", "neuron", "value")


class ShardError(SimulatorError):
    """A shard file that cannot be trusted (the message says why); its samples are recomputed."""


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


class ShardStore:
    def __init__(self, out_dir: str | Path, manifest: dict, resume: bool, spikes: bool = True):
        self.out = Path(out_dir)
        self.dir = self.out / PARTIAL
        path = self.dir / "manifest.json"
        if self.dir.exists():
            if not resume:
                raise InputError(f"{self.dir}: an interrupted run is stored here; continue it with --resume, or "
                                 "pass --force to start again")
            self._check_manifest(path, manifest)
            remove_stale_tmp(self.dir)  # a shard being written when the run died: its samples are recomputed
        else:
            self.dir.mkdir(parents=True)
            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        self.manifest = manifest
        self.merger = SpikeMerger(self.dir) if spikes else None
        self._expected: dict[int, int] | None = None

    def _check_manifest(self, path: Path, manifest: dict) -> None:
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"--resume {self.out}: {path.name} of the stored run is unreadable ({e}); pass --force "
                             "to start again") from None
        if old == manifest:
            return
        diff = sorted(k for k in set(manifest) | set(old or {}) if not isinstance(old, dict) or
                      old.get(k) != manifest.get(k))
        raise InputError(f"--resume {self.out}: the stored run computed something else (differs in: "
                         f"{', '.join(diff)}); resume with the same checkpoint, input, labels and options, or pass "
                         "--force to start again")

    # ---- discovery ----------------------------------------------------------------------------------
    def done_starts(self) -> dict[int, Path]:
        """Shard files present, by first sample (not yet verified: see trusted())."""
        out = {}
        for p in self.dir.glob("shard-*.h5"):
            m = SHARD_NAME.match(p.name)
            out[int(m.group(2)) if m else -1] = p
        return out

    def _files(self, kind: str) -> list[Path]:
        return sorted(self.dir.glob(f"{kind}-*.h5"))

    def trusted(self, expected: dict[int, int]) -> dict[int, Path]:
        """Shards whose checksum and contents hold up, for {start: samples} of this run, with their spikes safe
        in the merged file or in a verified spike file. Any other file is reported on stderr and deleted, so its
        samples are computed again."""
        self._expected = expected
        good = self._verified("shard", expected)
        if self.merger is None:
            return good
        merged = self.merger.recover(final=self.out / "spikes.h5")
        spike_files = self._verified("spikes", expected)
        for start, p in spike_files.items():
            if start in merged:
                p.unlink(missing_ok=True)  # merged, then the run died before deleting it
        for start in sorted(set(good) - set(merged)):
            if start not in spike_files:
                _warn(f"{good[start]}: its spike file is missing; its samples will be computed again")
                good.pop(start).unlink(missing_ok=True)
        self._merge_ready()
        return good

    def _verified(self, kind: str, expected: dict[int, int]) -> dict[int, Path]:
        good: dict[int, Path] = {}
        for p in self._files(kind):
            m = SHARD_NAME.match(p.name)
            try:
                if m is None or m.group(1) != kind:
                    raise ShardError("its name carries no checksum")
                start = int(m.group(2))
                if start not in expected:
                    raise ShardError("it does not start a shard of this run")
                if start in good:
                    raise ShardError("a second file for the same samples")
                self.read(p, expected[start], spikes=kind == "spikes")
                good[start] = p
            except ShardError as e:
                _warn(f"{p}: not trusted ({e}); its samples will be computed again")
                p.unlink(missing_ok=True)
        return good

    # ---- one shard ------------------------------------------------------------------------------------
    def write(self, start: int, result: RunResult, spikes: bool = True) -> Path:
        """Spikes first (merged at once when the shard is next in line, else kept in a spike file until it is),
        then the shard file that marks the samples done; then merge what is next in line."""
        if spikes and self.merger is not None:
            if start < self.merger.next_start:
                # Its spikes were merged before its shard file was lost; the recomputation must match them.
                self.merger.check_again(start, result.spikes)
            elif start == self.merger.next_start:
                # No spike file: compressing it, reading it back and compressing again took 3/4 of a 1,000-digit
                # run. A kill before the shard file below leaves merged spikes that the recomputation must match.
                self.merger.append(start, result.spikes, result.samples, self._shape(result),
                                   size_hint=_packed_bytes(result.spikes))
            else:
                self._write("spikes", start, result, spikes=True)
        final = self._write("shard", start, result, spikes=False)
        if self.merger is not None:
            self._merge_ready()
        return final

    def _merge_ready(self) -> None:
        while True:
            start = self.merger.next_start
            files = sorted(self.dir.glob(f"spikes-{start:08d}-*.h5"))
            if not files:
                return
            res = self.read(files[0], spikes=True)
            self.merger.append(start, res.spikes, res.samples, self._shape(res), size_hint=files[0].stat().st_size)
            files[0].unlink()

    def _shape(self, res: RunResult) -> dict:
        return {"samples": sum(self._expected.values()) if self._expected else None,
                "timesteps": res.timesteps, "channels": res.channels, "n_layers": len(res.spikes)}

    def _write(self, kind: str, start: int, result: RunResult, spikes: bool) -> Path:
        """Build the file in memory, then write it under a name holding the sha256 of its bytes, atomically."""
        def fill(f):
            f.attrs["start"] = start
            f.attrs["samples"] = result.samples
            f.attrs["timesteps"] = result.timesteps
            f.attrs["channels"] = result.channels
            f.attrs["wall_time_s"] = result.wall_time_s
            f.attrs["n_layers"] = len(result.spikes)
            f.attrs["has_spikes"] = bool(spikes)
            f["logits"] = result.logits
            # One array for all counts: a dataset per count would cost ~1 kB of HDF5 metadata each.
            groups = list(result.counts)
            fields = list(result.counts[groups[0]])
            f["counts"] = np.array([[result.counts[g][k] for k in fields] for g in groups], np.int64)
            f["counts"].attrs["groups"] = groups
            f["counts"].attrs["fields"] = fields
            for i, ev in enumerate(result.spikes if spikes else ()):
                for name in SPIKE_FIELDS:
                    a = getattr(ev, name)
                    f.create_dataset(f"spikes/{i}/{name}", data=a, **_compressed(a))

        data = h5_image(fill)
        final = self.dir / f"{kind}-{start:08d}-{hashlib.sha256(data).hexdigest()}.h5"
        write_bytes_atomic(final, data)
        return final

    def close(self) -> None:
        if self.merger is not None:
            self.merger.close()

    def finish_spikes(self, final: Path, result: RunResult) -> None:
        """spikes.h5 is the merged file, moved into place; per-sample spike counts come from the counts (the
        counts count every event)."""
        if self.merger.next_start != result.samples:
            raise ShardError(f"{self.dir}: spikes merged up to sample {self.merger.next_start} of "
                             f"{result.samples}; run again with --resume to complete them")
        layers = [k for k in result.counts if k.startswith("layer")]
        self.merger.finish(final, [result.counts[k]["spikes"] for k in layers])

    @staticmethod
    def _verify(path: Path) -> None:
        m = SHARD_NAME.match(Path(path).name)
        if m is None:
            raise ShardError("its name carries no checksum")
        try:
            actual = file_sha256(path)
        except OSError as e:
            raise ShardError(f"unreadable: {e}") from None
        if actual != m.group(3):
            raise ShardError("its content does not match the checksum in its name (damaged, truncated or altered)")

    @classmethod
    def read(cls, path: Path, samples: int | None = None, spikes: bool = False) -> RunResult:
        """A verified shard: logits and counts (and its spike events if asked). Raises ShardError."""
        path = Path(path)
        cls._verify(path)
        try:
            with h5py.File(path, "r") as f:
                start = int(f.attrs["start"])
                if not path.name.split("-")[1] == f"{start:08d}":
                    raise ShardError(f"it holds samples from {start}, not those its name says")
                n = int(f.attrs["samples"])
                if samples is not None and n != samples:
                    raise ShardError(f"expected {samples} samples, found {n}")
                logits = f["logits"][()]
                if logits.ndim != 2 or logits.shape[0] != n:
                    raise ShardError(f"logits: expected {n} rows, found shape {logits.shape}")
                c = f["counts"]
                table = c[()]
                groups, fields = [str(g) for g in c.attrs["groups"]], [str(k) for k in c.attrs["fields"]]
                if table.shape != (len(groups), len(fields), n):
                    raise ShardError(f"counts: expected shape {(len(groups), len(fields), n)}, found {table.shape}")
                counts = {g: {k: table[i, j].copy() for j, k in enumerate(fields)} for i, g in enumerate(groups)}
                events = None
                if spikes:
                    if not f.attrs["has_spikes"]:
                        raise ShardError("it was written without spikes")
                    events = [SpikeEvents(*(f[f"spikes/{i}/{name}"][()] for name in SPIKE_FIELDS))
                              if f"spikes/{i}" in f else SpikeEvents.empty() for i in range(int(f.attrs["n_layers"]))]
                return RunResult(logits=logits, spikes=events, counts=counts, timesteps=int(f.attrs["timesteps"]),
                                 channels=int(f.attrs["channels"]), wall_time_s=float(f.attrs["wall_time_s"]))
        except ShardError:
            raise
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise ShardError(f"unreadable: {e}") from None


def _compressed(a: np.ndarray) -> dict:
    """Spike events are long runs of near-equal integers: shuffle + gzip shrinks them ~20x, cheaply; one chunk
    per array (a shard is read whole) compresses best."""
    if not a.size:
        return {}
    return {"compression": "gzip", "compression_opts": 4, "shuffle": True, "chunks": (min(a.size, 1 << 20),)}


def _packed_bytes(events) -> int:
    """About the bytes a shard's events take compressed, for the free-space check (a full disk during the
    write is reported too): their bit masks' size, which near-random spikes cannot compress below."""
    return sum(ev.pos.nbytes + (0 if ev.neg is None else ev.neg.nbytes) if isinstance(ev, SpikeMasks)
               else len(ev) * 13 for ev in events)   # event lists: int32 sample, t, neuron and int8 value
