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

import json
import os
import re
import sys
from pathlib import Path

import h5py
import numpy as np

from models.errors import InputError, SimulatorError
from simulator.fingerprint import file_sha256
from simulator.output_files import TMP_SUFFIX, OutputError, atomic_path, remove_stale_tmp
from simulator.recording import RunResult, SpikeEvents
from simulator.run_folder import PARTIAL

SHARD_NAME = re.compile(r"^shard-(\d{8})-([0-9a-f]{64})\.h5$")
SPIKE_FIELDS = ("sample", "t", "neuron", "value")


class ShardError(SimulatorError):
    """A shard file that cannot be trusted (the message says why); its samples are recomputed."""


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


class ShardStore:
    def __init__(self, out_dir: str | Path, manifest: dict, resume: bool):
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
            out[int(m.group(1)) if m else -1] = p
        return out

    def trusted(self, expected: dict[int, int]) -> dict[int, Path]:
        """Shards whose checksum and contents hold up, for {start: samples} of this run. Any other shard file is
        reported on stderr and deleted, so its samples are computed again."""
        good: dict[int, Path] = {}
        for p in sorted(self.dir.glob("shard-*.h5")):
            m = SHARD_NAME.match(p.name)
            try:
                if m is None:
                    raise ShardError("its name carries no checksum")
                start = int(m.group(1))
                if start not in expected:
                    raise ShardError("it does not start a shard of this run")
                if start in good:
                    raise ShardError("a second file for the same samples")
                self.read(p, expected[start])
                good[start] = p
            except ShardError as e:
                _warn(f"{p}: not trusted ({e}); its samples will be computed again")
                p.unlink(missing_ok=True)
        return good

    # ---- one shard ------------------------------------------------------------------------------------
    def write(self, start: int, result: RunResult, spikes: bool = True) -> Path:
        """Write under a temporary name, then rename to a name holding the content's sha256."""
        tmp = self.dir / f"shard-{start:08d}.h5{TMP_SUFFIX}"
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["start"] = start
                f.attrs["samples"] = result.samples
                f.attrs["timesteps"] = result.timesteps
                f.attrs["channels"] = result.channels
                f.attrs["wall_time_s"] = result.wall_time_s
                f["logits"] = result.logits
                for layer, fields in result.counts.items():
                    for k, v in fields.items():
                        f[f"counts/{layer}/{k}"] = v
                f.attrs["n_layers"] = len(result.spikes)
                f.attrs["has_spikes"] = bool(spikes)
                for i, ev in enumerate(result.spikes if spikes else ()):
                    for name in SPIKE_FIELDS:
                        a = getattr(ev, name)
                        f.create_dataset(f"spikes/{i}/{name}", data=a, **_compressed(a))
            final = self.dir / f"shard-{start:08d}-{file_sha256(tmp)}.h5"
            os.replace(tmp, final)
        except BaseException as e:
            tmp.unlink(missing_ok=True)
            if isinstance(e, OSError):
                raise OutputError(f"{tmp.with_suffix('')}: cannot write ({getattr(e, 'strerror', None) or e})") \
                    from None
            raise
        return final

    @staticmethod
    def _verify(path: Path) -> None:
        m = SHARD_NAME.match(Path(path).name)
        if m is None:
            raise ShardError("its name carries no checksum")
        try:
            actual = file_sha256(path)
        except OSError as e:
            raise ShardError(f"unreadable: {e}") from None
        if actual != m.group(2):
            raise ShardError("its content does not match the checksum in its name (damaged, truncated or altered)")

    @classmethod
    def read(cls, path: Path, samples: int | None = None, spikes: bool = False) -> RunResult:
        """A verified shard: logits and counts (and its spike events if asked). Raises ShardError."""
        path = Path(path)
        cls._verify(path)
        try:
            with h5py.File(path, "r") as f:
                start = int(f.attrs["start"])
                if not path.name.startswith(f"shard-{start:08d}-"):
                    raise ShardError(f"it holds samples from {start}, not those its name says")
                n = int(f.attrs["samples"])
                if samples is not None and n != samples:
                    raise ShardError(f"expected {samples} samples, found {n}")
                logits = f["logits"][()]
                if logits.ndim != 2 or logits.shape[0] != n:
                    raise ShardError(f"logits: expected {n} rows, found shape {logits.shape}")
                counts = {layer: {k: f[f"counts/{layer}/{k}"][()] for k in f[f"counts/{layer}"]}
                          for layer in f["counts"]}
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
    """Spike events are long runs of near-equal integers: shuffle + gzip shrinks them ~20x, cheaply."""
    return {"compression": "gzip", "compression_opts": 4, "shuffle": True} if a.size else {}
