"""What a run records: sparse spike events per layer, optional traces, logits. Memory is O(events)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.kernels import events_from_masks


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
        """Events of consecutive, disjoint sample ranges, in order (bit masks stay bit masks)."""
        if not parts:
            return cls.empty()
        if all(isinstance(p, SpikeMasks) for p in parts) and len({p.pos.shape[1:] for p in parts}) == 1:
            return SpikeMasks.concat_samples(parts)
        return SpikeEvents(*(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("sample", "t", "neuron", "value")))

    def __len__(self) -> int:
        return int(self.sample.size)

    def to_dense(self, samples: int, L: int, H: int) -> np.ndarray:
        out = np.zeros((samples, L, H), np.int8)
        out[self.sample, self.t, self.neuron] = self.value
        return out

    def of_sample(self, i: int) -> "SpikeEvents":
        m = self.sample == i
        return SpikeEvents(self.sample[m], self.t[m], self.neuron[m], self.value[m])


class SpikeMasks(SpikeEvents):
    """Spike events kept as bit masks, 1 bit per (sample, step, neuron) slot and one mask per sign: 1/64 of
    the memory of event lists at 50 % firing. The event arrays (sample, t, neuron, value) are built when first
    read, so a run that only counts never builds them."""

    def __init__(self, pos: np.ndarray, neg: np.ndarray | None, H: int, sample_offset: int = 0):
        self.pos, self.neg, self.H, self.sample_offset = pos, neg, H, sample_offset   # (B, L, ceil(H / 8)) uint8
        self._events: SpikeEvents | None = None

    @classmethod
    def from_dense(cls, spikes: np.ndarray, sample_offset: int = 0) -> "SpikeMasks":
        """From a dense (samples, L, H) array of -1/0/1."""
        neg = np.packbits(spikes < 0, axis=2) if spikes.size and spikes.min() < 0 else None
        return cls(np.packbits(spikes > 0, axis=2), neg, spikes.shape[2], sample_offset)

    @classmethod
    def concat_samples(cls, parts: list["SpikeMasks"]) -> "SpikeMasks":
        cat = lambda ms: np.concatenate(ms, axis=0)  # noqa: E731
        negs = [p.neg if p.neg is not None else np.zeros_like(p.pos) for p in parts]
        neg = cat(negs) if any(p.neg is not None for p in parts) else None
        return cls(cat([p.pos for p in parts]), neg, parts[0].H, parts[0].sample_offset)

    @classmethod
    def concat_steps(cls, parts: list["SpikeMasks"]) -> "SpikeMasks":
        """Chunks of the same samples, in time order."""
        negs = [p.neg if p.neg is not None else np.zeros_like(p.pos) for p in parts]
        neg = np.concatenate(negs, axis=1) if any(p.neg is not None for p in parts) else None
        return cls(np.concatenate([p.pos for p in parts], axis=1), neg, parts[0].H, parts[0].sample_offset)

    def to_dense(self, samples: int | None = None, L: int | None = None, H: int | None = None) -> np.ndarray:
        out = np.unpackbits(self.pos, axis=2, count=self.H).astype(np.int8)
        if self.neg is not None:
            out -= np.unpackbits(self.neg, axis=2, count=self.H).astype(np.int8)
        if samples is None:
            return out
        full = np.zeros((samples, L, H), np.int8)
        n = out.shape[0]
        full[self.sample_offset:self.sample_offset + n, :out.shape[1], :out.shape[2]] = out
        return full

    def _built(self) -> SpikeEvents:
        if self._events is None:
            neg = self.neg if self.neg is not None else np.zeros((0, 0, 0), np.uint8)
            self._events = SpikeEvents(*events_from_masks(self.pos, neg, self.H, self.sample_offset))
        return self._events

    sample = property(lambda self: self._built().sample)
    t = property(lambda self: self._built().t)
    neuron = property(lambda self: self._built().neuron)
    value = property(lambda self: self._built().value)

    def __len__(self) -> int:
        n = int(np.unpackbits(self.pos).sum())
        return n + (0 if self.neg is None else int(np.unpackbits(self.neg).sum()))

    def of_sample(self, i: int) -> SpikeEvents:
        k = i - self.sample_offset
        if not 0 <= k < self.pos.shape[0]:
            return SpikeEvents.empty()
        one = SpikeMasks(self.pos[k:k + 1], None if self.neg is None else self.neg[k:k + 1], self.H, i)
        return one._built()


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
