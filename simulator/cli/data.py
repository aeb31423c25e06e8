"""The network and input a command runs on, from its options; option checks shared by the commands."""
from __future__ import annotations

import numpy as np

from models import presets
from models.errors import InputError
from simulator.cli.options import import_options


def load_data(args):
    """(network, x, labels or None, source description, options with the checkpoint that was used)."""
    from models.loading import load_network
    import scenarios

    if args.input is not None and args.checkpoint is None:
        raise InputError("--input needs a checkpoint argument (which network should run on it?)")
    if args.input is not None:
        x = _load_npy(args.input, "input")
        labels = _load_npy(args.labels, "labels") if args.labels else None
        source = args.input
    else:
        if args.labels:
            raise InputError("--labels goes with --input; scenarios bring their own labels")
        sc = scenarios.get(args.scenario or "smnist")
        n = None if args.samples is None else max(0, args.samples)
        x, labels = sc.load("test", n=n)
        source = f"scenario {sc.name} (held-out split)"
        if getattr(sc, "untrained", False):
            source = f"UNTRAINED workload {sc.name} ({sc.inputs})"
            if labels is not None and np.all(labels < 0):
                labels = None
    sc = None if args.input is not None else scenarios.get(args.scenario or "smnist")
    if args.checkpoint is None and getattr(sc, "untrained", False):
        args = args.replace(checkpoint=f"untrained-{sc.name}")
        if getattr(args, "disc", None) or getattr(args, "decoder", None):
            raise InputError(f"--disc/--decoder describe a checkpoint; the untrained {sc.name} workload has its own")
        kind = getattr(args, "kind", None) or "binary_s4d"
        if kind not in presets.PRESETS:
            raise InputError(f"--kind {kind}: the untrained {sc.name} workload is built in the paper's kinds "
                             f"({', '.join(presets.PRESETS)}); run a trained {kind} checkpoint instead")
        net = sc.network(kind=kind)
    else:
        if args.checkpoint is None:
            if sc.checkpoint_path is None or not sc.checkpoint_path.is_file():
                raise InputError(f"scenario {sc.name!r} has no shipped checkpoint; pass one as the first argument")
            args = args.replace(checkpoint=str(sc.checkpoint_path))
        net = load_network(args.checkpoint, **import_options(args.checkpoint, args))
    if args.samples is not None:
        if args.samples <= 0:
            raise InputError(f"--samples must be positive, found {args.samples}")
        x = x[: args.samples]
        labels = None if labels is None else labels[: args.samples]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != len(x) or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(f"labels: expected {len(x)} integers (one per sample), found {labels.dtype} {labels.shape}")
    from simulator.input_warnings import warn_unusual
    from simulator.runner import drop_input_pages
    warn_unusual(x, labels, net, args.input or source, args.labels or "labels")
    drop_input_pages(x)
    return net, x, labels, source, args


def _load_npy(path, what):
    from models.safe_npy import load_npy  # header (shape, dtype, size) checked before any data is read
    # Memory-mapped: shards read their samples from the file, so a large input is never copied whole.
    return load_npy(path, what, mmap=True)


def check_options(args) -> None:
    """Options that are wrong whatever the data: refused before any folder is made or anything computed."""
    from simulator.runner import parse_cluster
    from simulator.scheduler import parse_address, probe_scheduler
    if getattr(args, "batch_size", None) is not None and args.batch_size < 1:
        raise InputError(f"--batch-size: expected a positive number of samples, found {args.batch_size}")
    if getattr(args, "samples", None) is not None and args.samples <= 0:
        raise InputError(f"--samples must be positive, found {args.samples}")
    if getattr(args, "cluster", None) and getattr(args, "scheduler", None):
        raise InputError("--cluster and --scheduler: expected one of them (start a local cluster, or join a "
                         "running scheduler), found both")
    if getattr(args, "cluster", None) is not None:
        parse_cluster(args.cluster)
    if getattr(args, "scheduler", None) is not None:
        parse_address(args.scheduler)
        probe_scheduler(args.scheduler)
    if getattr(args, "resume", False) and not getattr(args, "out", None):
        raise InputError("--resume needs --out DIR (the folder of the interrupted run)")
    if getattr(args, "resume", False) and getattr(args, "force", False):
        raise InputError("--resume and --force: expected one (continue the stored run, or replace it), found both")
