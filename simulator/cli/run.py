"""`run`: simulate a checkpoint, sharded, resumable into an output folder, on Dask if asked."""
from __future__ import annotations

import numpy as np

from models.errors import InputError
from simulator.cli.data import check_options, load_data
from simulator.cli.options import add_data_options, add_import_options
from simulator.cli.precision import check_precision_options, resolve_precision

SMALL_RUN = 100  # samples: logits also go into summary.json up to this many (always in results.h5)


def run_manifest(args, net, x, labels) -> dict:
    """Everything that decides a run's numbers and files; --resume continues only an identical one."""
    from models.checkpoint import FORMAT_VERSION
    from simulator.cli.precision import dtype_name
    from simulator.fingerprint import array_fingerprint, network_fingerprint
    manifest = {"network": network_fingerprint(net), "input": array_fingerprint(x),
                "labels": array_fingerprint(labels), "samples": int(len(x)), "engine": args.engine,
                "dtype": dtype_name(args.dtype), "shard_size": args.batch_size,
                "spikes": not getattr(args, "no_spikes", False), "format": FORMAT_VERSION}
    if not isinstance(args.dtype, str):   # fixed point: the calibrated scales decide the numbers too
        manifest["precision_ranges"] = [[k, float(v)] for k, v in args.dtype.ranges]
    return manifest


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
    check_precision_options(args)
    if not args.out:
        return _run(args, None)
    from simulator.run_folder import RunFolder
    with RunFolder(args.out, force=args.force, resume=args.resume) as folder:
        return _run(args, folder)


def _run(args, folder) -> int:
    from simulator.counting import counts_report
    from simulator.report import console_summary
    from simulator.runner import drop_input_pages

    net, x, labels, source, args = load_data(args)
    args, fp = resolve_precision(args, net)
    manifest = run_manifest(args, net, x, labels)
    drop_input_pages(x)  # hashing read every page
    if folder is not None and args.resume:
        stored = folder.finished_summary()
        if stored is not None:
            return _report_finished(folder, stored, manifest)
    result, store = simulate(args, net, x, manifest, folder)
    summary = run_summary(net, result, labels, args, source)
    if fp is not None:
        summary["precision"] = precision_of_run(net, x, labels, fp, args)
    print(console_summary(summary))
    if folder is not None:
        from simulator.run_outputs import write_run_outputs
        summary["results_file"] = "results.h5"
        summary["run_manifest"] = manifest
        if result.samples <= SMALL_RUN:
            summary["logits"] = result.logits.tolist()
        written = write_run_outputs(folder, store, result, labels, summary, counts_report(net, result, precision=fp),
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


def run_summary(net, result, labels, args, source) -> dict:
    from simulator.cli.precision import dtype_name
    from simulator.counting import totals
    from simulator.neurobench import neurobench_metrics
    preds = result.predictions
    s = {
        "checkpoint": str(args.checkpoint), "input": source, "engine": args.engine, "dtype": dtype_name(args.dtype),
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


def precision_of_run(net, x, labels, fp, args) -> dict:
    """The summary's precision section: this fixed-point run against float64 on the same inputs."""
    from simulator.precision_report import precision_section
    print(f"comparing {fp.name} with float64 on {len(x)} samples (spikes, predictions) ...", flush=True)
    return precision_section(net, x, labels, fp, engine=args.engine, batch_size=args.batch_size or 16)


def register(sub) -> None:
    p = sub.add_parser("run", help="simulate a checkpoint spike by spike (default: shipped sMNIST Binary S4D)")
    add_data_options(p)
    p.add_argument("--out", default=None, help="directory for summary.json, results.h5, spikes.h5, counts.json")
    p.add_argument("--no-spikes", action="store_true", help="do not write spikes.h5 (it grows with every spike)")
    p.add_argument("--force", action="store_true",
                   help="replace the results stored in a non-empty --out (otherwise refused)")
    add_import_options(p)
    p.set_defaults(func=cmd_run)
