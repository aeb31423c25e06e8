"""Evaluation of many samples: sharded, optionally on Dask, optionally resumable (results_store).

Samples are independent and every kernel treats each sample on its own, so a shard's numbers do not depend
on which other samples it ran with: a sharded or distributed run equals a single-process run exactly.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from models.errors import InputError
from models.spec import Network
from simulator.engine import merge, run
from simulator.recording import RunResult
from simulator.results_store import ShardStore


def _simulate_shard(net: Network, x: np.ndarray, start: int, engine: str, dtype: str, batch_size: int) -> RunResult:
    """The unit of work (also what Dask workers run)."""
    return run(net, x, engine=engine, dtype=dtype, batch_size=batch_size, sample_offset=start)


@contextmanager
def dask_client(cluster: str | None, scheduler: str | None):
    """`local:N` starts a LocalCluster of N single-threaded worker processes; a tcp:// address joins one."""
    from dask.distributed import Client, LocalCluster
    if scheduler:
        client = Client(scheduler, timeout="20s")
        try:
            yield client
        finally:
            client.close()
        return
    try:
        n = int(cluster.split(":", 1)[1]) if cluster and cluster.startswith("local:") else None
    except ValueError:
        n = None
    if not n or n < 1:
        raise InputError(f"--cluster: expected local:N with N >= 1 workers, found {cluster!r}")
    # One numba thread per worker process: the workers are the parallelism.
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}) as lc, Client(lc) as client:
        yield client


def evaluate(net: Network, x: np.ndarray, *, engine: str = "event", dtype: str = "float64", shard_size: int = 16,
             store: ShardStore | None = None, cluster: str | None = None, scheduler: str | None = None,
             progress: bool = True) -> RunResult:
    n = len(x)
    if n == 0:
        raise InputError("input: no samples to simulate")
    starts = list(range(0, n, shard_size))
    done = {}
    if store is not None:
        for start, path in store.done_starts().items():
            if start in starts:
                done[start] = ShardStore.read(path)
    todo = [s for s in starts if s not in done]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n, initial=sum(d.samples for d in done.values()), unit="sample", desc=f"{engine} engine")
    t0 = time.perf_counter()

    def finished(start: int, res: RunResult) -> None:
        if store is not None:
            store.write(start, res)
        done[start] = res
        if bar is not None:
            bar.update(res.samples)

    try:
        if cluster or scheduler:
            from dask.distributed import as_completed
            with dask_client(cluster, scheduler) as client:
                net_f = client.scatter(net, broadcast=True)
                futures = {client.submit(_simulate_shard, net_f, x[s:s + shard_size], s, engine, dtype, shard_size,
                                         key=f"shard-{s}-{id(x)}", retries=3): s for s in todo}
                for fut in as_completed(futures):
                    finished(futures[fut], fut.result())
        else:
            for s in todo:
                finished(s, _simulate_shard(net, x[s:s + shard_size], s, engine, dtype, shard_size))
    finally:
        if bar is not None:
            bar.close()
    merged = merge([done[s] for s in starts])
    merged.wall_time_s = time.perf_counter() - t0
    return merged
