"""Evaluation of many samples: sharded, optionally on Dask, optionally resumable (results_store).

Samples are independent and every kernel treats each sample on its own, so a shard's numbers do not depend
on which other samples it ran with: a sharded or distributed run equals a single-process run exactly.

Memory stays flat in the number of samples: a shard's spike events go to its shard file (with --out) and
are then dropped; only the per-sample logits and counts (a few hundred bytes a sample) are kept, unless the
caller asks for the events (keep_spikes=True, for small in-memory use).
"""
from __future__ import annotations

import mmap
import sys
import time
from contextlib import contextmanager

import numpy as np

from models.errors import InputError
from models.spec import Network
from simulator.engine import run
from simulator.recording import RunResult, SpikeEvents
from simulator.results_store import ShardError, ShardStore
from simulator.scheduler import connect_error, probe_scheduler

CONNECT_TIMEOUT = "5s"  # a scheduler that does not answer within this is reported, not waited for


def _simulate_shard(net: Network, x: np.ndarray, start: int, engine: str, dtype: str, batch_size: int) -> RunResult:
    """The unit of work (also what Dask workers run)."""
    return run(net, x, engine=engine, dtype=dtype, batch_size=batch_size, sample_offset=start)


@contextmanager
def dask_client(cluster: str | None, scheduler: str | None):
    """`local:N` starts a LocalCluster of N single-threaded worker processes; a tcp:// address joins one."""
    from dask.distributed import Client, LocalCluster
    if scheduler:
        probe_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except Exception as e:  # noqa: BLE001  (Dask raises OSError, TimeoutError or its own comm errors)
            raise connect_error(scheduler, e) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = parse_cluster(cluster)
    # One numba thread per worker process: the workers are the parallelism.
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}) as lc, Client(lc) as client:
        yield client


def parse_cluster(cluster: str | None) -> int:
    try:
        n = int(cluster.split(":", 1)[1]) if cluster and cluster.startswith("local:") else None
    except ValueError:
        n = None
    if not n or n < 1:
        raise InputError(f"--cluster: expected local:N with N >= 1 workers, found {cluster!r}")
    return n


def drop_input_pages(x) -> None:
    """A memory-mapped input (run --input) counts in resident memory page by page as shards read it; the pages
    read are dropped again (the kernel keeps them in its cache), so a larger input does not mean more memory."""
    mm = getattr(x, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mm.madvise(mmap.MADV_DONTNEED)


class _Collected:
    """Per-shard results as they arrive (in any order), assembled in sample order at the end. Without spikes a
    shard keeps its logits and one (groups, fields, samples) array of counts: a few hundred bytes a sample."""

    def __init__(self, keep_spikes: bool):
        self.keep_spikes = keep_spikes
        self.parts: dict[int, RunResult] = {}
        self.layout: tuple[list[str], list[str]] | None = None

    def add(self, start: int, res: RunResult) -> None:
        if not self.keep_spikes:
            res.spikes = None  # written to the shard file already, or not wanted: never accumulated
        res.pre, res.traces = None, {}
        groups = list(res.counts)
        fields = list(res.counts[groups[0]])
        self.layout = self.layout or (groups, fields)
        res.counts = np.array([[res.counts[g][k] for k in fields] for g in groups], np.int64)
        self.parts[start] = res

    def merged(self, starts: list[int]) -> RunResult:
        parts = [self.parts[s] for s in starts]
        first = parts[0]
        spikes = None
        if self.keep_spikes:
            spikes = [SpikeEvents.concat([p.spikes[i] for p in parts]) for i in range(len(first.spikes))]
        groups, fields = self.layout
        table = np.concatenate([p.counts for p in parts], axis=2)
        return RunResult(
            logits=np.concatenate([p.logits for p in parts]), spikes=spikes,
            counts={g: {k: table[i, j] for j, k in enumerate(fields)} for i, g in enumerate(groups)},
            timesteps=first.timesteps, channels=first.channels)


def evaluate(net: Network, x: np.ndarray, *, engine: str = "event", dtype: str = "float64", shard_size: int = 16,
             store: ShardStore | None = None, cluster: str | None = None, scheduler: str | None = None,
             progress: bool = True, keep_spikes: bool = True, store_spikes: bool = True) -> RunResult:
    """All samples of x, shard by shard. keep_spikes=False returns a result without spike events (spikes=None),
    holding memory flat; store_spikes=False writes shards without them (run --no-spikes)."""
    n = len(x)
    if n == 0:
        raise InputError("input: no samples to simulate")
    if shard_size < 1:
        raise InputError(f"--batch-size: expected a positive number of samples, found {shard_size}")
    starts = list(range(0, n, shard_size))
    expected = {s: min(shard_size, n - s) for s in starts}
    got = _Collected(keep_spikes)
    if store is not None:
        kept = store.trusted(expected)
        if kept and keep_spikes:
            raise InputError("keep_spikes=True cannot return the spikes of resumed shards: they are merged into "
                             "the run folder; read its spikes.h5")
        for start, path in kept.items():
            try:
                got.add(start, ShardStore.read(path, expected[start], spikes=keep_spikes))
            except ShardError as e:
                print(f"warning: {path}: not trusted ({e}); its samples will be computed again", file=sys.stderr)
                path.unlink(missing_ok=True)
        if got.parts:
            print(f"resume: {len(got.parts)} of {len(starts)} shards verified and kept; computing "
                  f"{len(starts) - len(got.parts)}", file=sys.stderr, flush=True)
    todo = [s for s in starts if s not in got.parts]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n, initial=sum(expected[s] for s in got.parts), unit="sample", desc=f"{engine} engine")
    t0 = time.perf_counter()

    def finished(start: int, res: RunResult) -> None:
        if store is not None:
            store.write(start, res, spikes=store_spikes)
        got.add(start, res)
        drop_input_pages(x)
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
                    finished(futures.pop(fut), fut.result())
                    fut.release()  # the worker may forget the shard: it is on disk or summarised here
        else:
            for s in todo:
                finished(s, _simulate_shard(net, x[s:s + shard_size], s, engine, dtype, shard_size))
    finally:
        if bar is not None:
            bar.close()
        if store is not None:
            store.close()
    merged = got.merged(starts)
    merged.wall_time_s = time.perf_counter() - t0
    return merged
