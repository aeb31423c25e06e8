"""The fused execution path: one compiled kernel per network composition (simulator/fused/driver.py), made of
the parts' per-block kernels (blocks.py) as each part's piece (pieces.py) says. Networks with a part that
has no piece run on the walker; both give the same bits."""
from simulator.fused.driver import FusedDriver, driver_for, feed

__all__ = ["FusedDriver", "driver_for", "feed"]
