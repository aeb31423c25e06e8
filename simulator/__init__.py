"""How a network RUNS: Numba kernels, time-stepped and event-driven engines, recording, counting, CLI."""
