"""`validate`: run our engine and Brian2 on the same inputs and compare them spike by spike."""
from __future__ import annotations

from simulator.cli.data import check_options, load_data
from simulator.cli.options import add_data_options, add_import_options


def cmd_validate(args) -> int:
    from simulator.engine import run
    from simulator.validate import validate_main

    check_options(args)
    if args.out:
        from simulator.output_files import check_writable_dir
        check_writable_dir(args.out)
    net, x, labels, source, args = load_data(args)
    print(f"{args.checkpoint}: {len(x)} samples from {source}; our {args.engine} engine vs Brian2 ({args.target})")
    report = validate_main(net, x, labels, lambda n, xs: run(n, xs, engine=args.engine, record_pre=True,
                                                             batch_size=args.batch_size),
                           args.out, target=args.target, engine_name=f"{args.engine} engine")
    print(report.format())
    if args.out:
        print(f"wrote {args.out}/validation.json, validation.txt")
    return 0 if report.passed else 1


def register(sub) -> None:
    p = sub.add_parser("validate", help="run our engine and Brian2 on the same inputs and compare spike by spike")
    # Brian2 runs float64 on one process: validation compares float64 runs, unsharded.
    add_data_options(p, default_samples=10, dtype=False, distributed=False, resume=False)
    p.add_argument("--target", choices=("cython", "numpy"), default="cython", help="Brian2 code generation target")
    p.add_argument("--out", default=None, help="directory for validation.json and validation.txt")
    add_import_options(p)
    p.set_defaults(func=cmd_validate)
