"""How a network RUNS: Numba kernels, time-stepped and event-driven engines, recording, counting, CLI."""

from simulator import jit_cache as _jit_cache

_jit_cache.configure()   # before any kernel module is imported: the cache is keyed by the kernels' source
