"""What a run records: sparse spike events per layer, optional traces, logits. Memory is O(events)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SpikeEvents:
    """Spike events of one layer as parallel index arrays (sorted by sample, then t, then neuron)."""

    sample: np.ndarray  # int32
    t: np.ndarray       # int32
    neuron: np.ndarray  # int32
    value: np.ndarray   # int8: +1 (binary and positive ternary spikes) or -1 (negative ternary spikes)

    @classmethod
    def from_dense(cls, spikes: np.ndarray, sample_offset: int = 0) -> "SpikeEvents":
        """From a dense (samples, L, H) array of -1/0/1."""
        b, t, n = np.nonzero(spikes)
        return cls(sample=(b + sample_offset).astype(np.int32), t=t.astype(np.int32), neuron=n.astype(np.int32),
                   value=spikes[b, t, n].astype(np.int8))

    @classmethod
    def empty(cls) -> "SpikeEvents":
        z = np.zeros(0, np.int32)
        return cls(z, z.copy(), z.copy(), np.zeros(0, np.int8))

    @classmethod
    def concat(cls, parts: list["SpikeEvents"]) -> "SpikeEvents":
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("sample", "t", "neuron", "value")))

    def __len__(self) -> int:
        return int(self.sample.size)

    def to_dense(self, samples: int, L: int, H: int) -> np.ndarray:
        out = np.zeros((samples, L, H), np.int8)
        out[self.sample, self.t, self.neuron] = self.value
        return out

    def of_sample(self, i: int) -> "SpikeEvents":
        m = self.sample == i
        return SpikeEvents(self.sample[m], self.t[m], self.neuron[m], self.value[m])


@dataclass
class RunResult:
    logits: np.ndarray                       # (samples, classes) float64
    spikes: list[SpikeEvents] | None         # one per layer (empty for the S4D baseline); None: not kept
    counts: dict                             # operation counts, docs/operation-counts.md
    timesteps: int
    channels: int
    pre: list[np.ndarray] | None = None      # per layer (samples, L, H) pre-spike SSM output y, if asked
    traces: dict[int, np.ndarray] = field(default_factory=dict)  # layer -> (samples, L, len(trace_neurons))
    trace_neurons: np.ndarray | None = None
    wall_time_s: float = 0.0

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=-1)

    @property
    def samples(self) -> int:
        return int(self.logits.shape[0])

    def spike_totals(self) -> list[int]:
        """Spikes per layer, from the counts (which count every event), so runs that keep no events know them."""
        layers = [k for k in self.counts if k.startswith("layer")]
        return [int(self.counts[k]["spikes"].sum()) for k in layers]

    def firing_rates(self) -> list[float]:
        """Share of (sample, step, channel) slots holding a spike, per layer."""
        slots = self.samples * self.timesteps * self.channels
        return [n / slots if slots else 0.0 for n in self.spike_totals()]
