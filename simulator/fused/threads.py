"""Samples of a batch in parallel through the fused kernel, on Python threads.

The kernel is compiled with nogil and loops over a range of samples. Numba's own parallel loop (prange) did the
same work, but compiling it took about 5 of the 11 s of a cold start (parfor lowering of the whole inlined
network). Jobs are short runs of samples handed out as threads free up, so a thread the OS deschedules on a
shared machine holds up one job, not half the batch.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba

JOBS_PER_THREAD = 4     # enough jobs to even out a slow thread; few enough that dispatch stays negligible
_POOLS: dict[int, ThreadPoolExecutor] = {}


def in_threads(kernel, B: int, args: tuple) -> None:
    """kernel(lo, hi, *args) over samples [0, B): in this thread, or in numba.get_num_threads() threads."""
    threads = min(numba.get_num_threads(), B)
    if threads <= 1:
        kernel(0, B, *args)
        return
    pool = _POOLS.get(threads)
    if pool is None:
        pool = _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="ssm-snn-fused")
    step = -(-B // (threads * JOBS_PER_THREAD))
    jobs = [pool.submit(kernel, lo, min(B, lo + step), *args) for lo in range(0, B, step)]
    for job in jobs:
        job.result()    # re-raises a job's error here
