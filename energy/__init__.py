"""What a network COSTS: chip catalogue, mapping onto cores, energy model, reports.

Reads plain operation counts produced by the simulator engines (see energy.counts);
never runs kernels. Main entry points::

    from energy import estimate, write_reports, load_chip, list_chips
    write_reports(counts, ["loihi", "loihi2", "cpu"], "out/", title="sMNIST")
"""

from .catalogue import Chip, ChipFileError, Quantity, list_chips, load_chip
from .counts import COUNT_KEYS, CountsError, validate_counts
from .mapping import Mapping, MappingError, map_network
from .model import compare, estimate

__all__ = ["Chip", "ChipFileError", "Quantity", "list_chips", "load_chip", "COUNT_KEYS",
           "CountsError", "validate_counts", "Mapping", "MappingError", "map_network", "estimate", "compare",
           "write_reports"]


def write_reports(*args, **kwargs):
    """See energy.report.write_reports (imported lazily: matplotlib is only needed here)."""
    from .report import write_reports as _w
    return _w(*args, **kwargs)
