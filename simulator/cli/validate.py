"""`validate`: run our engine and Brian2 on the same inputs and compare them spike by spike.

With a fixed-point --precision, Brian2 (float64) has no counterpart: validation then checks what fixed point
promises instead: the event and dense engines agree bit for bit (logits, spikes, counts), and it reports how
the fixed-point run agrees with float64 (docs/precision.md)."""
from __future__ import annotations

from models.errors import InputError
from simulator.cli.data import check_options, load_data
from simulator.cli.options import add_data_options, add_import_options
from simulator.cli.precision import add_precision_options, check_precision_options, precision_name, resolve_precision


def cmd_validate(args) -> int:
    from simulator.engine import run
    from simulator.validate import validate_main

    check_options(args)
    check_precision_options(args)
    if precision_name(args) == "float32":
        raise InputError("validate --precision float32: Brian2 runs float64, and float32 has no bit-exact "
                         "counterpart to compare with; use float64 or a fixed-point precision")
    if args.out:
        from simulator.output_files import check_writable_dir
        check_writable_dir(args.out)
    net, x, labels, source, args = load_data(args)
    args, fp = resolve_precision(args, net)
    if fp is not None:
        return _validate_fixed(net, x, labels, fp, args, source)
    print(f"{args.checkpoint}: {len(x)} samples from {source}; our {args.engine} engine vs Brian2 ({args.target})")
    report = validate_main(net, x, labels, lambda n, xs: run(n, xs, engine=args.engine, record_pre=True,
                                                             batch_size=args.batch_size),
                           args.out, target=args.target, engine_name=f"{args.engine} engine")
    print(report.format())
    if args.out:
        print(f"wrote {args.out}/validation.json, validation.txt")
    return 0 if report.passed else 1


def _validate_fixed(net, x, labels, fp, args, source) -> int:
    import json
    from pathlib import Path

    from simulator.fixed_check import engines_agree
    from simulator.precision_report import precision_section
    from simulator.report import precision_lines
    print(f"{args.checkpoint}: {len(x)} samples from {source}; {fp.name} fixed point: event vs dense engine, "
          "bit for bit (Brian2 runs float64 only), and against float64")
    mismatches = engines_agree(net, x, fp, batch_size=args.batch_size)
    section = precision_section(net, x, labels, fp, batch_size=args.batch_size)
    lines = ["event = dense engine, bit for bit: " + ("yes (logits, spikes, counts)" if not mismatches
                                                      else "NO: " + "; ".join(mismatches))]
    lines += precision_lines(section)
    print("\n".join(lines))
    if args.out:
        out = Path(args.out)
        (out / "validation.json").write_text(json.dumps({"precision": fp.name, "event_equals_dense": not mismatches,
                                                         "mismatches": mismatches, "against_float64": section},
                                                        indent=1))
        (out / "validation.txt").write_text("\n".join(lines) + "\n")
        print(f"wrote {args.out}/validation.json, validation.txt")
    return 0 if not mismatches else 1


def register(sub) -> None:
    p = sub.add_parser("validate", help="run our engine and Brian2 on the same inputs and compare spike by spike")
    # Brian2 runs float64 on one process: validation compares float64 runs, unsharded.
    add_data_options(p, default_samples=10, dtype=False, distributed=False, resume=False)
    add_precision_options(p, dtype_alias=False)
    p.add_argument("--target", choices=("cython", "numpy"), default="cython", help="Brian2 code generation target")
    p.add_argument("--out", default=None, help="directory for validation.json and validation.txt")
    add_import_options(p)
    p.set_defaults(func=cmd_validate)
