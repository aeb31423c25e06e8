"""Subcommands that run networks (run, energy, raster, validate); registered by cli.build_parser."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.errors import InputError

SMALL_RUN = 100  # samples: logits also go into summary.json up to this many (always in results.h5)


def add_data_options(p, default_samples=None, dtype=True, shards=True, distributed=True, resume=True,
                     samples=True) -> None:
    """The options that choose a network, its input and how to run it; a command takes only those it honours."""
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="model (.h5, .pt, .ckpt, .safetensors); default: the scenario's shipped checkpoint")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--scenario", default=None, help="scenario name (smnist, psmnist, digits); default smnist")
    src.add_argument("--input", default=None, help=".npy array (samples, L, d_input), or (samples, L) int tokens")
    p.add_argument("--labels", default=None, help=".npy int array (samples,) of true classes, with --input")
    if samples:
        p.add_argument("--samples", type=int, default=default_samples,
                       help=f"number of samples (default: {'all' if default_samples is None else default_samples})")
    p.add_argument("--engine", choices=("event", "dense"), default="event")
    if dtype:
        p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    if shards:
        p.add_argument("--batch-size", type=int, default=16,
                       help="samples simulated together" + (", saved together: the most a kill can lose"
                                                             if resume else ""))
    if distributed:
        p.add_argument("--cluster", default=None, help="local:N: shard samples over a Dask LocalCluster of N workers")
        p.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of an existing Dask scheduler")
    if resume:
        p.add_argument("--resume", action="store_true", help="continue the interrupted run stored in --out")
    unused = {"samples": samples, "dtype": dtype, "batch_size": shards, "cluster": distributed,
              "scheduler": distributed, "resume": resume}
    p.set_defaults(**{name: None for name, taken in unused.items() if not taken})


def import_options(checkpoint, args) -> dict:
    """--kind/--disc/--decoder describe paper checkpoints; an .h5 records its own, so giving them is an error."""
    given = {k: getattr(args, k, None) for k in ("kind", "disc", "decoder")}
    given = {k: v for k, v in given.items() if v is not None}
    if given and Path(str(checkpoint)).suffix.lower() in (".h5", ".hdf5"):
        flags = ", ".join(f"--{k} {v}" for k, v in given.items())
        raise InputError(f"{checkpoint}: {flags} only apply to paper checkpoints (.pt/.ckpt/.safetensors); an .h5 "
                         f"records its own (see `info {checkpoint}`): drop the option(s)")
    return given


def load_data(args):
    """(network, x, labels or None, source description) for the data options."""
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
        args.checkpoint = f"untrained-{sc.name}"
        if getattr(args, "disc", None) or getattr(args, "decoder", None):
            raise InputError(f"--disc/--decoder describe a checkpoint; the untrained {sc.name} workload has its own")
        net = sc.network(kind=getattr(args, "kind", None) or "binary_s4d")
    else:
        if args.checkpoint is None:
            if sc.checkpoint_path is None or not sc.checkpoint_path.is_file():
                raise InputError(f"scenario {sc.name!r} has no shipped checkpoint; pass one as the first argument")
            args.checkpoint = str(sc.checkpoint_path)
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
    return net, x, labels, source


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


def run_manifest(args, net, x, labels) -> dict:
    """Everything that decides a run's numbers and files; --resume continues only an identical one."""
    from models.checkpoint import FORMAT_VERSION
    from simulator.fingerprint import array_fingerprint, network_fingerprint
    return {"network": network_fingerprint(net), "input": array_fingerprint(x), "labels": array_fingerprint(labels),
            "samples": int(len(x)), "engine": args.engine, "dtype": args.dtype, "shard_size": args.batch_size,
            "spikes": not getattr(args, "no_spikes", False), "format": FORMAT_VERSION}


def simulate(args, net, x, manifest=None, folder=None):
    """Run the engines as the options say: sharded, resumable into the run folder, on Dask if asked.
    Spike events are never accumulated: with a folder they stream to its shard files."""
    from simulator.results_store import ShardStore
    from simulator.runner import evaluate

    spikes = not getattr(args, "no_spikes", False)
    store = None if folder is None else ShardStore(folder.path, manifest, resume=bool(args.resume), spikes=spikes)
    result = evaluate(net, x, engine=args.engine, dtype=args.dtype, shard_size=args.batch_size, store=store,
                      cluster=args.cluster, scheduler=args.scheduler, keep_spikes=False,
                      store_spikes=not getattr(args, "no_spikes", False))
    return result, store


def cmd_run(args) -> int:
    check_options(args)
    if not args.out:
        return _run(args, None)
    from simulator.run_folder import RunFolder
    with RunFolder(args.out, force=args.force, resume=args.resume) as folder:
        return _run(args, folder)


def _run(args, folder) -> int:
    from simulator.counting import counts_report
    from simulator.report import console_summary
    from simulator.runner import drop_input_pages

    net, x, labels, source = load_data(args)
    manifest = run_manifest(args, net, x, labels)
    drop_input_pages(x)  # hashing read every page
    if folder is not None and args.resume:
        stored = folder.finished_summary()
        if stored is not None:
            return _report_finished(folder, stored, manifest)
    result, store = simulate(args, net, x, manifest, folder)
    summary = run_summary(net, result, labels, args, source)
    print(console_summary(summary))
    if folder is not None:
        from simulator.run_outputs import write_run_outputs
        summary["results_file"] = "results.h5"
        summary["run_manifest"] = manifest
        if result.samples <= SMALL_RUN:
            summary["logits"] = result.logits.tolist()
        written = write_run_outputs(folder, store, result, labels, summary, counts_report(net, result),
                                    spikes=not args.no_spikes)
        print(f"wrote {', '.join(str(folder.path / w) for w in written)}")
    return 0


def _report_finished(folder, stored: dict, manifest: dict) -> int:
    """--resume on a finished run: the stored result, if it is the run asked for."""
    from simulator.report import console_summary
    old = stored.get("run_manifest")
    if old != manifest:
        diff = sorted(k for k in manifest if not isinstance(old, dict) or old.get(k) != manifest[k])
        raise InputError(f"--resume {folder.path}: the finished run stored there computed something else (differs "
                         f"in: {', '.join(diff)}); pass --force to replace it, or choose another --out")
    folder.drop_partial()  # left behind by a kill between summary.json and its removal
    print(console_summary(stored))
    print(f"already finished: {folder.path} holds the complete results; nothing was computed")
    return 0


def cmd_energy(args) -> int:
    from energy.report import write_reports
    from simulator.counting import counts_report
    from simulator.output_files import check_writable_dir, write_json_atomic
    from simulator.report import console_summary

    check_options(args)
    chips = [c.strip() for c in args.chips.split(",") if c.strip()] if args.chips else None
    _check_chips(chips)
    out = check_writable_dir(args.out)
    net, x, labels, source = load_data(args)
    result, _ = simulate(_no_store(args), net, x)
    print(console_summary(run_summary(net, result, labels, args, source)))
    counts = counts_report(net, result)
    write_json_atomic(out / "counts.json", counts)
    title = f"{Path(args.checkpoint).name} on {source}, {result.samples} samples"
    data = write_reports(counts, chips, out, title=title)
    print(energy_table(data))
    print(f"wrote {out}/energy.json, energy.md, energy.html, counts.json and figures")
    return 0


def _check_chips(chips) -> None:
    """Every chip named must load before minutes of simulation are spent."""
    from energy.catalogue import load_chip
    for c in chips or ():
        load_chip(c)


def _no_store(args):
    """The energy command keeps its own outputs; the simulation itself is not made resumable."""
    import copy
    a = copy.copy(args)
    a.out, a.resume = None, False
    return a


def energy_table(data: dict) -> str:
    from energy.report import fmt_energy
    rows = [f"  {'chip':<14}{'per inference':>16}{'per step':>14}"]
    chips = data["chips"].items() if isinstance(data["chips"], dict) else ((c["chip"], c) for c in data["chips"])
    for name, chip in chips:
        rows.append(f"  {name:<14}{fmt_energy(chip['energy_pj']):>16}{fmt_energy(chip['energy_per_timestep_pj']):>14}")
    return "energy estimate (per inference):\n" + "\n".join(rows)


def cmd_validate(args) -> int:
    from simulator.engine import run
    from simulator.validate import validate_main

    check_options(args)
    if args.out:
        from simulator.output_files import check_writable_dir
        check_writable_dir(args.out)
    net, x, labels, source = load_data(args)
    print(f"{args.checkpoint}: {len(x)} samples from {source}; our {args.engine} engine vs Brian2 ({args.target})")
    report = validate_main(net, x, labels, lambda n, xs: run(n, xs, engine=args.engine, record_pre=True,
                                                             batch_size=args.batch_size),
                           args.out, target=args.target, engine_name=f"{args.engine} engine")
    print(report.format())
    if args.out:
        print(f"wrote {args.out}/validation.json, validation.txt")
    return 0 if report.passed else 1


def run_summary(net, result, labels, args, source) -> dict:
    from simulator.counting import totals
    from simulator.neurobench import neurobench_metrics
    preds = result.predictions
    s = {
        "checkpoint": str(args.checkpoint), "input": source, "engine": args.engine, "dtype": args.dtype,
        "samples": result.samples, "timesteps": result.timesteps,
        "network": {"kind": net.kind, "n_layers": net.n_layers, "H": net.H, "N": net.N,
                    "directions": net.directions, "classes": net.classes},
        "predictions": preds.tolist(),
        "firing_rates": result.firing_rates() if net.spiking else None,  # e.g. the S4D baseline has no spikes
        "op_counts": totals(result.counts),
        "neurobench": neurobench_metrics(net, result, labels),
        "wall_time_s": round(result.wall_time_s, 4),
    }
    if labels is not None:
        s["labels"] = labels.tolist()
        s["accuracy"] = float(np.mean(preds == labels))
    return s


def register(sub, add_import_options) -> None:
    p = sub.add_parser("run", help="simulate a checkpoint spike by spike (default: shipped sMNIST Binary S4D)")
    add_data_options(p)
    p.add_argument("--out", default=None, help="directory for summary.json, results.h5, spikes.h5, counts.json")
    p.add_argument("--no-spikes", action="store_true", help="do not write spikes.h5 (it grows with every spike)")
    p.add_argument("--force", action="store_true",
                   help="replace the results stored in a non-empty --out (otherwise refused)")
    add_import_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("energy", help="simulate, then estimate energy on modelled chips and write reports")
    add_data_options(p, default_samples=32, resume=False)
    p.add_argument("--chips", default=None,
                   help="comma-separated chip names or chip .toml paths (default: the whole catalogue: "
                        "loihi,loihi2,truenorth,spinnaker,spinnaker2,cmos45-fp32,cmos45-int8,cpu,gpu)")
    p.add_argument("--out", default="energy-report", help="directory for energy.json/.md/.html and figures")
    add_import_options(p)
    p.set_defaults(func=cmd_energy)

    from simulator.raster import register_raster
    register_raster(sub, add_data_options, add_import_options)

    p = sub.add_parser("validate", help="run our engine and Brian2 on the same inputs and compare spike by spike")
    # Brian2 runs float64 on one process: validation compares float64 runs, unsharded.
    add_data_options(p, default_samples=10, dtype=False, distributed=False, resume=False)
    p.add_argument("--target", choices=("cython", "numpy"), default="cython", help="Brian2 code generation target")
    p.add_argument("--out", default=None, help="directory for validation.json and validation.txt")
    add_import_options(p)
    p.set_defaults(func=cmd_validate)
