"""Spikes kept as bit masks read back as the same events, in the same order, as event lists built directly."""
import numpy as np
import pytest

from simulator.recording import SpikeEvents, SpikeMasks


def random_spikes(rng, B=3, L=11, H=13, ternary=False):
    s = (rng.random((B, L, H)) < 0.3).astype(np.int8)
    if ternary:
        s[rng.random((B, L, H)) < 0.2] = -1
    return s


@pytest.mark.parametrize("ternary", [False, True])
@pytest.mark.parametrize("H", [13, 16])
def test_masks_read_as_event_lists(rng, ternary, H):
    s = random_spikes(rng, H=H, ternary=ternary)
    masks, events = SpikeMasks.from_dense(s, 5), SpikeEvents.from_dense(s, 5)
    for f in ("sample", "t", "neuron", "value"):
        a, b = getattr(masks, f), getattr(events, f)
        assert a.dtype == b.dtype and np.array_equal(a, b), f
    assert len(masks) == len(events) == np.count_nonzero(s)
    assert np.array_equal(masks.to_dense(9, 11, H), events.to_dense(9, 11, H))
    for i in (4, 5, 7, 8):
        a, b = masks.of_sample(i), events.of_sample(i)
        assert np.array_equal(a.t, b.t) and np.array_equal(a.neuron, b.neuron) and np.array_equal(a.value, b.value)


def test_silent_masks_read_as_no_events():
    masks = SpikeMasks.from_dense(np.zeros((2, 5, 9), np.int8), 3)
    assert len(masks) == 0 and masks.sample.size == masks.t.size == masks.neuron.size == masks.value.size == 0


def test_joining_chunks_and_sample_ranges(rng):
    s = random_spikes(rng, B=4, L=20, ternary=True)
    by_time = SpikeMasks.concat_steps([SpikeMasks.from_dense(s[:2, :7], 0), SpikeMasks.from_dense(s[:2, 7:], 0)])
    by_sample = SpikeEvents.concat([by_time, SpikeMasks.from_dense(s[2:], 2)])
    assert isinstance(by_sample, SpikeMasks)                      # nothing was expanded to event lists
    assert np.array_equal(by_sample.to_dense(), s)
    mixed = SpikeEvents.concat([SpikeMasks.from_dense(s[:2]), SpikeEvents.from_dense(s[2:], 2)])
    assert np.array_equal(mixed.to_dense(4, 20, 13), s)
