"""spikes.h5 written a part at a time (docs/outputs.md), so no run ever holds all its events in memory.

Each layer's (sample, t, neuron, value) arrays are resizable, chunked, shuffled and gzip-compressed datasets;
parts are appended in sample order.
"""
from __future__ import annotations

import h5py
import numpy as np

FIELDS = ("sample", "t", "neuron", "value")
DTYPES = {"sample": np.int32, "t": np.int32, "neuron": np.int32, "value": np.int8}
CHUNK = 1 << 16  # events per chunk: large enough to compress well, small enough to read one sample cheaply


class SpikeFileWriter:
    def __init__(self, path, samples: int, timesteps: int, channels: int, n_layers: int):
        self.f = h5py.File(path, "w")
        self.samples = samples
        f = self.f
        f.attrs["samples"] = samples
        f.attrs["timesteps"] = timesteps
        f.attrs["channels"] = channels
        f.attrs["layout"] = "one group per layer; event i is (sample[i], t[i], neuron[i]) with value[i] in {-1, +1}"
        # The networks are discrete-time: one input element per step, with no physical duration.
        f.attrs["time_unit"] = "step"
        f.attrs["time_unit_meaning"] = "t counts network time steps from 0; step t consumes input element t"
        self.per_sample = [np.zeros(samples, np.int64) for _ in range(n_layers)]
        for i in range(n_layers):
            g = f.create_group(f"layer{i}")
            for name in FIELDS:
                g.create_dataset(name, shape=(0,), maxshape=(None,), dtype=DTYPES[name], chunks=(CHUNK,),
                                 compression="gzip", compression_opts=4, shuffle=True)

    def append(self, events) -> None:
        """One part's events per layer (SpikeEvents, sample indices already global)."""
        for i, ev in enumerate(events):
            g = self.f[f"layer{i}"]
            n = len(ev)
            if n == 0:
                continue
            for name in FIELDS:
                d = g[name]
                d.resize((d.shape[0] + n,))
                d[-n:] = getattr(ev, name)
            self.per_sample[i] += np.bincount(ev.sample, minlength=self.samples)[: self.samples]

    def close(self) -> None:
        for i, counts in enumerate(self.per_sample):
            self.f[f"layer{i}/spikes_per_sample"] = counts
        self.f.close()

    def abort(self) -> None:
        try:
            self.f.close()
        except Exception:  # noqa: BLE001  (closing a file whose write failed: nothing more to save)
            pass
