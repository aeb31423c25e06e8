"""What a loadable checkpoint or input may declare: size caps and the allowed range of every scalar.

One table shared by the HDF5 reader, the paper-layout importer and spec.validate, so that each rule is
stated once (docs/checkpoint-format.md lists the same numbers).
"""
from __future__ import annotations

import math

# Total array elements a checkpoint may declare. The paper's largest LRA network (6 layers, H=512) has
# about 2e6 parameters; 2e8 leaves a factor 100 and still keeps float64 copies under 2 GB.
MAX_CHECKPOINT_ELEMENTS = 200_000_000
# Elements of one .npy input array (samples x L x d_input); 2e8 float64 values are 1.6 GB.
MAX_INPUT_ELEMENTS = 200_000_000
# |weight| cap. No trained SSM comes close (S4D-Inv's largest Im(A) at N = 1024 is about 3e5), while a
# few layers of weights near 1e300 overflow to Inf and then NaN in the forward pass.
MAX_ABS_WEIGHT = 1e6
# A safetensors JSON header larger than this is not a checkpoint of ours (the real ones are a few kB).
MAX_HEADER_BYTES = 16 * 2**20
# Objects (groups + datasets) an .h5 checkpoint may hold: 8 per layer, so this allows ~10^4 layers.
MAX_H5_OBJECTS = 100_000


def ratio_problem(value) -> str | None:
    """GSU spike_ratio / weight_ratio: a fraction of the largest |y| or |W| in [0, 1).

    0 is meaningful (threshold 0: sign spikes, sign weights); 1 or more would never fire (dead layer).
    """
    if not _is_real(value) or not (0.0 <= value < 1.0):
        return f"expected a finite number in [0, 1), found {value!r}"
    return None


def eps_problem(value) -> str | None:
    """Norm eps: added to a variance, so it must be > 0 (no division by zero) and finite; <= 1 to stay an eps."""
    if not _is_real(value) or not (0.0 < value <= 1.0):
        return f"expected a finite number in (0, 1], found {value!r}"
    return None


def batches_tracked_problem(value) -> str | None:
    """BatchNorm's num_batches_tracked counter: a non-negative integer (only kept for export)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"expected an integer >= 0, found {value!r}"
    return None


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
